"""SageMaker's NameContains listings, paged in one place.

Every resource and job of a run carries the run's base name (RunPlan.base_name) at the start
of its name, so the teardown, the cleanup check, the cost and the janitor all find them by
listing with NameContains; SageMaker matches anywhere in the name, so a run's own are those
that start with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# list operation -> (the page's key of the summaries, the summary's name field)
LISTINGS: dict[str, tuple[str, str]] = {
    "list_endpoints": ("Endpoints", "EndpointName"),
    "list_endpoint_configs": ("EndpointConfigs", "EndpointConfigName"),
    "list_models": ("Models", "ModelName"),
    "list_training_jobs": ("TrainingJobSummaries", "TrainingJobName"),
    "list_transform_jobs": ("TransformJobSummaries", "TransformJobName"),
}


def name_field(operation: str) -> str:
    return LISTINGS[operation][1]


def named(sm: Any, operation: str, contains: str) -> Iterator[dict[str, Any]]:
    """The summaries whose name contains `contains`, over every page."""
    key = LISTINGS[operation][0]
    for page in sm.get_paginator(operation).paginate(NameContains=contains):
        yield from page[key]


def of_run(sm: Any, operation: str, base: str) -> Iterator[dict[str, Any]]:
    """The summaries of the run whose base name is `base`."""
    field = name_field(operation)
    return (item for item in named(sm, operation, base) if item[field].startswith(base))


def run_training_jobs(sm: Any, base: str) -> list[dict[str, Any]]:
    """The run's training jobs described: only DescribeTrainingJob has the instances and billable time."""
    return [
        sm.describe_training_job(TrainingJobName=job["TrainingJobName"])
        for job in of_run(sm, "list_training_jobs", base)
    ]


def run_transform_jobs(sm: Any, base: str) -> list[dict[str, Any]]:
    """The run's transform jobs described: only DescribeTransformJob has the instances and times."""
    return [
        sm.describe_transform_job(TransformJobName=job["TransformJobName"])
        for job in of_run(sm, "list_transform_jobs", base)
    ]
