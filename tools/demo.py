"""`make demo`: run the DAG once against the emulator and show what it produced.

Starts the emulator (or uses the one at AWS_ENDPOINT_URL when it answers) while a throwaway
AIRFLOW_HOME gets a copy of a migrated metadata DB (migrated on the first run, then kept in
.airflow/db-templates/), runs `airflow dags test`, and prints
either the evaluation report or, on failure, which task failed and why. Either way it prints
the per-task times, keeps this run's files (metrics, plots, the full logs) in ./demo-output/,
checks that no endpoint, endpoint config or model of the run is left, and stops what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.airflow_home import DAG_ID, ROOT, DagTestResult, airflow_env, dags_test, migrate, migrated_template
from tools.demo_report import exception_message, first_failed_task, param_error, task_log, task_table, warnings_of
from tools.emulator_process import EmulatorProcess, free_port, is_healthy, port_is_free
from tools.local_setup import BUCKET, client_kwargs

DEFAULT_OUTPUT = ROOT / "demo-output"
MARKER = ".bankml-demo-output"


@dataclass
class RunRecord:
    """What the metadata DB says about the run: task order (as they ran), times and the plan."""

    order: list[str]
    durations: dict[str, float]
    plan: dict | None


def run_record(home: Path) -> RunRecord:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, (julianday(end_date) - julianday(start_date)) * 86400 FROM task_instance "
            "WHERE dag_id=? ORDER BY start_date IS NULL, start_date, task_id",
            (DAG_ID,),
        ).fetchall()
        plan_row = db.execute(
            "SELECT value FROM xcom WHERE dag_id=? AND task_id='plan' AND key='return_value'", (DAG_ID,)
        ).fetchone()
    plan = None
    if plan_row is not None:
        value = json.loads(plan_row[0])
        plan = json.loads(value) if isinstance(value, str) else value
    return RunRecord(
        [task for task, _ in rows], {task: round(seconds, 1) for task, seconds in rows if seconds is not None}, plan
    )


def _client(service: str, endpoint_url: str):  # noqa: ANN202 - a boto3 client
    import boto3

    return boto3.client(service, **client_kwargs(endpoint_url))


def leftovers(endpoint_url: str, base_name: str) -> dict[str, list[str]]:
    from bankml.teardown import run_resources

    return {
        kind: names for kind, names in run_resources(_client("sagemaker", endpoint_url), base_name).items() if names
    }


def copy_outputs(endpoint_url: str, plan: dict, out_dir: Path) -> list[Path]:
    s3 = _client("s3", endpoint_url)
    prefix = f"{plan['prefix']}/{plan['run_key']}/evaluation/"
    copied = []
    for item in s3.list_objects_v2(Bucket=plan["bucket"], Prefix=prefix).get("Contents", []):
        target = out_dir / item["Key"].removeprefix(prefix)
        target.write_bytes(s3.get_object(Bucket=plan["bucket"], Key=item["Key"])["Body"].read())
        copied.append(target)
    return copied


def fresh_output_dir(out_dir: Path) -> None:
    """Empty the output folder so it holds only this run's files; never a folder that is not ours."""
    if out_dir.exists() and any(out_dir.iterdir()):
        if out_dir != DEFAULT_OUTPUT and not (out_dir / MARKER).exists():
            raise SystemExit(f"{out_dir} is not empty and not a demo output folder: choose another --output")
        shutil.rmtree(out_dir)
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("files of the last `make demo` run; replaced by the next one\n")


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def print_evaluation(out_dir: Path) -> None:
    from bankml.evaluation.report import confusion_report

    document = json.loads((out_dir / "metrics.json").read_text())
    print(
        f"\nEvaluation of {document['endpoint']} ({document['feature_set']} features, "
        f"xgboost {document['xgboost_version']}):\n"
    )
    print(confusion_report(document["metrics"]))
    if "cost" in document:
        print(
            f"\nEndpoint lifetime {document['cost']['endpoint_lifetime_seconds']:.1f} s, "
            f"evaluation {document['evaluation_seconds']:.1f} s"
        )


def explain_failure(result: DagTestResult, record: RunRecord) -> str:
    """First what failed and the exception's message, as the task raised it."""
    failed = first_failed_task(result.task_states, record.order)
    if failed is None:
        return f"The run ended {result.run_state} with no failed task (exit code {result.returncode})."
    message = exception_message(task_log(result.output, failed)) or "(no exception in its log)"
    return f"Task '{failed}' failed:\n{message}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conf", default="{}", help='run conf (JSON), e.g. \'{"feature_set": "tutorial"}\'')
    parser.add_argument("--port", type=int, default=4566, help="emulator port; 0 picks a free one")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        conf = json.loads(args.conf)
    except json.JSONDecodeError as err:
        print(f"CONF is not JSON: {err}", file=sys.stderr)
        return 2
    out_dir = args.output.resolve()
    fresh_output_dir(out_dir)
    logs = out_dir / "logs"

    started = time.monotonic()
    existing = os.environ.get("AWS_ENDPOINT_URL")
    with tempfile.TemporaryDirectory(prefix="bankml-demo-") as tmp:
        home = Path(tmp)
        emulator = None
        if existing and is_healthy(existing):
            endpoint_url = existing
            print(f"Using the emulator at {endpoint_url}")
        else:
            port = args.port if args.port and port_is_free(args.port) else free_port()
            if args.port and port != args.port:
                print(f"Port {args.port} is taken (make up?): starting the demo's emulator on {port}")
            emulator = EmulatorProcess.launch(logs / "emulator.log", port=port)
            endpoint_url = emulator.url
        try:
            migrate(home, migrated_template())  # while the emulator starts
            if emulator is not None:
                emulator.wait_until_ready()
                print(f"Started the SageMaker emulator at {endpoint_url}")
            env = airflow_env(home, endpoint_url, BANKML_TASK_RETRIES="0", BANKML_BUCKET=BUCKET)
            print(f"Running {DAG_ID} with conf {json.dumps(conf)} (airflow dags test, AIRFLOW_HOME={home})", flush=True)
            result = dags_test(home, env, conf)
            shutil.copy(home / "dags-test.log", logs / "dags-test.log")
            record = run_record(home)
            if record.plan is None:
                reason = param_error(result.output) or explain_failure(result, record)
                print(
                    f"\nThe run did not start: {reason}\nNothing was created (the run failed before its "
                    f"plan).\nFull log: {shown(logs / 'dags-test.log')}",
                    file=sys.stderr,
                )
                return 1
            copied = copy_outputs(endpoint_url, record.plan, out_dir)
            left = leftovers(endpoint_url, f"bankml-{record.plan['run_key']}")
        except Exception as err:
            print(f"demo failed: {err}\nLogs: {shown(logs)}", file=sys.stderr)
            return 1
        finally:
            if emulator is not None:
                emulator.stop()

    if result.run_state != "success":
        print(f"\nThe run failed. {explain_failure(result, record)}", file=sys.stderr)
    elif (out_dir / "metrics.json").exists():
        print_evaluation(out_dir)
    for warning in warnings_of(result.output):
        print(f"\nWARNING: {warning.removeprefix('WARNING: ')}")
    print("\nTask times (s): " + task_table(result.task_states, record.durations, record.order))
    print(f"Outputs: {', '.join(shown(p) for p in copied) or 'none'}; full logs in {shown(logs)}/")
    print(f"Demo wall time: {time.monotonic() - started:.1f} s; run state: {result.run_state}")
    if left:
        print(f"LEFT RUNNING (would bill on AWS): {left}", file=sys.stderr)
        return 1
    print("Nothing left running: no endpoint, endpoint config or model of the run remains.")
    return 0 if result.run_state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
