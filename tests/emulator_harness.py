"""The one way tests start emulators and reach them: a pytest plugin, registered in tests/conftest.py.

Every emulator a test starts is a tools.emulator_process.EmulatorProcess, as `make demo` and
`make up` start theirs: on a free port, its output in an owner-only log file under the fixture's
tmp_path, and a start that fails raises with why (tools.emulator_process.start_failure) and the
last lines of that log. `emulators`, `module_emulators` and `session_emulators` start them and stop
every one they started when their scope ends; `emulator_client` is a boto3 client of one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tools.emulator_process import START_SECONDS, EmulatorProcess
from tools.local_setup import client_kwargs

# An extra emulator trains at most a job or two, often none: its training forkserver, whose imports
# cost ~4 s of CPU (sagemaker_emulator/sagemaker/runner_pool.py), is started by its first job, not
# at start-up. `warm_runner=True` starts it with the emulator.
NO_WARM_RUNNER = {"SAGEMAKER_EMULATOR_WARM_TRAINING_RUNNER": "0"}


@functools.cache
def _session() -> boto3.session.Session:
    """The harness's own boto3 session, not boto3's default one, which code under test may set up.
    One for all clients: a new session reloads botocore's service models (~150 ms a client, ~10 ms
    from a session that has them). Create clients on the test's thread; the clients are thread-safe."""
    return boto3.session.Session()


def emulator_client(url: str, service: str, **options: Any) -> Any:
    """A boto3 client of the emulator at `url` (tools.local_setup.client_kwargs); `options`
    (config=...) go to Session.client."""
    return _session().client(service, **client_kwargs(url), **options)


def emulator_clients(url: str, *services: str) -> dict[str, Any]:
    """service -> emulator_client(url, service)."""
    return {service: emulator_client(url, service) for service in services}


class Emulators:
    """Starts emulators with their logs in `directory`; `stop_all` stops every one it started."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[EmulatorProcess] = []

    def start(
        self,
        name: str = "emulator",
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        warm_runner: bool = False,
    ) -> EmulatorProcess:
        """Start one and wait until it serves; its log is `directory`/`name`.log. `args` replace
        tools.local_setup.emulator_args() (the pipeline's bucket and role); `env` adds settings."""
        log = self.directory / f"{name}.log"
        if any(emulator.log_path == log for emulator in self.started):
            raise ValueError(f"an emulator named {name!r} was already started here")
        settings = {**({} if warm_runner else NO_WARM_RUNNER), **(env or {})}
        emulator = EmulatorProcess.launch(log, env=settings, args=args)
        self.started.append(emulator)
        return emulator.wait_until_ready(START_SECONDS)

    def stop_all(self) -> None:
        while self.started:
            self.started.pop().stop()


def _emulators(directory: Path) -> Iterator[Emulators]:
    emulators = Emulators(directory)
    try:
        yield emulators
    finally:
        emulators.stop_all()


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[Emulators]:
    """Emulators for one test, stopped after it; logs in its tmp_path."""
    yield from _emulators(tmp_path)


@pytest.fixture(scope="module")
def module_emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """Emulators for one module, stopped after its last test."""
    yield from _emulators(tmp_path_factory.mktemp("emulators"))


@pytest.fixture(scope="session")
def session_emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """Emulators for the session (one per xdist worker), stopped at its end."""
    yield from _emulators(tmp_path_factory.mktemp("emulators"))
