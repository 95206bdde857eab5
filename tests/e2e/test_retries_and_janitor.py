"""Retries never collide with a run's own resources, and the janitor covers a killed worker."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from .scenarios import Outcome, Scenario, clients, run_all
from tools.airflow_home import AIRFLOW, DAG_ID, airflow_env, dags_test, migrate, run_states
from tools.emulator_process import BUCKET, EmulatorProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def training_jobs(emulator: EmulatorProcess, home: Path) -> dict[str, str]:
    sm = clients(emulator.url)["sagemaker"]
    return {j["TrainingJobName"]: j["TrainingJobStatus"] for j in sm.list_training_jobs()["TrainingJobSummaries"]}


def try_numbers(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "airflow.db") as db:
        return dict(db.execute("SELECT task_id, try_number FROM task_instance WHERE dag_id=?", (DAG_ID,)))


@pytest.fixture(scope="module")
def retried(airflow_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    scenario = Scenario(
        "retries",
        env={"BANKML_TASK_RETRIES": "1", "BANKML_RETRY_DELAY_SECONDS": "1"},
        faults={"fail_next_training_job": "InternalServerError: injected",
                "fail_next_endpoint": "injected: the endpoint failed"},
        after=training_jobs,
    )
    return run_all([scenario], airflow_template, tmp_path_factory.mktemp("retries"))["retries"]


def test_retried_train_and_deploy_succeed_without_collisions(retried: Outcome) -> None:
    assert retried.result.run_state == "success", retried.explain()
    tries = try_numbers(retried.home)
    assert tries["train"] == 2 and tries["deploy"] == 2
    jobs = retried.after_value
    base = f"bankml-{retried.plan['run_key']}"
    assert jobs[base] == "Failed"
    retry_jobs = [name for name in jobs if name != base]
    assert len(retry_jobs) == 1 and jobs[retry_jobs[0]] == "Completed"
    assert retry_jobs[0].startswith(base + "-") and len(retry_jobs[0]) <= 63
    assert retried.leftovers == {}
    deploy_log = retried.log("deploy")
    assert "is Failed from an earlier try: deleting it first" in deploy_log
    assert f"{base}-model-2" in deploy_log


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
            worker = subprocess.Popen([AIRFLOW, "dags", "test", DAG_ID], env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
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
        assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == endpoints, \
            "a young endpoint of a run that still looks alive is kept"

        # What the scheduler does to a zombie's run: it ends failed.
        with sqlite3.connect(home / "airflow.db") as db:
            db.execute("UPDATE dag_run SET state='failed' WHERE dag_id=?", (DAG_ID,))
        janitor = dags_test(home, env, {"ttl_minutes": 240}, dag_id="bankml_janitor")
        assert janitor.run_state == "success", janitor.output[-4000:]
        assert sm.list_endpoints()["Endpoints"] == []
        assert sm.list_endpoint_configs()["EndpointConfigs"] == []
        assert sm.list_models()["Models"] == []
