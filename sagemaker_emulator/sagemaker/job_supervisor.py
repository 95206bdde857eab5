"""Runs one training job in its own child process (its "container") and follows it to the end.

The child (training_runner.py) reports progress as JSON lines on a dedicated pipe; this side
records secondary statuses and metrics, enforces StoppingCondition.MaxRuntimeInSeconds and
StopTrainingJob (SIGTERM, then SIGKILL), and turns the exit into Completed/Failed/Stopped.
A crash of the child only ever fails its own job. A supervisor sees the backend only through
its `TrainingHost`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scratch import inside
from ..settings import Settings
from ..xgboost_container.errors import UnsupportedImageError
from ..xgboost_container.versions import resolve_image
from .errors import internal_failure
from .resources import TrainingJob
from .runner_pool import Runner

FAILURE_REASON_LIMIT = 1024
STOP_GRACE_SECONDS = 5.0

FINAL_MESSAGES = {
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job runtime exceeded MaxRuntimeInSeconds provided",
}


def end_process(process: subprocess.Popen[bytes]) -> None:
    """Like the platform stops a container: SIGTERM, then SIGKILL after a grace period."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name=f"training-{job.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, reason: str = "Stopped") -> None:
        self._stop_reason = reason
        self._stop.set()

    def kill(self) -> None:
        """Forget the job (reset/shutdown): end the child at once and wait for it."""
        self.stop()
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
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
        returncode = self._run_child()
        if self._stop_reason:
            self._finish("Stopped", self._stop_reason)
        elif returncode == 0:
            self._finish("Completed", "Completed")
        else:
            self._finish("Failed", "Failed", self._failure_reason(returncode))

    def _run_child(self) -> int:
        settings = self.settings
        opt_ml = self.jobdir / "opt_ml"
        opt_ml.mkdir(parents=True)
        spec = {
            "job_name": self.job.name,
            "request": self.job.request,
            "model_artifacts": self.job.model_artifacts,
            "opt_ml": str(opt_ml),
            "endpoint_url": settings.internal_url,
            "region": settings.region,
            "step_seconds": settings.delays.step_seconds,
            "training_seconds": settings.delays.training_seconds,
        }
        spec_path = self.jobdir / "job.json"
        spec_path.write_text(json.dumps(spec))
        runner = self.host.take_runner(spec_path, self.jobdir / "output.log")
        self._process, read_fd = runner.process, runner.events_fd
        reader = threading.Thread(target=self._read_events, args=(read_fd,), daemon=True)
        reader.start()
        deadline = time.monotonic() + self.job.request["StoppingCondition"].get("MaxRuntimeInSeconds", 86400)
        while self._process.poll() is None:
            if self._stop.wait(0.05):
                break
            if time.monotonic() > deadline:
                self.stop("MaxRuntimeExceeded")
                with self.host.lock:
                    self.job.transition("Stopping", "Stopping the training job", status="Stopping")
                break
        end_process(self._process)
        reader.join(timeout=5)
        return self._process.returncode

    def _read_events(self, read_fd: int) -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8") as events:
            for line in events:
                self._apply(json.loads(line))

    def _apply(self, event: dict[str, Any]) -> None:
        with self.host.lock:
            if self.job.status != "InProgress":
                return
            if "status" in event:
                self.job.transition(event["status"], event["message"])
                if event["status"] == "Downloading":
                    self.job.training_start_time = self.job.last_modified_time
            if "metrics" in event:
                now = time.time()
                self.job.metrics.update({name: (value, now) for name, value in event["metrics"].items()})
                self.job.last_modified_time = now

    def _failure_reason(self, returncode: int) -> str:
        failure_file = self.jobdir / "opt_ml" / "output" / "failure"
        if failure_file.is_file() and failure_file.read_text(errors="replace").strip():
            return failure_file.read_text(errors="replace").strip()
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
        tail = (self.jobdir / "output.log").read_text(errors="replace").strip().splitlines()[-3:]
        details = (": " + " | ".join(tail)) if tail else ""
        return f"AlgorithmError: the training process {how} without writing a failure reason, exit code: {returncode}{details}"

    def _finish(self, status: str, secondary: str, reason: str | None = None) -> None:
        with self.host.lock:
            if not self.host.is_current(self.job):
                return  # forgotten by a reset
            if reason:
                self.job.failure_reason = reason[:FAILURE_REASON_LIMIT]
            self.job.transition(secondary, FINAL_MESSAGES[secondary], status=status)
