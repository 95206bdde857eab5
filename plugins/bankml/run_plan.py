"""One DAG run's resource names, S3 locations and tags, fixed before anything is created.

The plan is a pure function of (dag_id, run_id, run_after), so retries and cleared tasks
reuse the same names, and the teardown can always find what a run created even when the
task that created it failed halfway.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime

PROJECT_TAG = "bankml"
NAME_PREFIX = "bankml"
# SageMaker's pattern for TrainingJobName, EndpointName and EndpointConfigName.
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_NAME_LENGTH = 63
# SageMakerTrainingOperator appends "-<epoch seconds>" to a name already taken (retries).
TIMESTAMP_SUFFIX_LENGTH = 11


@dataclass(frozen=True)
class RunPlan:
    """Everything a run creates is named here; see the module docstring for why."""

    dag_id: str
    run_id: str
    run_key: str
    bucket: str
    prefix: str
    created_at: str

    @property
    def base_name(self) -> str:
        """Shared by every SageMaker resource of the run; unique per run."""
        return f"{NAME_PREFIX}-{self.run_key}"

    @property
    def training_job_name(self) -> str:
        return self.base_name

    @property
    def endpoint_name(self) -> str:
        """One endpoint per run: a retried deploy updates or replaces it, never duplicates it."""
        return self.base_name

    @property
    def transform_job_name(self) -> str:
        """Transform jobs are a namespace of their own; a retry gets "-<epoch>" like training."""
        return self.base_name

    def model_name(self, try_number: int) -> str:
        """Per deploy attempt, so a retried deploy never collides with its own earlier model."""
        return f"{self.base_name}-model-{try_number}"

    def endpoint_config_name(self, try_number: int) -> str:
        return f"{self.base_name}-config-{try_number}"

    @property
    def run_prefix(self) -> str:
        """S3 key prefix of this run: runs never overwrite each other's objects."""
        return f"{self.prefix}/{self.run_key}" if self.prefix else self.run_key

    def key(self, *parts: str) -> str:
        return "/".join([self.run_prefix, *parts])

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"

    def tags(self, created_at: str | None = None) -> list[dict[str, str]]:
        """Tags every created resource carries; the janitor finds orphans by them."""
        return [
            {"Key": "project", "Value": PROJECT_TAG},
            {"Key": "dag_id", "Value": self.dag_id},
            {"Key": "run_id", "Value": self.run_id},
            {"Key": "created_at", "Value": created_at or self.created_at},
        ]

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> RunPlan:
        return cls(**data)


def run_key(dag_id: str, run_id: str, run_after: datetime) -> str:
    """Readable and unique: the run's date, then a hash of (dag_id, run_id)."""
    digest = hashlib.sha256(f"{dag_id}\n{run_id}".encode()).hexdigest()[:8]
    return f"{run_after:%Y%m%d-%H%M%S}-{digest}"


def plan_run(
    *, dag_id: str, run_id: str, run_after: datetime, bucket: str, prefix: str, created_at: datetime
) -> RunPlan:
    """Build and check the plan; raises ValueError before anything exists if a name is invalid."""
    plan = RunPlan(
        dag_id=dag_id,
        run_id=run_id,
        run_key=run_key(dag_id, run_id, run_after),
        bucket=bucket,
        prefix=prefix.strip("/"),
        created_at=created_at.isoformat(timespec="seconds"),
    )
    longest = [
        plan.training_job_name + "-" + "9" * (TIMESTAMP_SUFFIX_LENGTH - 1),
        plan.model_name(99) + "-" + "9" * (TIMESTAMP_SUFFIX_LENGTH - 1),  # the transform operator renames too
        plan.endpoint_config_name(99),
        plan.endpoint_name,
    ]
    for name in longest:
        if len(name) > MAX_NAME_LENGTH or not SAGEMAKER_NAME.match(name):
            raise ValueError(f"resource name {name!r} is not a valid SageMaker name")
    return plan
