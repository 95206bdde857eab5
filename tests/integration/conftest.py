"""One emulator per session (per xdist worker) for every module here, reset before each module.

A start costs several seconds of CPU (moto, the serving code), so the modules share one; the reset
gives each module what a fresh emulator gave it: no SageMaker resource, fault or delay left by
another module. No test here trains, so the training forkserver is not started (another ~4 s of CPU).
"""

from __future__ import annotations

import pytest

from tests.emulator_harness import Emulators, emulator_clients
from tools.emulator_process import EmulatorProcess
from tools.local_setup import connection_uri


@pytest.fixture(scope="session")
def shared_emulator(session_emulators: Emulators) -> tuple[EmulatorProcess, dict]:
    """The running emulator (no training forkserver until a job: the harness's default) and its delays at
    start, which each module gets back."""
    running = session_emulators.start("integration")
    return running, running.control("GET", "delays")


@pytest.fixture(scope="module")
def emulator(shared_emulator: tuple[EmulatorProcess, dict]) -> EmulatorProcess:
    """The shared emulator as a fresh one would be (S3 objects and logs stay: each module uses its own keys)."""
    running, delays = shared_emulator
    running.control("POST", "reset")
    running.control("DELETE", "faults")
    running.control("POST", "delays", delays)
    return running


@pytest.fixture
def aws(emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> dict:
    """boto3 clients for the emulator, and Airflow's aws_default connection pointed at it."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection_uri(emulator.url))
    return emulator_clients(emulator.url, "sagemaker", "s3", "sagemaker-runtime")
