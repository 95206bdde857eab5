"""Throwaway Airflow homes wired to an emulator (or AWS), and `airflow dags test` runs in them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tools.local_setup import POLL_SECONDS, connection_uri

ROOT = Path(__file__).resolve().parents[1]
DAG_ID = "bank_marketing_xgboost"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
TEMPLATES = ROOT / ".airflow" / "db-templates"
# The provider's hooks parse botocore's service models once per process (bankml/aws_session.py).
SESSION_FACTORY = "bankml.aws_session.SharedModelsSessionFactory"


def airflow_env(home: Path, endpoint_url: str | None, **overrides: str) -> dict[str, str]:
    """Environment of an Airflow process using this home, the project's dags/plugins and the connection."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_AWS_DEFAULT": connection_uri(endpoint_url),
        "AIRFLOW__AWS__SESSION_FACTORY": SESSION_FACTORY,
        "BANKML_POLL_SECONDS": str(POLL_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    # Never let a developer's own AWS settings leak into a local run.
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        env.pop(name, None)
    env.update(overrides)
    return env


def migrate(home: Path, template: Path | None = None) -> None:
    """Create the metadata DB, copying a migrated template when one is given (much faster)."""
    home.mkdir(parents=True, exist_ok=True)
    if template is not None and (template / "airflow.db").exists():
        shutil.copy(template / "airflow.db", home / "airflow.db")
        return
    subprocess.run(
        [AIRFLOW, "db", "migrate"],
        env=airflow_env(home, None),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def migrated_template() -> Path:
    """A home with a freshly migrated metadata DB for the installed packages, made once and kept in
    .airflow/db-templates/ (`make clean` removes it): migrating takes ~6 s, copying the result
    milliseconds. Keyed by every installed distribution and its version, so an upgrade makes a new one."""
    # A set: a distribution is listed once per sys.path entry it is found on (an editable install's
    # egg-info in the working directory, again), and which entries there are depends on how Python started.
    installed = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()})
    home = TEMPLATES / hashlib.sha256("\n".join(installed).encode()).hexdigest()[:16]
    if not (home / "airflow.db").exists():
        TEMPLATES.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="building-", dir=TEMPLATES))
        migrate(building)
        try:
            building.rename(home)  # atomic: a concurrent first run may have made it already
        except OSError:
            shutil.rmtree(building)
    return home


@dataclass
class DagTestResult:
    returncode: int
    output: str
    run_state: str | None
    task_states: dict[str, str | None]

    @property
    def failed_tasks(self) -> list[str]:
        return sorted(t for t, s in self.task_states.items() if s == "failed")


def run_states(home: Path, dag_id: str = DAG_ID, run_id: str | None = None) -> tuple[str | None, dict[str, str | None]]:
    """A run's state (the latest run's unless ``run_id`` names one) and its task states, from the metadata DB."""
    with sqlite3.connect(home / "airflow.db") as db:
        row = db.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id=? AND run_id=coalesce(?, run_id) ORDER BY id DESC LIMIT 1",
            (dag_id, run_id),
        ).fetchone()
        if row is None:
            return None, {}
        tasks = db.execute(
            "SELECT task_id, state FROM task_instance WHERE dag_id=? AND run_id=?", (dag_id, row[0])
        ).fetchall()
    return row[1], dict(tasks)


def dags_test(
    home: Path, env: dict[str, str], conf: dict | None = None, dag_id: str = DAG_ID, timeout: float = 600
) -> DagTestResult:
    """`airflow dags test` in this home; the output is also written to home/dags-test.log."""
    command = [AIRFLOW, "dags", "test", dag_id]
    if conf:
        command += ["--conf", json.dumps(conf)]
    completed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    output = completed.stdout + completed.stderr
    (home / "dags-test.log").write_text(output)
    state, tasks = run_states(home, dag_id)
    return DagTestResult(completed.returncode, output, state, tasks)
