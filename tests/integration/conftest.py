"""One emulator per session (per xdist worker) for every module here, reset before each module.

A start costs several seconds of CPU (moto, the serving code), so the modules share one; the reset
gives each module what a fresh emulator gave it: no SageMaker resource, fault or delay left by
another module. No test here trains, so no warm training child is kept (another ~3 s of CPU).
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tools.emulator_process import EmulatorProcess
from tools.local_setup import client_kwargs, connection_uri


@pytest.fixture(scope="session")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorProcess, dict]]:
    """The running emulator and its delays at start, which each module gets back."""
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with EmulatorProcess.start(log, env={"SAGEMAKER_EMULATOR_WARM_TRAINING_RUNNER": "0"}) as running:
        yield running, running.control("GET", "delays")


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
    kwargs = client_kwargs(emulator.url)
    return {name: boto3.client(name, **kwargs) for name in ("sagemaker", "s3", "sagemaker-runtime")}
