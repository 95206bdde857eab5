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
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from bankml import aws
from bankml.listing import name_field, named
from bankml.run_plan import NAME_PREFIX, PROJECT_TAG
from bankml.settings import Settings, Wait
from bankml.teardown import is_absent, teardown_run

log = logging.getLogger(__name__)

ACTIVE_RUN_STATES = frozenset({"queued", "running"})
# Models and endpoint configs are "<base>-model-<try>" / "<base>-config-<try>"; the provider's operators
# rename a taken transform job or model "<name>-<epoch seconds>".
TRY_SUFFIX = re.compile(r"-(model|config)-\d+(-\d{10})?$|-\d{10}$")
# list operation -> the summary's ARN field
TAGGED_LISTINGS = {
    "list_endpoints": "EndpointArn",
    "list_endpoint_configs": "EndpointConfigArn",
    "list_models": "ModelArn",
    "list_transform_jobs": "TransformJobArn",  # a running one bills
}


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
    for operation, arn_field in TAGGED_LISTINGS.items():
        for item in named(sm, operation, f"{NAME_PREFIX}-"):
            try:
                tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=item[arn_field])["Tags"]}
            except ClientError as err:
                if is_absent(err):  # deleted while we looked
                    continue
                raise
            if tags.get("project") == PROJECT_TAG and {"dag_id", "run_id", "created_at"} <= tags.keys():
                yield TRY_SUFFIX.sub("", item[name_field(operation)]), tags


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


def sweep(sm: Any, leftovers: list[Leftover], wait: Wait) -> list[str]:
    """Delete the runs that must go; returns what was deleted."""
    deleted: list[str] = []
    for leftover in leftovers:
        if leftover.reason is None:
            log.info("Keeping %s: run %s is still running", leftover.base_name, leftover.run_id)
            continue
        log.warning("Deleting %s: %s", leftover.base_name, leftover.reason)
        report = teardown_run(sm, leftover.base_name, wait)
        deleted.extend(report.deleted)
    return deleted


def sweep_task(settings: Settings, params: dict[str, Any], ti: Any) -> dict[str, Any]:
    """The bankml_janitor DAG's task body: what it kept and deleted, as its XCom."""

    def run_state(dag_id: str, run_id: str) -> str | None:
        try:
            return ti.get_dagrun_state(dag_id=dag_id, run_id=run_id)
        except Exception as err:  # a deleted run, or one of another Airflow: not ours to keep
            log.info("No state for run %s of %s (%s)", run_id, dag_id, err)
            return None

    sm = aws.sagemaker(settings)
    leftovers = find_leftovers(
        sm, run_state=run_state, now=datetime.now(UTC), ttl=timedelta(minutes=params["ttl_minutes"])
    )
    deleted = sweep(sm, leftovers, settings.endpoint_wait())
    kept = [x.base_name for x in leftovers if x.reason is None]
    log.info("Janitor: deleted %d resources, kept %d runs' resources", len(deleted), len(kept))
    return {"deleted": deleted, "kept": kept}
