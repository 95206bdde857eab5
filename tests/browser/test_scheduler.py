"""The scheduler of the `make up` stack runs the DAG on its own, and `up` never starts a second stack."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tools.airflow_home import DAG_ID
from tools.local_airflow import Stack, StackError, login, running, up

from .conftest import AirflowApi

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 600
DAG_TASKS = {"plan", "preflight", "download", "prepare", "upload", "training_config", "train", "deploy", "evaluate",
             "teardown"}


@pytest.mark.timeout(900)
def test_the_scheduler_starts_a_scheduled_run_that_succeeds(api: AirflowApi) -> None:
    """Nobody triggers it: unpausing (the `api` fixture) lets the timetable create the latest daily run."""
    scheduled = _wait_for_scheduled_run(api)
    assert scheduled["triggered_by"] == "timetable"
    assert scheduled["run_after"].endswith("T00:00:00Z"), f"not a @daily tick: {scheduled['run_after']}"

    run = api.wait_for_run(scheduled["dag_run_id"], RUN_TIMEOUT)
    assert run["state"] == "success"
    states = {task: ti["state"] for task, ti in api.task_instances(run["dag_run_id"]).items()}
    assert set(states) == DAG_TASKS and set(states.values()) == {"success"}, states


def test_up_again_starts_nothing_and_gives_the_same_login(stack: Stack) -> None:
    before = login(stack)
    again, started = up(stack)
    assert (again, started) == (before, False)
    assert running(stack) and all(running(stack).values())


def test_up_on_a_busy_port_says_which_port_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stack = Stack(home=tmp_path, port=taken.getsockname()[1], emulator_port=taken.getsockname()[1])
        with pytest.raises(StackError, match=f"port {stack.port} .* in use"):
            up(stack)
    assert running(stack) == {}


def _wait_for_scheduled_run(api: AirflowApi) -> dict:
    deadline = time.monotonic() + 120
    while not (runs := api.runs(run_type="scheduled")):
        assert time.monotonic() < deadline, f"the scheduler created no run of the unpaused {DAG_ID}"
        time.sleep(2)
    return runs[-1]
