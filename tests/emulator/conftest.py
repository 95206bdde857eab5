"""Fixtures: one emulator subprocess per session on a free port, boto3 clients, test data."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import requests
from botocore.exceptions import WaiterError

from tools.emulator_process import START_SECONDS, start_failure

from .shapes import ResponseRecorder

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "emulator-tests"
IMAGES = {
    "1.7-1": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    "3.0-5": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
}

# For an extra emulator that trains at most one job: no warm training child, whose imports cost
# ~3.5 s of CPU (runner_pool.py). The session emulator keeps the default, so the warm path is tested.
NO_WARM_RUNNER = {"SAGEMAKER_EMULATOR_WARM_TRAINING_RUNNER": "0"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `python -m sagemaker_emulator ARGS` and wait until it listens; on failure, raise with the log's tail.

    Its stdout and stderr go to `log`, not to a pipe: nobody drains a pipe after startup, and a full one
    (64 KiB) would block the server mid-request."""
    env = {**os.environ, **(env or {})}
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "sagemaker_emulator", *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    deadline = time.monotonic() + START_SECONDS
    while "listening on" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            why = start_failure(process.poll(), START_SECONDS)
            process.kill()
            process.wait()
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"{why}; last lines of {log}:\n{tail}")
        time.sleep(0.05)
    return process


@pytest.fixture(scope="session")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    process = start_emulator(["--port", str(port), "--create-bucket", BUCKET, "--create-role", "SageMakerRole"], log)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="session")
def recorder() -> Iterator[ResponseRecorder]:
    recorder = ResponseRecorder()
    yield recorder
    assert recorder.errors == [], "responses that do not match botocore's output shapes"


@pytest.fixture(scope="session")
def aws(emulator_url: str, recorder: ResponseRecorder) -> dict[str, Any]:
    """Keyword arguments for boto3 clients pointed at the emulator."""
    return {
        "endpoint_url": emulator_url,
        "region_name": REGION,
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }


def _client(service: str, aws: dict[str, Any], recorder: ResponseRecorder) -> Any:
    client = boto3.session.Session().client(service, **aws)
    if service == "sagemaker":
        client.meta.events.register("before-parse.sagemaker.*", recorder)
    return client


@pytest.fixture(scope="session")
def sm(aws: dict[str, Any], recorder: ResponseRecorder) -> Any:
    return _client("sagemaker", aws, recorder)


@pytest.fixture(scope="session")
def runtime(aws: dict[str, Any], recorder: ResponseRecorder) -> Any:
    return _client("sagemaker-runtime", aws, recorder)


@pytest.fixture(scope="session")
def s3(aws: dict[str, Any], recorder: ResponseRecorder) -> Any:
    return _client("s3", aws, recorder)


@pytest.fixture(scope="session")
def logs(aws: dict[str, Any], recorder: ResponseRecorder) -> Any:
    return _client("logs", aws, recorder)


@pytest.fixture
def control(emulator_url: str) -> Iterator[Any]:
    """Call the /_emulator API; clears faults after each test so none leaks into the next."""

    def call(method: str, path: str, json: Any = None) -> requests.Response:
        return requests.request(method, f"{emulator_url}/_emulator/{path}", json=json, timeout=10)

    yield call
    call("DELETE", "faults")


def _csv(rows: np.ndarray) -> bytes:
    buffer = io.StringIO()
    np.savetxt(buffer, rows, delimiter=",", fmt="%.6g")
    return buffer.getvalue().encode()


@pytest.fixture(scope="session")
def dataset(s3: Any) -> dict[str, str]:
    """A small separable binary problem as headerless CSV, label first (the container's layout)."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(400, 5))
    labels = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(float)
    rows = np.column_stack([labels, features])
    s3.put_object(Bucket=BUCKET, Key="data/train/part-0.csv", Body=_csv(rows[:300]))
    s3.put_object(Bucket=BUCKET, Key="data/validation/validation.csv", Body=_csv(rows[300:]))
    s3.put_object(Bucket=BUCKET, Key="single/train.csv", Body=_csv(rows[:300]))
    return {
        "train": f"s3://{BUCKET}/data/train",
        "validation": f"s3://{BUCKET}/data/validation/validation.csv",
        "single": f"s3://{BUCKET}/single/train.csv",
        "rows": _csv(rows[300:305, 1:]).decode(),
    }


def channel(name: str, uri: str, content_type: str | None = "text/csv") -> dict[str, Any]:
    entry: dict[str, Any] = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
    }
    if content_type:
        entry["ContentType"] = content_type
    return entry


def training_request(
    name: str, dataset: dict[str, str], image: str = IMAGES["3.0-5"], **overrides: Any
) -> dict[str, Any]:
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [channel("train", dataset["train"]), channel("validation", dataset["validation"])],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        "HyperParameters": {
            "num_round": "8",
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "max_depth": "3",
        },
    }
    request.update(overrides)
    return request


def wait_for_job(sm: Any, name: str) -> dict[str, Any]:
    """botocore's waiter; a Failed job ends it with WaiterError, which callers check via the description."""
    try:
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 240}
        )
    except WaiterError as error:
        assert error.last_response.get("TrainingJobStatus") == "Failed", error
    return sm.describe_training_job(TrainingJobName=name)


def wait_for_status(describe: Any, key: str, wanted: set[str], timeout: float = 60) -> dict[str, Any]:
    """Poll until a describe call reports one of `wanted` (for states no botocore waiter covers)."""
    deadline = time.monotonic() + timeout
    while True:
        description = describe()
        if description[key] in wanted or time.monotonic() > deadline:
            return description
        time.sleep(0.2)


@pytest.fixture(scope="session")
def trained_models(sm: Any, dataset: dict[str, str]) -> dict[str, str]:
    """One completed job per supported image version -> its model.tar.gz URL."""
    for tag in IMAGES:
        sm.create_training_job(**training_request(f"fixture-{tag.replace('.', '-')}", dataset, image=IMAGES[tag]))
    artifacts = {}
    for tag in IMAGES:
        description = wait_for_job(sm, f"fixture-{tag.replace('.', '-')}")
        assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
        artifacts[tag] = description["ModelArtifacts"]["S3ModelArtifacts"]
    return artifacts
