"""The `make up` stack as a person uses it, in one module so the tests share one stack (one
worker under xdist's loadfile): its scheduler runs the DAG on its own; `up` never starts a second
stack and cleans up after a failed start; a person logs in, triggers a run with a changed Param
and reads the confusion matrix in the evaluate task's log (the same steps run against the compose
stack in tests/compose); and the "Model quality" page, after two runs of the default feature set,
shows two versions, one champion and images that load, is listed as a plugin view and needs a session.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.airflow_api import AirflowApi
from tests.browser.chromium import ARTIFACTS
from tests.emulator_harness import emulator_client
from tests.expected import ENDPOINT_RUN_NOT_SUCCESS
from tools.airflow_home import DAG_ID
from tools.emulator_process import free_port, is_healthy
from tools.local_airflow import Login, Stack, StackError, login, running, up

from .ui_flow import CHANGED_PARAMS, sign_in, trigger_from_the_ui_and_read_the_evaluation

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 600  # one active run at a time: a run may queue behind another


@pytest.mark.timeout(900)
def test_the_scheduler_starts_a_scheduled_run_that_succeeds(api: AirflowApi) -> None:
    """Nobody triggers it: unpausing (the `api` fixture) lets the timetable create the latest daily run."""
    scheduled = _wait_for_scheduled_run(api)
    assert scheduled["triggered_by"] == "timetable"
    assert scheduled["run_after"].endswith("T00:00:00Z"), f"not a @daily tick: {scheduled['run_after']}"

    run = api.wait_for_run(scheduled["dag_run_id"], RUN_TIMEOUT)
    assert run["state"] == "success"
    dag_tasks = {task["task_id"] for task in api.get(f"/dags/{DAG_ID}/tasks")["tasks"]}
    states = {task: ti["state"] for task, ti in api.task_instances(run["dag_run_id"]).items()}
    assert set(states) == dag_tasks, states
    assert {task: state for task, state in states.items() if state != "success"} == ENDPOINT_RUN_NOT_SUCCESS, states


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


def test_a_failed_start_shows_the_log_and_leaves_nothing_running(stack: Stack, tmp_path: Path) -> None:
    broken = Stack(home=tmp_path, port=free_port(), emulator_port=stack.emulator_port)
    with pytest.raises(StackError, match="`airflow db migrate` failed") as failure:
        up(broken, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path}/no-such-dir/airflow.db")
    assert "unable to open database file" in str(failure.value)
    assert running(broken) == {} and not broken.state_file.exists()
    assert is_healthy(stack.emulator_url), "down must not stop an emulator it reused"


def _wait_for_scheduled_run(api: AirflowApi) -> dict:
    deadline = time.monotonic() + 120
    while not (runs := api.runs(run_type="scheduled")):
        assert time.monotonic() < deadline, f"the scheduler created no run of the unpaused {DAG_ID}"
        time.sleep(2)
    return runs[-1]


def test_the_stack_listens_on_loopback_only_and_keeps_its_secrets_private(stack: Stack) -> None:
    """No log server or API on 0.0.0.0/::; the admin password and logs are 0600 in a 0700 home."""
    import psutil

    from tools.local_airflow import read_state

    listening = []
    for record in read_state(stack)["processes"].values():
        root = psutil.Process(int(record["pid"]))
        for process in (root, *root.children(recursive=True)):
            try:
                listening += [
                    (process.name(), c.laddr.ip, c.laddr.port)
                    for c in process.net_connections(kind="inet")
                    if c.status == psutil.CONN_LISTEN
                ]
            except psutil.Error:
                pass
    assert listening, "the api-server and the emulator listen somewhere"
    assert all(ip == "127.0.0.1" for _, ip, _ in listening), listening
    assert stack.home.stat().st_mode & 0o777 == 0o700
    for secret in (stack.password_file, *stack.run_dir.glob("*.log")):
        assert secret.stat().st_mode & 0o777 == 0o600, secret


@pytest.mark.timeout(900)
def test_trigger_from_the_ui_with_a_changed_param_and_read_the_evaluation_log(
    api: AirflowApi, stack: Stack, credentials: Login, page
) -> None:
    s3 = emulator_client(stack.emulator_url, "s3")
    document = trigger_from_the_ui_and_read_the_evaluation(page, credentials, api, s3, RUN_TIMEOUT)
    # The changed Params reached the tasks: the saved evaluation names them.
    assert {k: document[k] for k in CHANGED_PARAMS} == CHANGED_PARAMS


@pytest.mark.timeout(1500)
def test_two_runs_show_two_versions_one_champion_and_their_images(api: AirflowApi, credentials: Login, page) -> None:
    """Version 1 of the default (economic) set is the scheduled run's; the UI's run above registered
    version 1 of the tutorial set; a second default run here registers economic version 2."""
    api.wait_for_run(_wait_for_scheduled_run(api)["dag_run_id"], RUN_TIMEOUT)
    triggered = api.client.post(f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {}})
    assert triggered.is_success, triggered.text
    api.wait_for_run(triggered.json()["dag_run_id"], RUN_TIMEOUT)  # the same model again: version 2

    assert httpx.get(f"{credentials.url}/bankml/models", timeout=30).status_code == 401  # no session, no page
    views = [v for p in api.get("/plugins")["plugins"] if p["name"] == "bankml_ui" for v in p["external_views"]]
    assert {(v["name"], v["destination"]) for v in views} == {("Model quality", "nav"), ("Model quality", "dag")}

    sign_in(page, credentials)
    page.goto(f"{credentials.url}/bankml/models")
    page.locator("table").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "model-quality.png", full_page=True)
    economic = page.locator("tr[data-version]", has_text="economic")
    assert economic.count() == 2 and page.locator("tr[data-version]").count() == 3, page.content()[:3000]
    champion = economic.and_(page.locator("tr.champion"))
    assert champion.count() == 1 and champion.inner_text().startswith("v2 ★ champion")
    assert page.locator("tr.champion").count() == 2  # one champion per feature set
    assert economic.locator("td.status", has_text="Approved").count() == 2
    images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
    assert len(images) == 2 + 3 * 3 and all(loaded for _, loaded in images), images  # a trend per set + 3 per version
