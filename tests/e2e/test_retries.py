"""Task retries never collide with a run's own resources (names stay deterministic and valid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.airflow_home import DAG_ID
from tools.emulator_process import EmulatorProcess

from .scenarios import Outcome, Scenario, clients, run_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def training_jobs(emulator: EmulatorProcess, home: Path) -> dict[str, str]:
    sm = clients(emulator.url)["sagemaker"]
    return {j["TrainingJobName"]: j["TrainingJobStatus"] for j in sm.list_training_jobs()["TrainingJobSummaries"]}


def try_numbers(outcome: Outcome) -> dict[str, int]:
    return dict(outcome.query("SELECT task_id, try_number FROM task_instance WHERE run_id=? AND dag_id=?", DAG_ID))


@pytest.fixture(scope="module")
def retried(airflow_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    scenario = Scenario(
        "retries",
        env={"BANKML_TASK_RETRIES": "1", "BANKML_RETRY_DELAY_SECONDS": "1"},
        # evaluate's first try fails writing metrics.json, after it registered the model (403: not retried).
        faults={
            "fail_next_training_job": "InternalServerError: injected",
            "fail_next_endpoint": "injected: the endpoint failed",
            "request_errors": {
                "service": "s3",
                "method": "PUT",
                "path_contains": "/evaluation/metrics.json",
                "count": 1,
                "status": 403,
                "code": "AccessDenied",
                "message": "injected",
            },
        },
        after=training_jobs,
    )
    return run_all([scenario], airflow_template, tmp_path_factory.mktemp("retries"))["retries"]


def test_retried_train_and_deploy_succeed_without_collisions(retried: Outcome) -> None:
    assert retried.result.run_state == "success", retried.explain()
    tries = try_numbers(retried)
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


def test_a_retried_evaluate_does_not_register_twice(retried: Outcome) -> None:
    assert try_numbers(retried)["evaluate"] == 2
    log = retried.log("evaluate")
    assert "AccessDenied" in log
    assert "Model registry: bankml-economic version 1 Approved: first version" in log
    assert "Model registry: bankml-economic version 1 Approved (registered by an earlier try)" in log
    assert retried.documents["metrics.json"]["registry"]["registered_before"] is True
