"""Runs one training job as one child process per instance (hosts algo-1..N) and follows it to the end.

Each child (training_runner.py, forked by runner_pool.py) reports progress as JSON lines on a dedicated pipe; this side
records secondary statuses and metrics, enforces StoppingCondition.MaxRuntimeInSeconds and
StopTrainingJob (SIGTERM, then SIGKILL, to every host), and turns the exits into
Completed/Failed/Stopped. The first host that fails fails the job and ends the others, so a dead
host never leaves its peers waiting on it. A crash only ever fails its own job. A supervisor sees
the backend only through its `TrainingHost`.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..scratch import inside
from ..settings import Settings
from ..xgboost_container.errors import UnsupportedImageError, is_peer_failure
from ..xgboost_container.versions import resolve_image
from .errors import internal_failure
from .resources import TrainingJob
from .runner_pool import HostProcess, Runner

FAILURE_REASON_LIMIT = 1024
STOP_GRACE_SECONDS = 5.0
SETTLE_SECONDS = 2.0
"""After a host fails, how long its peers get to fail on their own (and the failing one to write its reason)."""

FINAL_MESSAGES = {
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job runtime exceeded MaxRuntimeInSeconds provided",
}


class ChildProcess(Protocol):
    """What ending a child needs; subprocess.Popen and runner_pool.HostProcess have it."""

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


def end_process(process: ChildProcess) -> None:
    """Like the platform stops a container: SIGTERM, then SIGKILL after a grace period."""
    end_processes([process])


def end_processes(processes: Sequence[ChildProcess]) -> None:
    """SIGTERM every one still running, SIGKILL those still there after one shared grace period."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_loopback_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 right now, for one job's trackers (jobs share the machine's loopback)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class TrainingHost:
    """What a supervisor may use of the backend that owns its job."""

    lock: AbstractContextManager[Any]  # guards the job's fields
    take_runner: Callable[[Path, Path], Runner]  # a training child for (spec file, output log)
    is_current: Callable[[TrainingJob], bool]  # False once a reset has forgotten the job


class JobSupervisor:
    def __init__(
        self, host: TrainingHost, settings: Settings, workdir: Path, job: TrainingJob, injected_failure: str | None
    ) -> None:
        self.host = host
        self.settings = settings
        self.job = job
        self.injected_failure = injected_failure
        self.jobdir = inside(workdir / "training", job.name)
        self._stop = threading.Event()
        self._stop_reason: str | None = None  # "Stopped" or "MaxRuntimeExceeded"
        count = int(job.request["ResourceConfig"]["InstanceCount"])
        self.hosts = [f"algo-{number}" for number in range(1, count + 1)]
        self._processes: list[HostProcess] = []
        self._reported: dict[str, set[str]] = {}  # secondary status -> hosts that reported it
        self._thread = threading.Thread(target=self._run, name=f"training-{job.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, reason: str = "Stopped") -> None:
        self._stop_reason = reason
        self._stop.set()

    def kill(self) -> None:
        """Forget the job (reset/shutdown): end the children at once and wait for them."""
        self.stop()
        for process in list(self._processes):
            if process.poll() is None:
                process.kill()
        self._thread.join(timeout=10)

    # ---- the supervising thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._supervise()
        except Exception as error:  # an emulator bug must not leave the job InProgress forever
            self._finish("Failed", "Failed", internal_failure(error))
        finally:
            shutil.rmtree(self.jobdir, ignore_errors=True)

    def _supervise(self) -> None:
        delays = self.settings.delays
        if self._stop.wait(delays.step_seconds):
            self._finish("Stopped", self._stop_reason or "Stopped")
            return
        if self.injected_failure is not None:
            self._finish("Failed", "Failed", self.injected_failure)
            return
        image = self.job.request["AlgorithmSpecification"]["TrainingImage"]
        try:
            resolve_image(image)
        except UnsupportedImageError as error:
            self._finish("Failed", "Failed", f"ClientError: {error}")
            return
        failed = self._run_hosts()
        if self._stop_reason:
            self._finish("Stopped", self._stop_reason)
        elif failed is None:
            self._finish("Completed", "Completed")
        else:
            self._finish("Failed", "Failed", self._failure_reason(*failed))

    def _run_hosts(self) -> tuple[str, int] | None:
        """Start every host and wait for all; the failed host and its exit code, or None."""
        settings = self.settings
        ports = free_loopback_ports(2) if len(self.hosts) > 1 else [0, 0]
        # Each instance gets its share of this machine's CPUs: xgboost's threads of several hosts on the
        # same cores would otherwise spin against each other (20x slower rounds on 2 cores).
        threads = max(1, (os.cpu_count() or 1) // len(self.hosts)) if len(self.hosts) > 1 else 0
        exits: queue.Queue[int] = queue.Queue()
        readers = []
        for index, host in enumerate(self.hosts):
            hostdir = self.jobdir / host
            opt_ml = hostdir / "opt_ml"
            opt_ml.mkdir(parents=True)
            spec = {
                "job_name": self.job.name,
                "request": self.job.request,
                "model_artifacts": self.job.model_artifacts,
                "opt_ml": str(opt_ml),
                "current_host": host,
                "hosts": self.hosts,
                "tracker_ports": ports,
                "threads": threads,
                "endpoint_url": settings.internal_url,
                "region": settings.region,
                "step_seconds": settings.delays.step_seconds,
                "training_seconds": settings.delays.training_seconds,
            }
            spec_path = hostdir / "job.json"
            spec_path.write_text(json.dumps(spec))
            runner = self.host.take_runner(spec_path, hostdir / "output.log")
            self._processes.append(runner.process)
            reader = threading.Thread(target=self._read_events, args=(host, runner.events_fd), daemon=True)
            reader.start()
            readers.append(reader)
            threading.Thread(target=_report_exit, args=(runner.process, index, exits), daemon=True).start()
        failed = self._wait(exits)
        end_processes(self._processes)
        for reader in readers:
            reader.join(timeout=5)
        return failed

    def _wait(self, exits: queue.Queue[int]) -> tuple[str, int] | None:
        """Until every host has exited, one has failed, or the job is stopped or out of time."""
        deadline = time.monotonic() + self.job.request["StoppingCondition"].get("MaxRuntimeInSeconds", 86400)
        failures: list[int] = []
        remaining = len(self._processes)
        while remaining and not self._stop.is_set():
            if time.monotonic() > deadline:
                self.stop("MaxRuntimeExceeded")
                with self.host.lock:
                    self.job.transition("Stopping", "Stopping the training job", status="Stopping")
                return None
            try:
                index = exits.get(timeout=0.05)
            except queue.Empty:
                continue
            remaining -= 1
            if self._processes[index].returncode != 0:
                failures.append(index)
                break
        if failures:
            settle = time.monotonic() + SETTLE_SECONDS
            while remaining and time.monotonic() < settle:
                try:
                    index = exits.get(timeout=max(0.0, settle - time.monotonic()))
                except queue.Empty:
                    break
                remaining -= 1
                if self._processes[index].returncode != 0:
                    failures.append(index)
            # A host that lost a peer fails too; the job's reason is the first failure that is not that.
            index = next((i for i in failures if not is_peer_failure(self._failure_file(i))), failures[0])
            return self.hosts[index], self._processes[index].returncode
        return None

    def _read_events(self, host: str, read_fd: int) -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8") as events:
            for line in events:
                self._apply(host, json.loads(line))

    def _apply(self, host: str, event: dict[str, Any]) -> None:
        """Secondary statuses as the service shows them: Downloading once any host downloads, Training
        once all have their data, Uploading once the master uploads; metrics from any host's log."""
        with self.host.lock:
            if self.job.status != "InProgress":
                return
            if "status" in event:
                status = event["status"]
                reported = self._reported.setdefault(status, set())
                reported.add(host)
                if len(reported) == (len(self.hosts) if status == "Training" else 1):
                    self.job.transition(status, event["message"])
                    if status == "Downloading":
                        self.job.training_start_time = self.job.last_modified_time
            if "metrics" in event:
                now = time.time()
                self.job.metrics.update({name: (value, now) for name, value in event["metrics"].items()})
                self.job.last_modified_time = now

    def _failure_file(self, index: int) -> str:
        failure_file = self.jobdir / self.hosts[index] / "opt_ml" / "output" / "failure"
        return failure_file.read_text(errors="replace").strip() if failure_file.is_file() else ""

    def _failure_reason(self, host: str, returncode: int) -> str:
        written = self._failure_file(self.hosts.index(host))
        if written:
            return written
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
        process = "the training process" if len(self.hosts) == 1 else f"the training process of host {host}"
        tail = (self.jobdir / host / "output.log").read_text(errors="replace").strip().splitlines()[-3:]
        details = (": " + " | ".join(tail)) if tail else ""
        return f"AlgorithmError: {process} {how} without writing a failure reason, exit code: {returncode}{details}"

    def _finish(self, status: str, secondary: str, reason: str | None = None) -> None:
        with self.host.lock:
            if not self.host.is_current(self.job):
                return  # forgotten by a reset
            if reason:
                self.job.failure_reason = reason[:FAILURE_REASON_LIMIT]
            self.job.transition(secondary, FINAL_MESSAGES[secondary], status=status)


def _report_exit(process: HostProcess, index: int, exits: queue.Queue[int]) -> None:
    process.wait()
    exits.put(index)
