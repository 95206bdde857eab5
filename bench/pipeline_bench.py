"""End-to-end figures: DAG parse time, and `make demo` against Airflow's own floor.

The floor is what any `airflow dags test` of an 11-task DAG costs here: a fresh AIRFLOW_HOME,
`airflow db migrate`, then `airflow dags test` of 11 no-op tasks in a chain. The demo is
`python -m tools.demo` as `make demo` runs it (emulator start, the same migration, the real
DAG, the report). Runs alternate (floor, demo, floor, demo, ...) so load on this shared
machine hits both alike; the medians and their ratio are printed.

Run: .venv/bin/python -m bench.pipeline_bench [--runs N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.airflow_home import ROOT, airflow_env, dags_test, migrate

PARSE = (
    "import importlib.util, time\n"
    "t = time.perf_counter()\n"
    "spec = importlib.util.spec_from_file_location('d', {path!r})\n"
    "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
    "print(time.perf_counter() - t)\n"
)
FLOOR_DAG = """
from datetime import datetime, timezone
from airflow.sdk import DAG, task

with DAG(dag_id="floor", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), catchup=False):
    previous = None
    for number in range(11):
        current = task(task_id=f"noop_{number}")(lambda: None)()
        if previous is not None:
            previous >> current
        previous = current
"""
TASK_TIMES = re.compile(r"^Task times \(s\): (.*)$", re.MULTILINE)


def parse_seconds(repeats: int = 5) -> tuple[float, float]:
    """Median seconds to import the DAG file in a fresh interpreter, and to import Airflow's SDK alone."""
    env = {"PATH": "/usr/bin:/bin"}

    def run(code: str) -> float:
        with tempfile.TemporaryDirectory() as home:
            out = subprocess.run(
                [sys.executable, "-c", code],
                env={**env, "AIRFLOW_HOME": home},
                capture_output=True,
                text=True,
                check=True,
            )
        return float(out.stdout.strip().splitlines()[-1])

    dag = [run(PARSE.format(path=str(ROOT / "dags" / "bank_marketing_xgboost.py"))) for _ in range(repeats)]
    sdk = [
        run(
            "import time; t = time.perf_counter()\n"
            "import airflow.sdk, airflow.providers.amazon.aws.operators.sagemaker\n"
            "print(time.perf_counter() - t)"
        )
        for _ in range(repeats)
    ]
    return statistics.median(dag), statistics.median(sdk)


def floor_run() -> float:
    """Wall seconds of a fresh home's migration plus `dags test` of the 11 no-op tasks."""
    with tempfile.TemporaryDirectory(prefix="bankml-floor-") as tmp:
        home = Path(tmp)
        (home / "dags").mkdir()
        (home / "dags" / "floor.py").write_text(FLOOR_DAG)
        started = time.monotonic()
        migrate(home)
        env = airflow_env(home, None, AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"))
        result = dags_test(home, env, dag_id="floor")
        if result.run_state != "success":
            raise RuntimeError(f"the floor DAG did not succeed:\n{result.output[-3000:]}")
        return time.monotonic() - started


def demo_run(conf: str) -> tuple[float, str]:
    """Wall seconds of `python -m tools.demo`, and its task-time line."""
    with tempfile.TemporaryDirectory(prefix="bankml-bench-demo-") as out:
        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-m", "tools.demo", "--conf", conf, "--port", "0", "--output", out],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"the demo failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    found = TASK_TIMES.search(completed.stdout)
    return wall, found.group(1) if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--conf", default="{}")
    args = parser.parse_args()
    dag_parse, sdk_import = parse_seconds()
    print(
        f"DAG file import (fresh interpreter, median of 5): {dag_parse:.2f} s, of which Airflow SDK + "
        f"SageMaker operators {sdk_import:.2f} s; bankml's own share {dag_parse - sdk_import:.2f} s",
        flush=True,
    )
    floors, demos = [], []
    for number in range(1, args.runs + 1):
        floors.append(floor_run())
        wall, tasks = demo_run(args.conf)
        demos.append(wall)
        print(f"run {number}: floor {floors[-1]:.1f} s, demo {wall:.1f} s; demo per task (s): {tasks}", flush=True)
    floor, demo = statistics.median(floors), statistics.median(demos)
    print(
        f"make demo {args.conf}: median {demo:.1f} s (min {min(demos):.1f}, max {max(demos):.1f}); Airflow floor "
        f"(fresh home, db migrate, dags test of 11 no-op tasks): median {floor:.1f} s (min {min(floors):.1f}, "
        f"max {max(floors):.1f}); demo/floor = {demo / floor:.2f} over {args.runs} alternated runs"
    )


if __name__ == "__main__":
    main()
