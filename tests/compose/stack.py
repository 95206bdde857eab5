"""The docker-compose stack as the compose tests drive it: `docker compose` commands, nothing else.

One project name (so a crashed earlier session is cleaned up by the next), free host ports,
and an env file that is deploy/local.env plus test timings, passed the documented way
(BANKML_ENV_FILE).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tools.airflow_home import ROOT
from tools.local_airflow import Login

PROJECT = "bankml-compose-test"
WORKER = "airflow-worker"
WORKERS = 2
LOCAL_ENV = ROOT / "deploy" / "local.env"
# Test timings on top of deploy/local.env: no schedule (the triggered runs go first), a
# killed worker's task is noticed after 60 s instead of 300 s, and retried 5 s later.
TEST_SETTINGS = {
    "BANKML_SCHEDULE": "none",
    "BANKML_RETRY_DELAY_SECONDS": "5",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
}
STANDIN_LABEL = "org.bankml.standin"
USERNAME, PASSWORD = "airflow", "compose-test"


class ComposeError(RuntimeError):
    """A `docker compose` command failed; the message holds its output."""


def docker_problem() -> str | None:
    """Why no Docker engine with Compose v2 can be used here, or None."""
    if shutil.which("docker") is None:
        return "no `docker` on PATH (.ci/docker-setup installs the engine)"
    for command in (["docker", "info"], ["docker", "compose", "version"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


@dataclass
class ComposeStack:
    workdir: Path
    api_port: int
    emulator_port: int
    env_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.env_file = self.workdir / "compose-test.env"
        extra = "".join(f"{key}={value}\n" for key, value in TEST_SETTINGS.items())
        self.env_file.write_text(LOCAL_ENV.read_text() + "\n# compose tests\n" + extra)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def login(self) -> Login:
        return Login(self.url, USERNAME, PASSWORD)

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": PROJECT,
            "BANKML_ENV_FILE": str(self.env_file),
            "AIRFLOW_API_PORT": str(self.api_port),
            "BANKML_EMULATOR_PORT": str(self.emulator_port),
            "_AIRFLOW_WWW_USER_USERNAME": self.login.username,
            "_AIRFLOW_WWW_USER_PASSWORD": self.login.password,
        }
        done = subprocess.run(
            ["docker", "compose", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            raise ComposeError(
                f"`docker compose {' '.join(args)}` exited {done.returncode}:\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        return done

    def up(self, timeout: int = 900) -> None:
        """Build the image, start everything with two workers, wait until every service is healthy."""
        self.compose("build", timeout=timeout)
        self.compose(
            "up",
            "--detach",
            "--wait",
            "--wait-timeout",
            str(timeout),
            "--scale",
            f"{WORKER}={WORKERS}",
            timeout=timeout + 60,
        )

    def down(self) -> None:
        self.compose("down", "--volumes", "--remove-orphans", timeout=300)

    def containers(self, service: str | None = None, all_states: bool = False) -> list[dict]:
        """`docker compose ps` rows (Service, Name, ID, State, Health, ...)."""
        args = ["ps", "--format", "json", *(["--all"] if all_states else []), *([service] if service else [])]
        out = self.compose(*args).stdout.strip()
        if not out:
            return []
        # Compose 2.21+ prints one JSON object a line; older versions one JSON array.
        return json.loads(out) if out.startswith("[") else [json.loads(line) for line in out.splitlines()]

    def hostnames(self, service: str) -> dict[str, str]:
        """Container hostname (what Airflow records as a task instance's hostname) -> container name."""
        rows = self.containers(service)
        if not rows:
            return {}
        names = [row["Name"] for row in rows]
        out = docker("inspect", "--format", "{{.Config.Hostname}}", *names)
        return dict(zip(out.split(), names))

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--timestamps", timeout=120, check=False).stdout


def docker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise ComposeError(f"`docker {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout
