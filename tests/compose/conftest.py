"""One docker-compose stack (CeleryExecutor, two workers) shared by the compose tests.

Started once per session, torn down with `docker compose down --volumes` whatever happened;
every service's log is saved to test-artifacts/compose/ first. Skipped, saying why, where no
Docker engine can be had (.ci/docker-setup provides one on CI).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.airflow_api import AirflowApi
from tests.browser.chromium import browser, page, pytest_runtest_makereport  # noqa: F401
from tests.compose.stack import ComposeStack, docker_problem
from tests.emulator_harness import emulator_client
from tools.airflow_home import ROOT
from tools.emulator_process import free_port

ARTIFACTS = ROOT / "test-artifacts" / "compose"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    problem = docker_problem()
    if problem:
        pytest.skip(f"no Docker engine: {problem}")
    stack = ComposeStack(tmp_path_factory.mktemp("compose"), api_port=free_port(), emulator_port=free_port())
    stack.down()  # what a crashed earlier session may have left
    try:
        stack.up()
        yield stack
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "services.log").write_text(stack.logs())
        stack.down()
        assert stack.containers(all_states=True) == [], "`docker compose down` left containers"


@pytest.fixture(scope="session")
def api(stack: ComposeStack) -> AirflowApi:
    """Unpaused: DAGs start paused, and a run triggered on a paused DAG stays queued."""
    client = AirflowApi(stack.login)
    client.unpause()
    return client


def aws_client(stack: ComposeStack, name: str):  # a boto3 client
    """A client of the stack's emulator, from the harness's one session (models parsed once)."""
    return emulator_client(stack.emulator_url, name)
