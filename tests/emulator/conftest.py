"""Fixtures: one emulator subprocess per session on a free port, boto3 clients, test data.

The emulator is started by tests/emulator_harness.py with tools.local_setup's bucket and role
(BUCKET and ROLE_ARN here are those), like every other emulator the tests start.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import requests
from botocore.exceptions import WaiterError

from tests.emulator_harness import Emulators, emulator_client
from tools.emulator_process import EmulatorProcess
from tools.local_setup import BUCKET, ROLE_ARN

from .shapes import ResponseRecorder

IMAGES = {
    "1.7-1": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    "3.0-5": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
}


@pytest.fixture(scope="session")
def session_emulator(session_emulators: Emulators) -> EmulatorProcess:
    """The session's emulator. It starts its training forkserver at start-up (an extra emulator's
    first job starts it), so the warm path is tested."""
    return session_emulators.start("emulator", warm_runner=True)


@pytest.fixture(scope="session")
def emulator_url(session_emulator: EmulatorProcess) -> str:
    return session_emulator.url


@pytest.fixture(scope="session")
def recorder() -> Iterator[ResponseRecorder]:
    recorder = ResponseRecorder()
    yield recorder
    assert recorder.errors == [], "responses that do not match botocore's output shapes"


def _client(service: str, emulator_url: str, recorder: ResponseRecorder) -> Any:
    client = emulator_client(emulator_url, service)
    if service == "sagemaker":
        client.meta.events.register("before-parse.sagemaker.*", recorder)
    return client


@pytest.fixture(scope="session")
def sm(emulator_url: str, recorder: ResponseRecorder) -> Any:
    return _client("sagemaker", emulator_url, recorder)


@pytest.fixture(scope="session")
def runtime(emulator_url: str, recorder: ResponseRecorder) -> Any:
    return _client("sagemaker-runtime", emulator_url, recorder)


@pytest.fixture(scope="session")
def s3(emulator_url: str, recorder: ResponseRecorder) -> Any:
    return _client("s3", emulator_url, recorder)


@pytest.fixture(scope="session")
def logs(emulator_url: str, recorder: ResponseRecorder) -> Any:
    return _client("logs", emulator_url, recorder)


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
