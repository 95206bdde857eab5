"""Training "containers" started ahead of time, so a job does not wait for xgboost to import.

A cold training child spends ~3 s of CPU importing xgboost (which pulls in pandas and
scikit-learn) before it reads a byte of data: longer than training the tutorial's model.
The pool keeps one child started that has done its imports and waits on stdin for a job's
spec and output paths; a job takes it (or starts a cold one if it is not ready or has died), and the
pool starts the next. Each child still runs exactly one job, so jobs stay isolated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

RUNNER = "sagemaker_emulator.sagemaker.training_runner"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Runner:
    """A training child and the read end of its events pipe."""

    process: subprocess.Popen[bytes]
    events_fd: int


def _environment() -> dict[str, str]:
    """The child imports this package from where the parent did: it runs in the job's folder, so
    an emulator that is not installed (the compose image runs its copy from the working directory,
    /opt/bankml) would otherwise not be found. Redundant, not harmful, in an installed virtualenv."""
    path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _spawn(arguments: list[str], **popen: object) -> Runner:
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", RUNNER, *arguments, str(write_fd)], pass_fds=(write_fd,), env=_environment(), **popen
        )  # type: ignore[call-overload]
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return Runner(process, read_fd)


class RunnerPool:
    """At most one idle, pre-imported training child; `take` hands it a job."""

    def __init__(self, workdir: Path, warm: bool = True) -> None:
        self.workdir = workdir
        self.warm = warm
        self._lock = threading.Lock()
        self._idle: Runner | None = None
        self._closed = False
        self._refill()

    def take(self, spec_path: Path, output_path: Path) -> Runner:
        """A child running the job in spec_path, its output in output_path, cwd its folder."""
        with self._lock:
            idle, self._idle = self._idle, None
        runner = self._hand_over(idle, spec_path, output_path) if idle is not None else None
        if runner is None:
            with open(output_path, "wb") as output:
                runner = _spawn(
                    [str(spec_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=spec_path.parent,
                )
        self._refill()
        return runner

    def close(self) -> None:
        """Shutdown: end the idle child (it exits on EOF; kill it if it does not)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, None
        if idle is not None:
            _discard(idle)

    def _hand_over(self, idle: Runner, spec_path: Path, output_path: Path) -> Runner | None:
        if idle.process.poll() is not None or idle.process.stdin is None:
            _discard(idle)
            return None
        try:
            idle.process.stdin.write(f"{spec_path}\n{output_path}\n".encode())
            idle.process.stdin.close()
        except OSError:  # it died between the check and the write
            _discard(idle)
            return None
        return idle

    def _refill(self) -> None:
        if not self.warm:
            return
        with self._lock:
            if self._closed or self._idle is not None:
                return
            self._idle = _spawn(
                ["--warm"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.workdir,
            )


def _discard(runner: Runner) -> None:
    if runner.process.stdin is not None and not runner.process.stdin.closed:
        try:
            runner.process.stdin.close()
        except OSError:
            pass
    try:
        runner.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        runner.process.kill()
        runner.process.wait()
    os.close(runner.events_fd)
