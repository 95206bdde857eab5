"""The docker-compose stack the way a user runs it: CeleryExecutor, two workers, REST API and UI.

One run is triggered through the REST API with changed Params, and the scheduler is restarted
while it trains: the run must still succeed, its tasks must have run on both workers, and its
evaluation must be readable through the API (the log) and in the emulator's S3 (metrics.json).
"""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from tests.airflow_api import AirflowApi
from tests.browser.ui_flow import CHANGED_PARAMS, trigger_from_the_ui_and_read_the_evaluation
from tests.compose.conftest import ARTIFACTS, aws_client
from tests.compose.stack import STANDIN_LABEL, WORKER, WORKERS, ComposeStack, docker
from tests.expected import ENDPOINT_RUN_NOT_SUCCESS

pytestmark = [pytest.mark.compose, pytest.mark.timeout(3600)]

RUN_TIMEOUT = 1800  # a deadline, not a speed check: a run took 15+ min at load 36 on 2 cores
CONF = {"min_auc": 0.75, "xgboost_version": "1.7-1"}
LONG_RUNNING = {
    "postgres",
    "redis",
    "sagemaker-emulator",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    WORKER,
}


def test_every_long_running_service_is_healthy_with_two_workers(stack: ComposeStack) -> None:
    rows = stack.containers()
    assert {row["Service"] for row in rows} == LONG_RUNNING
    assert {row["Name"]: row["Health"] for row in rows if row["Health"] != "healthy"} == {}
    assert len(stack.hostnames(WORKER)) == WORKERS


def test_the_workers_read_the_celery_settings_of_the_compose_file(stack: ComposeStack) -> None:
    """The Celery provider's options, which tests/deploy cannot check without the provider."""
    for option, expected in [
        ("broker_url", "redis://:@redis:6379/0"),
        ("worker_concurrency", "1"),
        ("result_backend", "db+postgresql://airflow:airflow@postgres/airflow"),
    ]:
        done = stack.compose("exec", "-T", WORKER, "airflow", "config", "get-value", "celery", option)
        assert done.stdout.strip() == expected, (option, done.stdout, done.stderr)


def test_one_image_runs_every_airflow_service_and_the_emulator(stack: ComposeStack) -> None:
    names = [row["Name"] for row in stack.containers() if row["Service"] not in ("postgres", "redis")]
    images = set(docker("inspect", "--format", "{{.Image}}", *names).split())
    assert len(images) == 1, images
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", *images)) or {}
    # Not a check: which base image this session verified (a stand-in, or the official image).
    (ARTIFACTS / "base-image.txt").parent.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "base-image.txt").write_text(labels.get(STANDIN_LABEL, "official apache/airflow image") + "\n")


@pytest.fixture(scope="module")
def api_run(stack: ComposeStack, api: AirflowApi) -> str:
    """A run triggered through the REST API; `docker compose restart airflow-scheduler` while it trains."""
    run_id = api.trigger(CONF)["dag_run_id"]
    api.wait_for_task(run_id, "train", "running", RUN_TIMEOUT)
    stack.compose("restart", "airflow-scheduler")
    api.wait_for_run(run_id, RUN_TIMEOUT)
    return run_id


def test_api_run_with_changed_params_survives_a_scheduler_restart(api: AirflowApi, api_run: str) -> None:
    run = api.get(f"/dags/bank_marketing_xgboost/dagRuns/{api_run}")
    assert run["state"] == "success" and run["conf"] == CONF
    states = {task: ti["state"] for task, ti in api.task_instances(api_run).items()}
    assert {task: state for task, state in states.items() if state != "success"} == ENDPOINT_RUN_NOT_SUCCESS, states


def test_the_run_s_tasks_ran_on_both_workers(stack: ComposeStack, api: AirflowApi, api_run: str) -> None:
    ran_on = {
        task: ti["hostname"] for task, ti in api.task_instances(api_run).items() if task not in ENDPOINT_RUN_NOT_SUCCESS
    }
    (ARTIFACTS / "hostnames.json").write_text(
        json.dumps({"workers": stack.hostnames(WORKER), "tasks": ran_on}, indent=2)
    )
    assert set(ran_on.values()) == set(stack.hostnames(WORKER)), ran_on


def test_evaluate_log_read_through_the_api_has_the_confusion_matrix(api: AirflowApi, api_run: str) -> None:
    log = api.task_log(api_run, "evaluate", 1)
    assert "Overall Classification Rate" in log
    assert "Predicted" in log and "No Purchase" in log


def test_metrics_json_is_in_the_emulator_s3_with_the_changed_params(
    stack: ComposeStack, api: AirflowApi, api_run: str
) -> None:
    uri = urlparse(api.xcom(api_run, "evaluate")["metrics_uri"])
    body = aws_client(stack, "s3").get_object(Bucket=uri.netloc, Key=uri.path.lstrip("/"))["Body"].read()
    document = json.loads(body)
    assert document["min_auc"] == CONF["min_auc"]
    assert document["xgboost_version"] == CONF["xgboost_version"]
    assert document["metrics"]["roc_auc"] >= CONF["min_auc"] and "cost" in document


def test_trigger_from_the_compose_ui_and_read_the_evaluation_log(stack: ComposeStack, api: AirflowApi, page) -> None:
    document = trigger_from_the_ui_and_read_the_evaluation(
        page, stack.login, api, aws_client(stack, "s3"), RUN_TIMEOUT, shots="compose-"
    )
    assert {k: document[k] for k in CHANGED_PARAMS} == CHANGED_PARAMS


def test_init_fails_loudly_when_the_migration_fails(stack: ComposeStack) -> None:
    done = stack.compose(
        "run",
        "--rm",
        "--no-deps",
        "--env",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:wrong-password@postgres/airflow",
        "airflow-init",
        check=False,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "password authentication failed" in output
    assert "Airflow is initialised" not in output
