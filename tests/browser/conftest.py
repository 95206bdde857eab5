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
from collections.abc import Iterator

import psutil
import pytest

from tests.airflow_api import AirflowApi, error_lines
from tests.browser.chromium import browser, page, pytest_runtest_makereport, require_chromium  # noqa: F401
from tools.airflow_home import ROOT
from tools.emulator_process import free_port
from tools.local_airflow import Login, Stack, down, login, running

SCHEDULE = "@daily"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`up` through the command line, so this also checks that the stack outlives the `up` process."""
    require_chromium()
    stack = Stack(home=tmp_path_factory.mktemp("local-airflow"), port=free_port(), emulator_port=free_port())
    command = [
        sys.executable,
        "-m",
        "tools.local_airflow",
        "--home",
        str(stack.home),
        "--port",
        str(stack.port),
        "--emulator-port",
        str(stack.emulator_port),
    ]
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
def api(stack: Stack, credentials: Login) -> AirflowApi:
    """Also unpauses the DAG, which makes the scheduler start the run of the latest tick now."""
    client = AirflowApi(credentials, diagnostics=lambda: error_lines(stack.log_file("scheduler")))
    client.unpause()
    return client
