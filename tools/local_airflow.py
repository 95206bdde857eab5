"""`make up` / `make down`: Airflow 3 and the SageMaker emulator on this machine, no Docker.

`up` starts, detached so they outlive `make`, the emulator (or reuses one that answers at
its URL) and Airflow's api-server, scheduler, dag-processor and triggerer, each in its own
process group, with a project-local AIRFLOW_HOME (.airflow/), the project's dags/ and
plugins/ and the `aws_default` connection pointing at the emulator. It waits until
/api/v2/monitor/health reports every component healthy, then prints the URL and the login.
The components are started one by one rather than through `airflow standalone` so that
each has its own log and PID, and `down` can stop exactly what `up` started.

    python -m tools.local_airflow up|down|status [--home DIR] [--port 8080] [--emulator-port 4566]

Environment fallbacks: BANKML_LOCAL_HOME, BANKML_LOCAL_PORT, BANKML_LOCAL_EMULATOR_PORT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tools.airflow_home import AIRFLOW, ROOT, airflow_env
from tools.emulator_process import EmulatorProcess, is_healthy, port_is_free
from tools.local_setup import BUCKET

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
COMMANDS = {"scheduler": ["scheduler", "--skip-serve-logs"], "triggerer": ["triggerer", "--skip-serve-logs"]}
PRIVATE_UMASK = 0o077  # the admin password file, logs and the DB: owner-only
HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
ADMIN = "admin"


class StackError(RuntimeError):
    """`up` could not bring the stack up; the message says what to look at."""


@dataclass(frozen=True)
class Stack:
    """Where one local stack lives and listens; everything it writes stays under `home`."""

    home: Path = ROOT / ".airflow"
    port: int = 8080
    emulator_port: int = 4566

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def run_dir(self) -> Path:
        """PIDs and the components' own logs (task logs stay in Airflow's home/logs)."""
        return self.home / "stack"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "processes.json"

    def log_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    @property
    def password_file(self) -> Path:
        """Where the simple auth manager keeps the generated admin password (its default name)."""
        return self.home / "simple_auth_manager_passwords.json.generated"


@dataclass(frozen=True)
class Login:
    url: str
    username: str
    password: str


def stack_env(stack: Stack, endpoint_url: str, **overrides: str) -> dict[str, str]:
    """The Airflow components' environment; `overrides` (e.g. BANKML_SCHEDULE) win."""
    settings = {
        "AIRFLOW__API__HOST": "127.0.0.1",
        # Nothing listens beyond loopback. Airflow 3.3.2's log servers bind every interface with no host
        # setting (airflow/utils/serve_logs/core.py: host=""), so the scheduler and triggerer run with
        # --skip-serve-logs: with LocalExecutor on one machine the api-server reads task logs from disk.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(stack.port),
        # Task processes reach the execution API through the base URL: it must carry the port.
        "AIRFLOW__API__BASE_URL": stack.url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # A task's supervisor must reach the api-server to start it; Airflow's 5 s default fails the
        # task (no retry counted) when a busy laptop starves the api-server, as seen in CI. 30 s x 5 tries.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "BANKML_BUCKET": BUCKET,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    return airflow_env(stack.home, endpoint_url, **{**settings, **overrides})


# ---- process records -----------------------------------------------------------------------


def _record(pid: int) -> dict[str, float]:
    """PID plus start time: a recycled PID must never make `down` kill a stranger."""
    return {"pid": pid, "create_time": psutil.Process(pid).create_time()}


def _alive(record: dict[str, float]) -> psutil.Process | None:
    try:
        process = psutil.Process(int(record["pid"]))
        if abs(process.create_time() - record["create_time"]) > 0.01:
            return None
        return None if process.status() == psutil.STATUS_ZOMBIE else process
    except psutil.Error:
        return None


def read_state(stack: Stack) -> dict:
    if not stack.state_file.exists():
        return {}
    return json.loads(stack.state_file.read_text())


def _write_state(stack: Stack, state: dict) -> None:
    stack.run_dir.mkdir(parents=True, exist_ok=True)
    stack.state_file.write_text(json.dumps(state, indent=2) + "\n")


def running(stack: Stack) -> dict[str, bool]:
    """Which recorded processes are still alive (the emulator only if this stack started it)."""
    return {name: _alive(record) is not None for name, record in read_state(stack).get("processes", {}).items()}


# ---- start / stop ---------------------------------------------------------------------------


def private_file(path: Path) -> Any:
    """Open `path` for appending, readable by its owner only (0600) even if it existed before."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def make_private_home(stack: Stack) -> None:
    """A 0700 home; secrets an earlier (pre-umask) run left readable become 0600."""
    stack.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for directory in (stack.home, stack.run_dir):
        os.chmod(directory, 0o700)
    for secret in (stack.password_file, *stack.run_dir.glob("*.log")):
        if secret.exists():
            os.chmod(secret, 0o600)


def _spawn(stack: Stack, name: str, command: list[str], env: dict[str, str]) -> int:
    """Detached (own session and process group), output to its log file, files it creates owner-only."""
    with private_file(stack.log_file(name)) as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )
    return process.pid


def health(url: str, timeout: float = 2.0) -> dict[str, str] | None:
    """Each component's status from /api/v2/monitor/health; None while the API does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=timeout) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return {key: (body.get(key) or {}).get("status", "unknown") for key in HEALTH_KEYS}


def login(stack: Stack) -> Login:
    """The admin login the api-server generated into this home's password file."""
    try:
        passwords = json.loads(stack.password_file.read_text())
        return Login(stack.url, ADMIN, passwords[ADMIN])
    except (OSError, ValueError, KeyError) as err:
        raise StackError(f"no admin password in {stack.password_file} ({err}); is the api-server up?") from err


def _tail(path: Path, chars: int = 2500) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def _wait_healthy(stack: Stack, state: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        for name, record in state["processes"].items():
            if _alive(record) is None:
                raise StackError(
                    f"{name} exited while starting; {stack.log_file(name)} ends with:\n{_tail(stack.log_file(name))}"
                )
        status = health(stack.url)
        if status is not None and all(value == "healthy" for value in status.values()) and stack.password_file.exists():
            return
        time.sleep(1.0)
    logs = "\n".join(f"--- {stack.log_file(name)}\n{_tail(stack.log_file(name), 800)}" for name in COMPONENTS)
    raise StackError(f"Airflow was not healthy at {stack.url} within {timeout:.0f} s (last health: {status}).\n{logs}")


def up(stack: Stack, timeout: float = 240.0, **env_overrides: str) -> tuple[Login, bool]:
    """Start the stack unless it already runs; returns the login and whether anything was started."""
    processes = running(stack)
    if processes and all(processes.values()):
        return login(stack), False
    if processes:
        # A half-dead stack (a crash, a reboot): clear it rather than run two of anything.
        down(stack)
    if not port_is_free(stack.port):
        raise StackError(
            f"port {stack.port} on 127.0.0.1 is in use by another program; "
            f"pick another with --port or BANKML_LOCAL_PORT"
        )

    make_private_home(stack)
    for name in (*COMPONENTS, "migrate", "emulator"):
        stack.log_file(name).unlink(missing_ok=True)
    state: dict = {"url": stack.url, "emulator_url": stack.emulator_url, "processes": {}}
    if is_healthy(stack.emulator_url):
        state["emulator"] = "reused"
    else:
        emulator = EmulatorProcess.start(stack.log_file("emulator"), port=stack.emulator_port, detached=True)
        state["emulator"] = "started"
        state["processes"]["emulator"] = _record(emulator.process.pid)
    _write_state(stack, state)

    try:
        env = stack_env(stack, stack.emulator_url, **env_overrides)
        with private_file(stack.log_file("migrate")) as log:
            migrated = subprocess.run(
                [AIRFLOW, "db", "migrate"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                umask=PRIVATE_UMASK,
            )
        if migrated.returncode != 0:
            raise StackError(
                f"`airflow db migrate` failed; {stack.log_file('migrate')}:\n{_tail(stack.log_file('migrate'))}"
            )
        for name in COMPONENTS:
            state["processes"][name] = _record(_spawn(stack, name, [AIRFLOW, *COMMANDS.get(name, [name])], env))
            _write_state(stack, state)
        _wait_healthy(stack, state, timeout)
    except BaseException:
        down(stack)
        raise
    return login(stack), True


def _stop_tree(processes: list[psutil.Process], timeout: float) -> None:
    """SIGTERM each process group and every descendant (task runners get groups of their own)."""
    members: dict[int, psutil.Process] = {}
    for process in processes:
        members[process.pid] = process
        try:
            members.update({child.pid: child for child in process.children(recursive=True)})
        except psutil.Error:
            pass
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except OSError:
            pass
    for member in members.values():
        try:
            member.terminate()
        except psutil.Error:
            pass
    _, survivors = psutil.wait_procs(list(members.values()), timeout=timeout)
    for member in survivors:
        try:
            member.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(survivors, timeout=5)


def down(stack: Stack, timeout: float = 20.0) -> list[str]:
    """Stop what `up` recorded (never a reused emulator); returns the names that were still running."""
    state = read_state(stack)
    alive = {
        name: process for name, record in state.get("processes", {}).items() if (process := _alive(record)) is not None
    }
    _stop_tree(list(alive.values()), timeout)
    stack.state_file.unlink(missing_ok=True)
    return sorted(alive)


# ---- command line ---------------------------------------------------------------------------


def _stack_from(args: argparse.Namespace) -> Stack:
    return Stack(home=args.home.resolve(), port=args.port, emulator_port=args.emulator_port)


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m tools.local_airflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(env.get("BANKML_LOCAL_HOME", Stack.home)),
        help="AIRFLOW_HOME of the stack (default .airflow/; env BANKML_LOCAL_HOME)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env.get("BANKML_LOCAL_PORT", Stack.port)),
        help="API server / UI port on 127.0.0.1 (default 8080; env BANKML_LOCAL_PORT)",
    )
    parser.add_argument(
        "--emulator-port",
        type=int,
        default=int(env.get("BANKML_LOCAL_EMULATOR_PORT", Stack.emulator_port)),
        help="SageMaker emulator port (default 4566; env BANKML_LOCAL_EMULATOR_PORT)",
    )
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for a healthy Airflow")
    args = parser.parse_args(argv)

    if args.command == "down":
        stopped = down(_stack_from(args))
        print(f"Stopped: {', '.join(stopped)}" if stopped else "Nothing was running.")
        return 0

    if args.command == "status":
        stack = _stack_from(args)
        processes = running(stack)
        if not processes:
            print("Not running.")
            return 1
        url = read_state(stack)["url"]
        print(", ".join(f"{name} {'running' if alive else 'DEAD'}" for name, alive in processes.items()))
        print(f"Health at {url}: {health(url)}")
        return 0 if all(processes.values()) else 1

    stack = _stack_from(args)
    print(f"Starting Airflow at {stack.url} (AIRFLOW_HOME={stack.home}); this takes about a minute...", flush=True)
    try:
        credentials, started = up(stack, timeout=args.timeout)
    except RuntimeError as err:  # StackError, or the emulator's own start failure
        print(f"up failed: {err}", file=sys.stderr)
        return 1
    state = read_state(stack)
    print("Started." if started else "Already running; nothing started.")
    print(
        f"\n  Airflow UI:  {credentials.url}\n  Login:       user {credentials.username}, "
        f"password {credentials.password}\n  (stored in {stack.password_file})"
    )
    print(f"  Emulator:    {state['emulator_url']} ({state.get('emulator', 'started')})")
    print(f"  Logs:        {stack.run_dir}/*.log, task logs in {stack.home / 'logs'}")
    print("  DAG bank_marketing_xgboost starts paused: unpause or trigger it in the UI. Stop with `make down`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
