"""Delete everything a run created on SageMaker, whatever state the run reached.

Resources are found by the run's base name (RunPlan.base_name): the endpoint carries it
exactly, and the models and endpoint configs of every deploy try start with it, so a deploy
that failed halfway leaves nothing behind. Absent resources are fine; a resource that
cannot be deleted is an error, because it may keep billing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from bankml.listing import name_field, of_run
from bankml.settings import Wait

log = logging.getLogger(__name__)


class TeardownError(RuntimeError):
    """Something of the run is still there after teardown: it may be billing."""


@dataclass
class TeardownReport:
    deleted: list[str] = field(default_factory=list)
    stopped_training_jobs: list[str] = field(default_factory=list)
    stopped_transform_jobs: list[str] = field(default_factory=list)
    endpoint_created_at: datetime | None = None
    endpoint_deleted_at: datetime | None = None
    endpoint_instance_type: str | None = None
    endpoint_instance_count: int = 0

    @property
    def endpoint_lifetime_seconds(self) -> float | None:
        if self.endpoint_created_at is None or self.endpoint_deleted_at is None:
            return None
        return (self.endpoint_deleted_at - self.endpoint_created_at).total_seconds()


def is_absent(err: ClientError) -> bool:
    """SageMaker reports a missing resource as a plain ValidationException."""
    return err.response.get("Error", {}).get("Code") == "ValidationException"


def _tolerating_absent(call: Callable[[], Any]) -> Any | None:
    try:
        return call()
    except ClientError as err:
        if is_absent(err):
            return None
        raise


def run_resources(sm: Any, base: str) -> dict[str, list[str]]:
    """What of this run exists now (endpoints, endpoint configs, models)."""
    return {
        kind: [item[name_field(operation)] for item in of_run(sm, operation, base)]
        for kind, operation in (
            ("endpoints", "list_endpoints"),
            ("endpoint_configs", "list_endpoint_configs"),
            ("models", "list_models"),
        )
    }


@dataclass(frozen=True)
class JobKind:
    """A kind of SageMaker job a run starts: how to list, name and stop it."""

    kind: str
    list_operation: str
    status_field: str
    stop_operation: str

    @property
    def name_field(self) -> str:
        return name_field(self.list_operation)


JOB_KINDS = (
    JobKind("training", "list_training_jobs", "TrainingJobStatus", "stop_training_job"),
    JobKind("transform", "list_transform_jobs", "TransformJobStatus", "stop_transform_job"),
)


def running_jobs(sm: Any, base: str, statuses: tuple[str, ...] = ("InProgress", "Stopping")) -> dict[str, list[str]]:
    """The run's jobs in `statuses`, per kind ("training", "transform")."""
    found: dict[str, list[str]] = {}
    for kind in JOB_KINDS:
        for job in of_run(sm, kind.list_operation, base):
            if job[kind.status_field] in statuses:
                found.setdefault(kind.kind, []).append(job[kind.name_field])
    return found


def stop_jobs(sm: Any, base: str, report: TeardownReport) -> None:
    """A training or transform job still running after its task failed bills too."""
    for kind in JOB_KINDS:
        for name in running_jobs(sm, base, ("InProgress",)).get(kind.kind, []):
            log.info("Stopping %s job %s", kind.kind, name)
            stop = getattr(sm, kind.stop_operation)
            _tolerating_absent(partial(stop, **{kind.name_field: name}))
            getattr(report, f"stopped_{kind.kind}_jobs").append(name)


def delete_endpoint(sm: Any, name: str, report: TeardownReport, wait: Wait) -> None:
    """Delete the endpoint and wait until SageMaker no longer knows it."""
    described = _tolerating_absent(lambda: sm.describe_endpoint(EndpointName=name))
    if described is None:
        log.info("Endpoint %s: already gone", name)
        return
    report.endpoint_created_at = described["CreationTime"]
    config = _tolerating_absent(lambda: sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"]))
    if config:
        variants = config["ProductionVariants"]
        report.endpoint_instance_type = variants[0].get("InstanceType")
        report.endpoint_instance_count = sum(v.get("InitialInstanceCount", 1) for v in variants)
    if described["EndpointStatus"] != "Deleting":
        log.info("Deleting endpoint %s (was %s)", name, described["EndpointStatus"])
        _tolerating_absent(lambda: sm.delete_endpoint(EndpointName=name))
    sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig=wait.waiter_config())
    report.endpoint_deleted_at = datetime.now(UTC)
    report.deleted.append(f"endpoint/{name}")


def teardown_run(sm: Any, base: str, wait: Wait) -> TeardownReport:
    """Stop, delete, then check that nothing of the run `base` (its base name) is left."""
    report = TeardownReport()
    stop_jobs(sm, base, report)
    for endpoint in sorted({base, *run_resources(sm, base)["endpoints"]}):
        delete_endpoint(sm, endpoint, report, wait)
    left = run_resources(sm, base)
    for name in left["endpoint_configs"]:
        if _tolerating_absent(partial(sm.delete_endpoint_config, EndpointConfigName=name)) is not None:
            report.deleted.append(f"endpoint-config/{name}")
    for name in left["models"]:
        if _tolerating_absent(partial(sm.delete_model, ModelName=name)) is not None:
            report.deleted.append(f"model/{name}")
    remaining = {kind: names for kind, names in run_resources(sm, base).items() if names}
    if remaining:
        raise TeardownError(f"still present after teardown of {base}: {remaining}")
    return report
