"""Several `airflow dags test` runs in one Python process: `python -m tests.e2e.dag_batch BATCH.json`.

Each run is what the `airflow dags test` command line does (its own parser and command function),
so the DAG is parsed afresh with the run's environment. What a run of its own would pay again and
again — importing Airflow, the provider and the task libraries, starting the in-process execution
API — is paid once per batch: about 20 s of CPU a run on this machine, most of an e2e scenario's.

BATCH.json is a list of {"name", "env", "conf", "log"}; every entry's env has the same AIRFLOW_HOME
(one metadata DB per batch; runs are told apart by run id). For each run one JSON line
{"name", "run_id", "returncode"} is appended to BATCH.json's ".results" file.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Both file descriptors 1 and 2 into ``path``: Airflow's loggers hold their own stream objects."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _latest_run_id(dag_id: str) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()
        return run.run_id if run else None


def run_batch(batch_file: Path) -> None:
    entries = json.loads(batch_file.read_text())
    os.environ.update(entries[0]["env"])  # AIRFLOW_HOME and config before Airflow is imported
    from airflow.cli.cli_parser import get_parser

    results = batch_file.with_suffix(".results")
    for entry in entries:
        dag_id = entry.get("dag_id", "bank_marketing_xgboost")
        before = _latest_run_id(dag_id)
        os.environ.clear()
        os.environ.update(entry["env"])
        command = ["dags", "test", dag_id]
        if entry.get("conf"):
            command += ["--conf", json.dumps(entry["conf"])]
        returncode = 0
        with _output_to(Path(entry["log"])):
            try:
                args = get_parser().parse_args(command)
                args.func(args)
            except SystemExit as exit_:  # "DagRun failed", as the command line ends
                returncode = exit_.code if isinstance(exit_.code, int) else 1
                if not isinstance(exit_.code, int):
                    print(exit_.code, file=sys.stderr)
            except Exception:  # noqa: BLE001 - the run's log says what, the next run still goes
                traceback.print_exc()
                returncode = 1
        after = _latest_run_id(dag_id)
        with results.open("a") as out:  # a refused --conf creates no run
            out.write(
                json.dumps(
                    {"name": entry["name"], "run_id": after if after != before else None, "returncode": returncode}
                )
                + "\n"
            )


if __name__ == "__main__":
    run_batch(Path(sys.argv[1]))
