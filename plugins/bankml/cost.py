"""What a run cost: training billable seconds, the endpoint's lifetime or the transform jobs' time, on demand.

The prices are a small dated table, not a live lookup: the pipeline must not need the
Pricing API (or its permissions) to tell the user what a run roughly cost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from bankml.run_plan import RunPlan

log = logging.getLogger(__name__)

PRICES_AS_OF = "2025-06"
PRICES_REGION = "us-east-1"
# USD per instance-hour, SageMaker on-demand, us-east-1 (AWS SageMaker pricing page).
TRAINING_USD_PER_HOUR: dict[str, float] = {
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m4.xlarge": 0.24,
    "ml.c5.xlarge": 0.204,
}
# Real-time endpoints and Batch Transform jobs are priced alike per instance-hour.
HOSTING_USD_PER_HOUR: dict[str, float] = {
    "ml.t2.medium": 0.056,
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m4.xlarge": 0.24,
    "ml.c5.large": 0.102,
    "ml.c5.xlarge": 0.204,
}


@dataclass(frozen=True)
class CostEstimate:
    training_instance_type: str | None
    training_billable_seconds: float
    training_usd: float | None
    endpoint_instance_type: str | None
    endpoint_instance_count: int
    endpoint_lifetime_seconds: float
    endpoint_usd: float | None
    transform_instance_type: str | None
    transform_instance_count: int
    transform_seconds: float
    transform_usd: float | None
    total_usd: float | None
    prices_as_of: str = PRICES_AS_OF
    prices_region: str = PRICES_REGION

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def summary(self) -> str:
        def usd(value: float | None) -> str:
            return "unknown (no price for this instance type)" if value is None else f"${value:.4f}"

        return (
            f"Estimated cost: training {self.training_billable_seconds:.0f} s on "
            f"{self.training_instance_type} = {usd(self.training_usd)}; endpoint "
            f"{self.endpoint_lifetime_seconds:.0f} s on {self.endpoint_instance_count} x "
            f"{self.endpoint_instance_type} = {usd(self.endpoint_usd)}; transform {self.transform_seconds:.0f} s on "
            f"{self.transform_instance_count} x {self.transform_instance_type} = {usd(self.transform_usd)}; "
            f"total {usd(self.total_usd)} "
            f"(on-demand {self.prices_region} prices as of {self.prices_as_of})"
        )


def _price(table: dict[str, float], instance_type: str | None, hours: float, count: int) -> float | None:
    if hours == 0:
        return 0.0
    if instance_type not in table:
        return None
    return round(table[instance_type] * hours * count, 6)


def estimate_cost(
    *,
    training_instance_type: str | None,
    training_billable_seconds: float,
    training_instance_count: int = 1,
    endpoint_instance_type: str | None,
    endpoint_instance_count: int,
    endpoint_lifetime_seconds: float,
    transform_instance_type: str | None = None,
    transform_instance_count: int = 0,
    transform_seconds: float = 0.0,
) -> CostEstimate:
    """BillableTimeInSeconds is wall-clock time: training, hosting and transform all bill per instance."""
    training = _price(
        TRAINING_USD_PER_HOUR,
        training_instance_type,
        training_billable_seconds / 3600,
        training_instance_count,
    )
    hosting = _price(
        HOSTING_USD_PER_HOUR,
        endpoint_instance_type,
        endpoint_lifetime_seconds / 3600,
        endpoint_instance_count,
    )
    transform = _price(
        HOSTING_USD_PER_HOUR,
        transform_instance_type,
        transform_seconds / 3600,
        transform_instance_count,
    )
    parts = (training, hosting, transform)
    total = None if None in parts else round(sum(parts), 6)  # type: ignore[arg-type]
    return CostEstimate(
        training_instance_type=training_instance_type,
        training_billable_seconds=training_billable_seconds,
        training_usd=training,
        endpoint_instance_type=endpoint_instance_type,
        endpoint_instance_count=endpoint_instance_count,
        endpoint_lifetime_seconds=endpoint_lifetime_seconds,
        endpoint_usd=hosting,
        transform_instance_type=transform_instance_type,
        transform_instance_count=transform_instance_count,
        transform_seconds=transform_seconds,
        transform_usd=transform,
        total_usd=total,
    )


@dataclass(frozen=True)
class Usage:
    """What a run's training jobs, transform jobs or endpoint ran on, and for how long."""

    instance_type: str | None
    instance_count: int
    seconds: float


def training_usage(jobs: list[dict[str, Any]]) -> Usage:
    """Billable seconds summed over the described training jobs: every try bills."""
    instance_type, count, seconds = None, 1, 0.0
    for job in jobs:
        instance_type = job["ResourceConfig"]["InstanceType"]
        count = job["ResourceConfig"]["InstanceCount"]
        seconds += job.get("BillableTimeInSeconds", 0)
    return Usage(instance_type, count, seconds)


def transform_usage(jobs: list[dict[str, Any]], now: datetime) -> Usage:
    """Start to end of each described transform job, or to `now` for one still stopping (it still bills)."""
    instance_type, count, seconds = None, 0, 0.0
    for job in jobs:
        instance_type = job["TransformResources"]["InstanceType"]
        count = job["TransformResources"]["InstanceCount"]
        if "TransformStartTime" in job:
            seconds += ((job.get("TransformEndTime") or now) - job["TransformStartTime"]).total_seconds()
    return Usage(instance_type, count, seconds)


def run_cost(*, training: Usage, endpoint: Usage, transform: Usage) -> CostEstimate:
    return estimate_cost(
        training_instance_type=training.instance_type,
        training_billable_seconds=training.seconds,
        training_instance_count=training.instance_count,
        endpoint_instance_type=endpoint.instance_type,
        endpoint_instance_count=endpoint.instance_count,
        endpoint_lifetime_seconds=endpoint.seconds,
        transform_instance_type=transform.instance_type,
        transform_instance_count=transform.instance_count,
        transform_seconds=transform.seconds,
    )


def save_cost(s3: Any, run: RunPlan, cost: CostEstimate) -> None:
    """cost.json always; also into metrics.json, so one document tells a run's quality and price,
    unless the evaluation never wrote it."""
    cost_doc = cost.to_dict()
    try:
        metrics_key = run.key("evaluation", "metrics.json")
        document = json.loads(s3.get_object(Bucket=run.bucket, Key=metrics_key)["Body"].read())
        document["cost"] = cost_doc
        if cost.endpoint_lifetime_seconds:
            log.info(
                "Endpoint lived %.1f s; evaluation needed %.1f s of it",
                cost.endpoint_lifetime_seconds,
                document.get("evaluation_seconds", 0.0),
            )
        s3.put_object(
            Bucket=run.bucket,
            Key=metrics_key,
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
        )
    except ClientError as err:
        log.info("No metrics.json to add the cost to (%s): evaluation did not finish", err.response["Error"]["Code"])
    s3.put_object(
        Bucket=run.bucket,
        Key=run.key("evaluation", "cost.json"),
        Body=json.dumps(cost_doc, indent=2).encode(),
        ContentType="application/json",
    )
