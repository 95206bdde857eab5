"""Find and delete what a run left on SageMaker when its own teardown could not run.

A teardown task cannot help when the worker dies (OOM, a killed pod, a lost VM): the run
later fails as a zombie, or hangs. Every resource this project creates carries the tags
project, dag_id, run_id and created_at; the janitor deletes a run's resources when that run
is no longer running, or when they are older than a TTL whatever the run's state.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from bankml.run_plan import NAME_PREFIX, PROJECT_TAG
from bankml.teardown import is_absent, teardown_run

log = logging.getLogger(__name__)

ACTIVE_RUN_STATES = frozenset({"queued", "running"})
# Models and endpoint configs are "<base>-model-<try>" / "<base>-config-<try>"; the provider's operators
# rename a taken transform job or model "<name>-<epoch seconds>".
TRY_SUFFIX = re.compile(r"-(model|config)-\d+(-\d{10})?$|-\d{10}$")
LISTINGS = (
    ("list_endpoints", "Endpoints", "EndpointName", "EndpointArn"),
    ("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"),
    ("list_models", "Models", "ModelName", "ModelArn"),
    ("list_transform_jobs", "TransformJobSummaries", "TransformJobName", "TransformJobArn"),  # a running one bills
)


@dataclass(frozen=True)
class Leftover:
    """One run's resources, found by their base name and identified by their tags."""

    base_name: str
    dag_id: str
    run_id: str
    created_at: datetime
    reason: str | None  # why it is to be deleted; None when its run still owns it


def _tagged(sm: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """(base name, tags) of every resource that carries this project's tag."""
    for operation, key, name_field, arn_field in LISTINGS:
        for page in sm.get_paginator(operation).paginate(NameContains=f"{NAME_PREFIX}-"):
            for item in page[key]:
                try:
                    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=item[arn_field])["Tags"]}
                except ClientError as err:
                    if is_absent(err):  # deleted while we looked
                        continue
                    raise
                if tags.get("project") == PROJECT_TAG and {"dag_id", "run_id", "created_at"} <= tags.keys():
                    yield TRY_SUFFIX.sub("", item[name_field]), tags


def find_leftovers(
    sm: Any, *, run_state: Callable[[str, str], str | None], now: datetime, ttl: timedelta
) -> list[Leftover]:
    """Group the project's resources by run and decide, per run, whether they must go."""
    runs: dict[str, dict[str, str]] = {}
    for base, tags in _tagged(sm):
        earliest = runs.get(base)
        if earliest is None or tags["created_at"] < earliest["created_at"]:
            runs[base] = tags
    leftovers = []
    for base, tags in sorted(runs.items()):
        created = datetime.fromisoformat(tags["created_at"])
        state = run_state(tags["dag_id"], tags["run_id"])
        if state not in ACTIVE_RUN_STATES:
            reason = f"its run {tags['run_id']} is {state or 'unknown to Airflow'}"
        elif now - created > ttl:
            reason = f"older than the TTL ({now - created} > {ttl}) although its run is {state}"
        else:
            reason = None
        leftovers.append(Leftover(base, tags["dag_id"], tags["run_id"], created, reason))
    return leftovers


def sweep(sm: Any, leftovers: list[Leftover], *, delay: int, max_attempts: int) -> list[str]:
    """Delete the runs that must go; returns what was deleted."""
    deleted: list[str] = []
    for leftover in leftovers:
        if leftover.reason is None:
            log.info("Keeping %s: run %s is still running", leftover.base_name, leftover.run_id)
            continue
        log.warning("Deleting %s: %s", leftover.base_name, leftover.reason)
        report = teardown_run(sm, leftover.base_name, delay=delay, max_attempts=max_attempts)
        deleted.extend(report.deleted)
    return deleted
