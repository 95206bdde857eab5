"""One local stack (`python -m tools.local_airflow up`, as `make up` runs it) shared by the browser tests.

It runs on free ports in a temporary home with a daily schedule, and the fixture unpauses the
DAG at once: with catchup off, the scheduler then creates the run of the latest schedule
tick right away, and it executes while the UI test logs in and fills the trigger form (the
DAG allows one active run, so the UI's manual run queues behind it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tools.airflow_home import DAG_ID, ROOT
from tools.emulator_process import free_port
from tools.local_airflow import Login, Stack, down, login, running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SCHEDULE = "@daily"
FINISHED = ("success", "failed")


class AirflowApi:
    """The REST API (/api/v2) with a JWT from /auth/token, as any API client would use it."""

    def __init__(self, credentials: Login) -> None:
        response = httpx.post(f"{credentials.url}/auth/token", timeout=30,
                              json={"username": credentials.username, "password": credentials.password})
        response.raise_for_status()
        self.client = httpx.Client(base_url=f"{credentials.url}/api/v2", timeout=30,
                                   headers={"Authorization": f"Bearer {response.json()['access_token']}"})

    def get(self, path: str, **params: object) -> dict:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: dict) -> dict:
        response = self.client.patch(path, json=body)
        response.raise_for_status()
        return response.json()

    def runs(self, **filters: object) -> list[dict]:
        return self.get(f"/dags/{DAG_ID}/dagRuns", order_by="-run_after", **filters)["dag_runs"]

    def task_instances(self, run_id: str) -> dict[str, dict]:
        found = self.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in found}

    def task_log(self, run_id: str, task_id: str, try_number: int) -> str:
        response = self.client.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                                   headers={"Accept": "text/plain"})
        response.raise_for_status()
        return response.text

    def wait_for_run(self, run_id: str, timeout: float) -> dict:
        """The finished run; a deadline, not a speed check. Failures carry the failed tasks' logs."""
        deadline = time.monotonic() + timeout
        while (run := self.get(f"/dags/{DAG_ID}/dagRuns/{run_id}"))["state"] not in FINISHED:
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {run['state']} after {timeout:.0f} s; "
                                     f"tasks: {self._states(run_id)}")
            time.sleep(3)
        if run["state"] != "success":
            failed = {task: ti for task, ti in self.task_instances(run_id).items() if ti["state"] != "success"}
            logs = "\n".join(f"--- {task} (try {ti['try_number']}):\n"
                             f"{self.task_log(run_id, task, max(ti['try_number'], 1))[-3000:]}"
                             for task, ti in failed.items() if ti["state"] == "failed")
            raise AssertionError(f"run {run_id} ended {run['state']}; tasks: {self._states(run_id)}\n{logs}")
        return run

    def _states(self, run_id: str) -> dict[str, str | None]:
        return {task: ti["state"] for task, ti in self.task_instances(run_id).items()}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`up` through the command line, so this also checks that the stack outlives the `up` process."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not at {CHROMIUM}: `apt-get install chromium` (.ci/run does)")
    stack = Stack(home=tmp_path_factory.mktemp("local-airflow"), port=free_port(), emulator_port=free_port())
    command = [sys.executable, "-m", "tools.local_airflow", "--home", str(stack.home), "--port", str(stack.port),
               "--emulator-port", str(stack.emulator_port)]
    env = {**os.environ, "BANKML_SCHEDULE": SCHEDULE, "BANKML_TASK_RETRIES": "0"}
    started = subprocess.run([*command, "up"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    try:
        assert started.returncode == 0, f"`up` failed:\n{started.stdout}\n{started.stderr}"
        assert all(running(stack).values()), f"`up` exited but the stack is not running: {running(stack)}"
        yield stack
    finally:
        stopped = subprocess.run([*command, "down"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert not stack.state_file.exists() and down(stack) == [], "`down` left processes running"
        assert _processes_of(stack) == [], "`down` left processes of this AIRFLOW_HOME (task runners?)"


def _processes_of(stack: Stack) -> list[str]:
    """Every process still using this home, including ones `up` never recorded (task runners)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.environ().get("AIRFLOW_HOME") == str(stack.home):
                found.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])}")
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="session")
def credentials(stack: Stack) -> Login:
    return login(stack)


@pytest.fixture(scope="session")
def api(credentials: Login) -> AirflowApi:
    """Also unpauses the DAG, which makes the scheduler start the run of the latest tick now."""
    client = AirflowApi(credentials)
    deadline = time.monotonic() + 120
    while not client.get("/dags", dag_id_pattern=DAG_ID)["dags"]:
        assert time.monotonic() < deadline, f"the dag-processor never registered {DAG_ID}: " \
                                            f"{client.get('/importErrors')}"
        time.sleep(2)
    client.patch(f"/dags/{DAG_ID}", {"is_paused": False})
    return client


@pytest.fixture(scope="session")
def browser(stack: Stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's Chromium, never a browser Playwright would download.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    """A fresh browser context; its screen is saved to test-artifacts/ when the test fails."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        page.screenshot(path=ARTIFACTS / f"{request.node.name}-failure.png", full_page=True)
    context.close()


def sign_in(page, credentials: Login, screenshot: Path | None = None) -> None:
    """Log in through the UI's form, as a person does; the session cookie then serves every page."""
    page.goto(credentials.url)
    page.get_by_label("Username").wait_for()
    if screenshot is not None:
        page.screenshot(path=screenshot)
    page.get_by_label("Username").fill(credentials.username)
    page.get_by_label("Password").fill(credentials.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{credentials.url}/")
