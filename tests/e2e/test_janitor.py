"""The janitor deletes what a run left when its worker was killed in the middle of evaluation."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tools.airflow_home import AIRFLOW, DAG_ID, airflow_env, dags_test, migrate, run_states
from tools.emulator_process import EmulatorProcess
from tools.local_setup import BUCKET

from .scenarios import clients

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_janitor_deletes_what_a_killed_worker_left(airflow_template: Path, tmp_path: Path) -> None:
    home = tmp_path / "killed"
    migrate(home, airflow_template)
    with EmulatorProcess.start(home / "emulator.log") as emulator:
        emulator.control("POST", "faults", {"invocation_latency": {"seconds": 3, "count": 100000}})
        env = airflow_env(home, emulator.url, BANKML_TASK_RETRIES="0", BANKML_BUCKET=BUCKET)
        sm = clients(emulator.url)["sagemaker"]
        with (home / "killed-run.log").open("wb") as log:
            worker = subprocess.Popen(
                [AIRFLOW, "dags", "test", DAG_ID], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                _wait_for(lambda: run_states(home)[1].get("evaluate") == "running", 300, "evaluate to start")
                time.sleep(2)  # in the middle of scoring
            finally:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        endpoints = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
        assert len(endpoints) == 1, "the killed run must have left its endpoint"
        assert run_states(home)[0] == "running"

        janitor = dags_test(home, env, {"ttl_minutes": 240}, dag_id="bankml_janitor")
        assert janitor.run_state == "success", janitor.output[-4000:]
        assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == endpoints, (
            "a young endpoint of a run that still looks alive is kept"
        )

        # What the scheduler does to a zombie's run: it ends failed.
        with sqlite3.connect(home / "airflow.db") as db:
            db.execute("UPDATE dag_run SET state='failed' WHERE dag_id=?", (DAG_ID,))
        janitor = dags_test(home, env, {"ttl_minutes": 240}, dag_id="bankml_janitor")
        assert janitor.run_state == "success", janitor.output[-4000:]
        assert sm.list_endpoints()["Endpoints"] == []
        assert sm.list_endpoint_configs()["EndpointConfigs"] == []
        assert sm.list_models()["Models"] == []
