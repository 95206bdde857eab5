"""`make demo`: run the DAG once against the emulator and show what it produced.

Starts the emulator (or uses the one at AWS_ENDPOINT_URL when it answers), runs
`airflow dags test` in a throwaway AIRFLOW_HOME, prints the evaluation report and the
per-task times, copies metrics.json and the plots to ./demo-output/, checks that no
endpoint, endpoint config or model of the run is left, and stops what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from tools.airflow_home import DAG_ID, ROOT, airflow_env, dags_test, migrate

sys.path.insert(0, str(ROOT / "plugins"))  # the pipeline's library, as Airflow's plugins folder has it
from tools.emulator_process import BUCKET, EmulatorProcess, free_port, is_healthy, port_is_free


def task_durations(home: Path) -> dict[str, float]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, (julianday(end_date) - julianday(start_date)) * 86400 FROM task_instance "
            "WHERE dag_id=? ORDER BY start_date", (DAG_ID,)).fetchall()
    return {task: round(seconds or 0.0, 1) for task, seconds in rows}


def run_plan(home: Path) -> dict:
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute("SELECT value FROM xcom WHERE dag_id=? AND task_id='plan' AND key='return_value'",
                         (DAG_ID,)).fetchone()
    if row is None:
        raise RuntimeError("the run has no plan: it failed before anything was created")
    value = json.loads(row[0])
    return json.loads(value) if isinstance(value, str) else value


def leftovers(endpoint_url: str, base_name: str) -> dict[str, list[str]]:
    import boto3

    from bankml.teardown import run_resources

    sm = boto3.client("sagemaker", endpoint_url=endpoint_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    return {kind: names for kind, names in run_resources(sm, base_name).items() if names}


def copy_outputs(endpoint_url: str, plan: dict, out_dir: Path) -> list[Path]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    prefix = f"{plan['prefix']}/{plan['run_key']}/evaluation/"
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for item in s3.list_objects_v2(Bucket=plan["bucket"], Prefix=prefix).get("Contents", []):
        target = out_dir / item["Key"].removeprefix(prefix)
        target.write_bytes(s3.get_object(Bucket=plan["bucket"], Key=item["Key"])["Body"].read())
        copied.append(target)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conf", default="{}", help="run conf (JSON), e.g. '{\"feature_set\": \"tutorial\"}'")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--output", type=Path, default=ROOT / "demo-output")
    args = parser.parse_args(argv)
    try:
        conf = json.loads(args.conf)
    except json.JSONDecodeError as err:
        print(f"CONF is not JSON: {err}", file=sys.stderr)
        return 2

    started = time.monotonic()
    existing = os.environ.get("AWS_ENDPOINT_URL")
    with tempfile.TemporaryDirectory(prefix="bankml-demo-") as tmp:
        home = Path(tmp)
        emulator = None
        if existing and is_healthy(existing):
            endpoint_url = existing
            print(f"Using the emulator at {endpoint_url}")
        else:
            port = args.port if port_is_free(args.port) else free_port()
            if port != args.port:
                print(f"Port {args.port} is taken (make up?): starting the demo's emulator on {port}")
            emulator = EmulatorProcess.start(home / "emulator.log", port=port)
            endpoint_url = emulator.url
            print(f"Started the SageMaker emulator at {endpoint_url}")
        try:
            migrate(home)
            env = airflow_env(home, endpoint_url, BANKML_TASK_RETRIES="0", BANKML_BUCKET=BUCKET)
            print(f"Running {DAG_ID} with conf {json.dumps(conf)} (airflow dags test, AIRFLOW_HOME={home})")
            result = dags_test(home, env, conf)
            durations = task_durations(home)
            plan = run_plan(home)
            copied = copy_outputs(endpoint_url, plan, args.output)
            left = leftovers(endpoint_url, f"bankml-{plan['run_key']}")
        except Exception as err:
            print(f"demo failed: {err}", file=sys.stderr)
            if emulator is not None:
                print((home / "emulator.log").read_text()[-2000:], file=sys.stderr)
            return 1
        finally:
            if emulator is not None:
                emulator.stop()

    metrics_file = args.output / "metrics.json"
    if metrics_file.exists():
        from bankml.evaluation.report import confusion_report

        document = json.loads(metrics_file.read_text())
        print(f"\nEvaluation of {document['endpoint']} ({document['feature_set']} features, "
              f"xgboost {document['xgboost_version']}):\n")
        print(confusion_report(document["metrics"]))
        if "cost" in document:
            print(f"\nEndpoint lifetime {document['cost']['endpoint_lifetime_seconds']:.1f} s, "
                  f"evaluation {document['evaluation_seconds']:.1f} s")
    print("\nTask times (s): " + ", ".join(f"{t} {s}" for t, s in durations.items()))
    print(f"Outputs: {', '.join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in copied)}")
    print(f"Demo wall time: {time.monotonic() - started:.1f} s; run state: {result.run_state}")
    if left:
        print(f"LEFT RUNNING (would bill on AWS): {left}", file=sys.stderr)
        return 1
    print("Nothing left running: no endpoint, endpoint config or model of the run remains.")
    if result.run_state != "success":
        print(f"The run failed: failed tasks {result.failed_tasks}. Last output:\n{result.output[-4000:]}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
