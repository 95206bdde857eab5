"""What transform and processing jobs share: their state, the table they live in, and its operations.

Both run on a thread of their own until Completed, Failed or Stopped; Stop* sets a job's stop event
and the job ends at its next check. The backend's lock guards every table. Tables and runs see the
backend only through their `JobHost`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..settings import Settings
from .errors import resource_in_use, validation_error
from .listing import modified_matches, page, status_matches
from .resources import Model


@dataclass(frozen=True)
class JobHost:
    """What transform and processing jobs may use of the backend that owns them."""

    lock: AbstractContextManager[Any]  # guards every job table and job
    settings: Settings
    workdir: Path  # the backend's scratch directory
    arn: Callable[[str, str], str]  # the ARN of (kind, name)
    store_tags: Callable[[str, list[dict[str, str]] | None], None]  # a new resource's Tags, by its ARN
    find_model: Callable[[str], Model]  # a model by name; ValidationException when there is none
    take_transform_failure: Callable[[], str | None]  # the armed transform-job fault, if any


@dataclass
class BackgroundJob:
    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float
    status: str = "InProgress"
    last_modified_time: float = 0.0
    start_time: float | None = None
    end_time: float | None = None
    failure_reason: str | None = None

    def __post_init__(self) -> None:
        self.last_modified_time = self.last_modified_time or self.creation_time

    @property
    def finished(self) -> bool:
        return self.status in ("Completed", "Failed", "Stopped")

    def set_status(self, status: str) -> None:
        now = time.time()
        self.status = status
        self.last_modified_time = now
        if self.finished:
            self.end_time = now

    def started(self) -> None:
        self.start_time = self.last_modified_time = time.time()

    def summary(self) -> dict[str, Any]:
        raise NotImplementedError


J = TypeVar("J", bound=BackgroundJob)


class JobTable(Generic[J]):
    """One kind of job (`kind` as in its ARN and messages, e.g. "transform-job") and its stop events."""

    kind = ""
    summaries_key = ""

    def __init__(self, host: JobHost) -> None:
        self.host = host
        self.jobs: dict[str, J] = {}
        self.stops: dict[str, threading.Event] = {}

    def arns(self) -> list[str]:
        return [job.arn for job in self.jobs.values()]

    def forget(self) -> None:
        """Drop every job, telling running ones to stop (caller holds the lock)."""
        for stop in self.stops.values():
            stop.set()
        self.jobs.clear()
        self.stops.clear()

    def owns(self, job: J) -> bool:
        """Whether `job` is still the table's (not forgotten by a reset); caller holds the lock."""
        return self.jobs.get(job.name) is job

    def add(self, job: J, tags: list[dict[str, str]] | None) -> threading.Event:
        """Store a new job (caller holds the lock); a taken name is ResourceInUse. Returns its stop event."""
        if job.name in self.jobs:
            raise resource_in_use(
                "Job name must be unique within an AWS account and region, and a job with this "
                f"name already exists ({job.arn})"
            )
        self.jobs[job.name] = job
        self.host.store_tags(job.arn, tags)
        stop = self.stops[job.name] = threading.Event()
        return stop

    def get(self, name: str) -> J:
        job = self.jobs.get(name)
        if job is None:
            raise validation_error("Could not find requested job with name " + name)
        return job

    def stop(self, name: str) -> dict[str, Any]:
        with self.host.lock:
            job = self.get(name)
            if job.status == "Stopping":
                return {}
            if job.status != "InProgress":
                noun = self.kind.replace("-", " ")
                raise validation_error(f"The request was rejected because the {noun} is in status {job.status}.")
            job.set_status("Stopping")
            self.stops[job.name].set()
        return {}

    def list(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.host.lock:
            jobs = [
                job
                for job in self.jobs.values()
                if status_matches(job.status, params) and modified_matches(job.last_modified_time, params)
            ]
            return page(jobs, params, self.summaries_key)
