"""Faults in the real stack: a Celery worker dies while `evaluate` runs.

The task is retried on the surviving worker (or fails), the teardown still runs, and the
emulator holds no endpoint, endpoint config or model of the run afterwards. (The scheduler
restart mid-run is in test_stack.py, on the API-triggered run.)
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from bankml.teardown import run_resources
from tests.airflow_api import AirflowApi
from tests.compose.conftest import aws_client
from tests.compose.stack import WORKER, ComposeStack, docker

pytestmark = [pytest.mark.compose, pytest.mark.timeout(3600)]

RUN_TIMEOUT = 1800  # a deadline, not a speed check: a run took 15+ min at load 36 on 2 cores
# One payload at a time, each answered 6 s late: evaluate scores for ~40 s, time to kill its worker.
SLOW_SCORING = {"invocation_latency": {"seconds": 6, "count": 7}}


def _arm(stack: ComposeStack, faults: dict) -> None:
    request = urllib.request.Request(
        f"{stack.emulator_url}/_emulator/faults",
        data=json.dumps(faults).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def _wait_for_log(api: AirflowApi, run_id: str, task_id: str, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in api.task_log(run_id, task_id, 1):
        assert time.monotonic() < deadline, f"{task_id} never logged {text!r}"
        time.sleep(1)


def test_a_worker_killed_during_evaluate(stack: ComposeStack, api: AirflowApi) -> None:
    _arm(stack, SLOW_SCORING)
    run_id = api.trigger({"evaluation_workers": 1})["dag_run_id"]
    evaluating = api.wait_for_task(run_id, "evaluate", "running", RUN_TIMEOUT)
    _wait_for_log(api, run_id, "evaluate", "Scoring", 120)
    workers = stack.hostnames(WORKER)
    victim = workers[evaluating["hostname"]]
    docker("kill", victim)
    try:
        api.wait_for_run(run_id, RUN_TIMEOUT, expect=None)
    finally:
        docker("start", victim)

    tis = api.task_instances(run_id)
    evaluate, teardown = tis["evaluate"], tis["teardown"]
    assert evaluate["state"] in ("success", "failed"), tis
    if evaluate["state"] == "success":  # retried, and it can only have been on the other worker
        assert evaluate["try_number"] == 2 and evaluate["hostname"] != evaluating["hostname"], evaluate
    assert teardown["state"] == "success" and teardown["hostname"] != evaluating["hostname"], teardown
    assert tis["verify_cleanup"]["state"] == "success", tis["verify_cleanup"]
    plan = api.xcom(run_id, "plan")
    left = run_resources(aws_client(stack, "sagemaker"), f"bankml-{plan['run_key']}")
    assert {kind: names for kind, names in left.items() if names} == {}
