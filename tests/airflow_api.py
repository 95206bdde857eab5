"""An Airflow 3 REST API (/api/v2) client for the tests that drive a running Airflow.

Used against `make up`'s local stack (tests/browser) and the docker-compose stack
(tests/compose) alike: a base URL and a login are all it needs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tools.airflow_home import DAG_ID
from tools.local_airflow import Login

FINISHED = ("success", "failed")
# A GET is idempotent: one that times out on a loaded machine (the api-server shares two cores
# with a scheduler, workers and the emulator) is asked again until this deadline, then fails.
GET_DEADLINE_SECONDS = 180


class AirflowApi:
    """The REST API (/api/v2) with a JWT from /auth/token, as any API client would use it."""

    def __init__(self, credentials: Login, diagnostics: Callable[[], str] | None = None) -> None:
        """``diagnostics`` adds what the task logs cannot hold to a failed run's message: a task the
        executor failed before it started (e.g. its supervisor never reached the api-server) logs nothing."""
        self.diagnostics = diagnostics
        response = httpx.post(
            f"{credentials.url}/auth/token",
            timeout=30,
            json={"username": credentials.username, "password": credentials.password},
        )
        response.raise_for_status()
        self.client = httpx.Client(
            base_url=f"{credentials.url}/api/v2",
            timeout=30,
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        )

    def get(self, path: str, **params: object) -> dict:
        deadline = time.monotonic() + GET_DEADLINE_SECONDS
        while True:
            try:
                response = self.client.get(path, params=params)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: dict) -> dict:
        response = self.client.patch(path, json=body)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body)
        if response.is_error:
            raise AssertionError(f"POST {path} answered {response.status_code}: {response.text}")
        return response.json()

    def unpause(self, timeout: float = 120) -> None:
        """Wait until the dag-processor registered the DAG, then unpause it (DAGs start paused)."""
        deadline = time.monotonic() + timeout
        while not self.get("/dags", dag_id_pattern=DAG_ID)["dags"]:
            assert time.monotonic() < deadline, (
                f"the dag-processor never registered {DAG_ID}: {self.get('/importErrors')}"
            )
            time.sleep(2)
        self.patch(f"/dags/{DAG_ID}", {"is_paused": False})

    def trigger(self, conf: dict[str, Any]) -> dict:
        """A manual run now (no logical date), with ``conf`` overriding the DAG's Params."""
        return self.post(f"/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})

    def runs(self, **filters: object) -> list[dict]:
        return self.get(f"/dags/{DAG_ID}/dagRuns", order_by="-run_after", **filters)["dag_runs"]

    def task_instances(self, run_id: str) -> dict[str, dict]:
        found = self.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in found}

    def xcom(self, run_id: str, task_id: str) -> Any:
        return self.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value")["value"]

    def task_log(self, run_id: str, task_id: str, try_number: int) -> str:
        """The try's log as text: its structured entries' events, one a line (this API serves JSON only)."""
        found = self.get(
            f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}", full_content=True
        )
        return "\n".join(_log_line(entry) for entry in found["content"])

    def wait_for_task(self, run_id: str, task_id: str, state: str, timeout: float) -> dict:
        """The task instance once it is in ``state``; a deadline, not a speed check."""
        deadline = time.monotonic() + timeout
        while (ti := self.task_instances(run_id).get(task_id, {})).get("state") != state:
            if time.monotonic() > deadline or self.get(f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"] in FINISHED:
                raise AssertionError(f"{task_id} of {run_id} never got {state}; tasks: {self._states(run_id)}")
            time.sleep(2)
        return ti

    def wait_for_run(self, run_id: str, timeout: float, expect: str | None = "success") -> dict:
        """The finished run; a deadline, not a speed check. Failures carry the failed tasks' logs."""
        deadline = time.monotonic() + timeout
        while (run := self.get(f"/dags/{DAG_ID}/dagRuns/{run_id}"))["state"] not in FINISHED:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"run {run_id} still {run['state']} after {timeout:.0f} s; tasks: {self._states(run_id)}"
                )
            time.sleep(3)
        if expect is not None and run["state"] != expect:
            failed = {task: ti for task, ti in self.task_instances(run_id).items() if ti["state"] != "success"}
            logs = "\n".join(
                f"--- {task} (try {ti['try_number']}):\n{self.task_log(run_id, task, max(ti['try_number'], 1))[-3000:]}"
                for task, ti in failed.items()
                if ti["state"] == "failed"
            )
            extra = f"\n--- diagnostics:\n{self.diagnostics()}" if self.diagnostics else ""
            raise AssertionError(f"run {run_id} ended {run['state']}; tasks: {self._states(run_id)}\n{logs}{extra}")
        return run

    def _states(self, run_id: str) -> dict[str, str | None]:
        return {task: ti["state"] for task, ti in self.task_instances(run_id).items()}


def _log_line(entry: object) -> str:
    """A structured log entry as text: its event, and an error's exception types and messages."""
    if not isinstance(entry, dict):
        return str(entry)
    line = str(entry.get("event", ""))
    for error in entry.get("error_detail") or []:
        if isinstance(error, dict):
            line += f"\n    {error.get('exc_type')}: {error.get('exc_value')}"
    return line


ERROR_LINE = re.compile(r"\[error|^[A-Za-z_][\w.]*(Error|Exception|Timeout)\b")


def error_lines(log: Path, limit: int = 40) -> str:
    """The last error-level lines and exception lines of a component's log file (e.g. the scheduler's)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError as error:
        return f"(cannot read {log}: {error})"
    return "\n".join([line[:500] for line in lines if ERROR_LINE.search(line)][-limit:]) or f"(no errors in {log})"
