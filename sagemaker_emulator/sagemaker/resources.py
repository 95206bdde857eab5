"""The records of SageMaker resources the backend keeps (state, describe and summary shapes) and
the table each kind lives in.

Plain data: models.py owns them behind its lock and runs their lifecycles; nothing here imports
the backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from .errors import SageMakerError, validation_error
from .hosting import Deployment


class Named(Protocol):
    name: str
    arn: str


R = TypeVar("R", bound=Named)


class ResourceTable(Generic[R]):
    """The resources of one kind by name, with the service's errors for a missing and a taken name.

    `missing` and `duplicate` are the messages, with `{arn}` for the resource's ARN; a taken name
    raises `duplicate_error` (ValidationException unless told). The caller holds the backend's lock.
    """

    def __init__(
        self,
        kind: str,
        arn: Callable[[str, str], str],
        *,
        missing: str,
        duplicate: str,
        duplicate_error: Callable[[str], SageMakerError] = validation_error,
    ) -> None:
        self.kind = kind  # as in the ARN: "model", "endpoint-config", ...
        self._arn = arn
        self._missing, self._duplicate, self._duplicate_error = missing, duplicate, duplicate_error
        self._items: dict[str, R] = {}

    def arn(self, name: str) -> str:
        return self._arn(self.kind, name)

    def new_arn(self, name: str) -> str:
        """The ARN a resource about to be created gets; raises if the name is taken."""
        arn = self.arn(name)
        if name in self._items:
            raise self._duplicate_error(self._duplicate.format(arn=arn))
        return arn

    def add(self, item: R) -> R:
        self._items[item.name] = item
        return item

    def get(self, name: str) -> R:
        item = self._items.get(name)
        if item is None:
            raise validation_error(self._missing.format(arn=self.arn(name)))
        return item

    def find(self, name: str) -> R | None:
        return self._items.get(name)

    def holds(self, item: R) -> bool:
        """Whether `item` is still this table's (not deleted or forgotten by a reset)."""
        return self._items.get(item.name) is item

    def remove(self, item: R) -> None:
        del self._items[item.name]

    def clear(self) -> None:
        self._items.clear()

    def arns(self) -> list[str]:
        return [item.arn for item in self._items.values()]

    def __iter__(self) -> Iterator[R]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Record:
    """A resource made by a Create call: its name, ARN, the request as given, and when."""

    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float

    def shown_request(self, *hidden: str) -> dict[str, Any]:
        """The request as Describe echoes it: without Tags (nor the `hidden` members)."""
        return {k: v for k, v in self.request.items() if k != "Tags" and k not in hidden}


@dataclass
class TrainingJob(Record):
    status: str = "InProgress"
    secondary_status: str = "Starting"
    transitions: list[dict[str, Any]] = field(default_factory=list)
    last_modified_time: float = 0.0
    training_start_time: float | None = None
    training_end_time: float | None = None
    failure_reason: str | None = None
    metrics: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (value, time)

    @property
    def model_artifacts(self) -> str:
        output = self.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        return f"{output}/{self.name}/output/model.tar.gz"

    @property
    def finished(self) -> bool:
        return self.status in ("Completed", "Failed", "Stopped")

    def transition(self, secondary: str, message: str, status: str | None = None) -> None:
        """Record a secondary status change; the previous one ends now (caller holds the lock)."""
        now = time.time()
        if self.transitions:
            self.transitions[-1].setdefault("EndTime", now)
        self.transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
        self.secondary_status = secondary
        if status:
            self.status = status
        if self.finished:
            self.transitions[-1]["EndTime"] = now
            self.training_end_time = now
        self.last_modified_time = now

    def describe(self) -> dict[str, Any]:
        request = self.shown_request("TrainingJobName")
        result: dict[str, Any] = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "ModelArtifacts": {"S3ModelArtifacts": self.model_artifacts},
            "TrainingJobStatus": self.status,
            "SecondaryStatus": self.secondary_status,
            "EnableNetworkIsolation": False,
            "EnableInterContainerTrafficEncryption": False,
            "EnableManagedSpotTraining": False,
            **request,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "SecondaryStatusTransitions": [dict(t) for t in self.transitions],
        }
        if self.failure_reason:
            result["FailureReason"] = self.failure_reason
        if self.training_start_time is not None:
            result["TrainingStartTime"] = self.training_start_time
        if self.training_end_time is not None:
            result["TrainingEndTime"] = self.training_end_time
            if self.training_start_time is not None:
                seconds = max(1, int(self.training_end_time - self.training_start_time))
                result["TrainingTimeInSeconds"] = seconds
                result["BillableTimeInSeconds"] = seconds
        if self.metrics:
            result["FinalMetricDataList"] = [
                {"MetricName": name, "Value": value, "Timestamp": at} for name, (value, at) in self.metrics.items()
            ]
        return result

    def summary(self) -> dict[str, Any]:
        result = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "TrainingJobStatus": self.status,
            "SecondaryStatus": self.secondary_status,
        }
        if self.training_end_time is not None:
            result["TrainingEndTime"] = self.training_end_time
        return result


@dataclass
class Model(Record):
    def describe(self) -> dict[str, Any]:
        request = self.shown_request()
        return {"EnableNetworkIsolation": False, **request, "CreationTime": self.creation_time, "ModelArn": self.arn}

    def summary(self) -> dict[str, Any]:
        return {"ModelName": self.name, "ModelArn": self.arn, "CreationTime": self.creation_time}


@dataclass
class EndpointConfig(Record):
    def describe(self) -> dict[str, Any]:
        return {**self.shown_request(), "EndpointConfigArn": self.arn, "CreationTime": self.creation_time}

    def summary(self) -> dict[str, Any]:
        return {"EndpointConfigName": self.name, "EndpointConfigArn": self.arn, "CreationTime": self.creation_time}


@dataclass
class Endpoint:
    name: str
    arn: str
    config_name: str
    creation_time: float
    status: str = "Creating"
    last_modified_time: float = 0.0
    failure_reason: str | None = None
    deployment: Deployment | None = None  # what InvokeEndpoint serves; kept while an update runs
    generation: int = 0  # bumps on every Create/Update/Delete so a stale deployment thread gives up

    def set_status(self, status: str) -> None:
        self.status = status
        self.last_modified_time = time.time()

    def describe(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "EndpointConfigName": self.config_name,
            "EndpointStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.deployment:
            result["ProductionVariants"] = self.deployment.describe()
        if self.failure_reason:
            result["FailureReason"] = self.failure_reason
        return result

    def summary(self) -> dict[str, Any]:
        return {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "EndpointStatus": self.status,
        }
