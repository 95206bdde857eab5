"""End-to-end figures: DAG parse time, and `make demo`'s wall time split by task.

Run: .venv/bin/python -m bench.pipeline_bench [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.airflow_home import DAG_ID, ROOT, airflow_env, dags_test, migrate
from tools.demo import task_durations
from tools.emulator_process import BUCKET, EmulatorProcess

PARSE = (
    "import importlib.util, time\n"
    "t = time.perf_counter()\n"
    "spec = importlib.util.spec_from_file_location('d', {path!r})\n"
    "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
    "print(time.perf_counter() - t)\n"
)


def parse_seconds(repeats: int = 5) -> tuple[float, float]:
    """Median seconds to import the DAG file in a fresh interpreter, and to import Airflow's SDK alone."""
    env = {"PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}", "PATH": "/usr/bin:/bin"}

    def run(code: str) -> float:
        with tempfile.TemporaryDirectory() as home:
            out = subprocess.run([sys.executable, "-c", code], env={**env, "AIRFLOW_HOME": home},
                                 capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])

    dag = [run(PARSE.format(path=str(ROOT / "dags" / f"{DAG_ID}.py"))) for _ in range(repeats)]
    sdk = [run("import time; t = time.perf_counter()\n"
               "import airflow.sdk, airflow.providers.amazon.aws.operators.sagemaker\n"
               "print(time.perf_counter() - t)") for _ in range(repeats)]
    return statistics.median(dag), statistics.median(sdk)


def demo_run(conf: dict) -> tuple[float, dict[str, float], str | None]:
    with tempfile.TemporaryDirectory(prefix="bankml-bench-") as tmp:
        home = Path(tmp)
        started = time.monotonic()
        with EmulatorProcess.start(home / "emulator.log") as emulator:
            migrate(home)
            result = dags_test(home, airflow_env(home, emulator.url, BANKML_TASK_RETRIES="0",
                                                 BANKML_BUCKET=BUCKET), conf)
        return time.monotonic() - started, task_durations(home), result.run_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    dag_parse, sdk_import = parse_seconds()
    print(f"DAG file import (fresh interpreter, median of 5): {dag_parse:.2f} s, of which Airflow SDK + "
          f"SageMaker operators {sdk_import:.2f} s; bankml's own share {dag_parse - sdk_import:.2f} s")
    for conf in ({"feature_set": "tutorial"}, {}):
        for _ in range(args.runs):
            wall, tasks, state = demo_run(conf)
            print(f"demo {json.dumps(conf)}: {wall:.1f} s wall ({state}); per task (s): "
                  + ", ".join(f"{t} {s}" for t, s in tasks.items()))


if __name__ == "__main__":
    main()
