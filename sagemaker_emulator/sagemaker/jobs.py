"""What transform and processing jobs share: their state, their run, the table they live in, and its
operations (Create, Describe, List and Stop<Noun>).

Both run on a thread of their own until Completed, Failed or Stopped; Stop* sets a job's stop event
and the job ends at its next check. The backend's lock guards every table. Tables and runs see the
backend only through their `JobHost`. A kind of job declares only what differs: its record (`noun`,
`kind` and the members it adds to Describe and Summary), its request check and its run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from ..settings import Settings
from .errors import internal_failure, resource_in_use, validation_error
from .job_supervisor import FAILURE_REASON_LIMIT
from .listing import modified_matches, page, status_matches
from .resources import Model, Record


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
class BackgroundJob(Record):
    """`noun` names the job's members and operations ("TransformJob"); `kind` is its ARN's ("transform-job")."""

    noun: ClassVar[str] = ""
    kind: ClassVar[str] = ""

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

    def describe(self) -> dict[str, Any]:
        """The members every Describe<Noun> answer starts with; a kind adds its own after them."""
        return {
            **self.shown_request(),
            f"{self.noun}Arn": self.arn,
            f"{self.noun}Status": self.status,
            "CreationTime": self.creation_time,
        }

    def summary(self) -> dict[str, Any]:
        """The members every <Noun>Summary starts with; a kind adds its own after them."""
        return {
            f"{self.noun}Name": self.name,
            f"{self.noun}Arn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            f"{self.noun}Status": self.status,
        }


J = TypeVar("J", bound=BackgroundJob)


class JobFailure(Exception):
    """Why a job failed; str() is its FailureReason."""


class JobRun(Generic[J]):
    """One job's work, on its own thread (`run`); every way it ends sets a final status.

    A kind does its work in `_run` (returning the final status, or raising a JobFailure) and tidies
    up in `_clean_up`. `is_current` is False once a reset has forgotten the job. With `stop_wins`, a
    job told to stop ends Stopped whatever its work ended with.
    """

    stop_wins = False

    def __init__(self, host: JobHost, job: J, stop: threading.Event, is_current: Callable[[J], bool]) -> None:
        self.host = host
        self.settings = host.settings
        self.is_current = is_current
        self.job = job
        self.request = job.request
        self.stop = stop

    def run(self) -> None:
        try:
            outcome, reason = self._run(), None
        except JobFailure as failure:
            outcome, reason = "Failed", str(failure)
        except Exception as error:  # an emulator bug must not leave the job InProgress forever
            noun = self.job.kind.replace("-", " ")
            logging.getLogger(type(self).__module__).exception("%s %s crashed", noun, self.job.name)
            outcome, reason = "Failed", internal_failure(error)
        finally:
            self._clean_up()
        with self.host.lock:
            if not self.is_current(self.job):
                return  # forgotten by a reset
            if self.stop_wins and self.stop.is_set():
                outcome, reason = "Stopped", None
            self.job.failure_reason = reason[:FAILURE_REASON_LIMIT] if reason else None
            self.job.set_status(outcome)

    def kill(self) -> None:
        """Forget the job (reset/shutdown): tell it to stop."""
        self.stop.set()

    def _run(self) -> str:
        raise NotImplementedError

    def _clean_up(self) -> None:
        """What must happen however the work ended, before the final status is set."""


class JobTable(Generic[J]):
    """The jobs of one kind (`job_type`), their stop events and runs, and the service's operations on them.

    A kind declares `job_type`, `_checked` (the request as its job keeps it) and `_admit` (its run).
    """

    job_type: type[J]

    def __init__(self, host: JobHost) -> None:
        self.host = host
        self.jobs: dict[str, J] = {}
        self.stops: dict[str, threading.Event] = {}
        self.runs: dict[str, JobRun[J]] = {}
        self.noun, self.kind = self.job_type.noun, self.job_type.kind
        self.name_key = f"{self.noun}Name"

    def operations(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        """The operations on this kind by their wire names (X-Amz-Target)."""
        return {
            f"Create{self.noun}": self.create,
            f"Describe{self.noun}": self.describe,
            f"List{self.noun}s": self.list,
            f"Stop{self.noun}": self.stop,
        }

    def arns(self) -> list[str]:
        return [job.arn for job in self.jobs.values()]

    def forget(self) -> None:
        """Drop every job, telling running ones to stop (caller holds the lock)."""
        for stop in self.stops.values():
            stop.set()
        self.jobs.clear()
        self.stops.clear()
        self.runs.clear()

    def reset(self) -> list[JobRun[J]]:
        """Forget every job (caller holds the lock); returns their runs, to kill outside it."""
        runs = list(self.runs.values())
        self.forget()
        return runs

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

    def _checked(self, params: dict[str, Any]) -> dict[str, Any]:
        """The request as the job keeps it; what the emulator cannot run is a ValidationException."""
        return params

    def _admit(self, job: J) -> Callable[[threading.Event], JobRun[J]]:
        """How to build the run of `job` from its stop event (caller holds the lock).

        Raising here refuses the job before it takes its name."""
        raise NotImplementedError

    def create(self, params: dict[str, Any]) -> dict[str, Any]:
        request = self._checked(params)
        name = params[self.name_key]
        arn = self.host.arn(self.kind, name)
        with self.host.lock:
            job = self.job_type(name=name, arn=arn, request=request, creation_time=time.time())
            start = self._admit(job)
            run = self.runs[name] = start(self.add(job, params.get("Tags")))
        threading.Thread(target=run.run, name=f"{self.kind.removesuffix('-job')}-{name}", daemon=True).start()
        return {f"{self.noun}Arn": job.arn}

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.host.lock:
            return self.get(params[self.name_key]).describe()

    def stop(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.host.lock:
            job = self.get(params[self.name_key])
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
            return page(jobs, params, f"{self.noun}Summaries")
