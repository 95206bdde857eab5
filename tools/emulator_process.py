"""Start and stop the SageMaker emulator as a child process, like `make emulator` does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.local_setup import emulator_args

ROOT = Path(__file__).resolve().parents[1]


# A deadline, not a speed check: a start is ~4 s of CPU, but at load 20 (a full suite beside other
# work on 2 cores) it took over 60 s.
START_SECONDS = 180.0


def start_failure(exit_code: int | None, timeout: float) -> str:
    """Why a start failed: the process exited by itself, or it was still silent at the deadline."""
    if exit_code is None:
        return f"the emulator did not say it listens within {timeout:.0f} s (stopped)"
    return f"the emulator exited with code {exit_code} while starting"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def is_healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_emulator/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class EmulatorProcess:
    """A running emulator; `url` is what AWS_ENDPOINT_URL / the connection's endpoint_url gets."""

    url: str
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    _log: object = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        log_path: Path,
        port: int | None = None,
        timeout: float = START_SECONDS,
        detached: bool = False,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> EmulatorProcess:
        """`detached` puts it in its own session, so it outlives the caller (`make up`)."""
        return cls.launch(log_path, port, detached, env, args).wait_until_ready(timeout)

    @classmethod
    def launch(
        cls,
        log_path: Path,
        port: int | None = None,
        detached: bool = False,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> EmulatorProcess:
        """Start the process without waiting for it, so its start-up overlaps other work; `env` adds
        settings (SAGEMAKER_EMULATOR_*) to the inherited environment; `args`, when given, replace
        emulator_args() (the pipeline's bucket and role) after --host and --port."""
        port = port or free_port()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")  # owner-only
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sagemaker_emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *(emulator_args() if args is None else args),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            start_new_session=detached,
        )
        return cls(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, _log=log)

    def wait_until_ready(self, timeout: float = 180.0) -> EmulatorProcess:
        """Block until this process says it listens and answers health; stop it on failure."""
        assert self.process is not None and self.log_path is not None
        deadline = time.monotonic() + timeout
        # Ours must say it listens: a health answer alone may come from another emulator on the port.
        while "listening on" not in self.log_path.read_text(errors="replace") or not is_healthy(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                why = start_failure(self.process.poll(), timeout)
                self.stop()
                tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])
                raise RuntimeError(f"{why}; last lines of {self.log_path}:\n{tail}")
            time.sleep(0.1)
        return self

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        """Call the emulator's /_emulator control API (faults, delays, reset)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else {}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
