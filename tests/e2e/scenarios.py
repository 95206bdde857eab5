"""End-to-end scenario runner: one emulator per scenario, DAG runs dealt to a few batch processes.

Scenarios are isolated (faults armed in one emulator cannot leak into another). Their DAG runs
go to `workers` batches (tests/e2e/dag_batch.py), each one Airflow process and home running its
share one after the other: Airflow's start-up is paid once a batch, not once a run, and batches
run concurrently (a run spends most of its time waiting on SageMaker state changes).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bankml.teardown import run_resources
from tests.emulator_harness import emulator_clients
from tools.airflow_home import ROOT, DagTestResult, airflow_env, migrate, run_states
from tools.demo_report import task_log
from tools.emulator_process import EmulatorProcess
from tools.local_setup import BUCKET

BATCH_TIMEOUT_SECONDS = 1200
EMULATOR_START_SECONDS = 300


def clients(endpoint_url: str) -> dict[str, Any]:
    return emulator_clients(endpoint_url, "sagemaker", "s3", "logs")


@dataclass
class Scenario:
    name: str
    conf: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] | None = None
    delays: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Runs against the live emulator after the DAG run (and the rest of its batch), before it stops.
    after: Callable[[EmulatorProcess, Path], Any] | None = None


@dataclass
class Outcome:
    scenario: Scenario
    home: Path  # the batch's Airflow home: other runs share its metadata DB, `run_id` is this one
    run_id: str | None
    result: DagTestResult
    plan: dict[str, str] | None
    leftovers: dict[str, list[str]]
    all_resources: dict[str, list[str]]
    s3_keys: list[str]
    task_xcom: dict[str, Any]
    documents: dict[str, Any]
    after_value: Any = None

    def log(self, task_id: str) -> str:
        """What one task logged (all its tries): `dags test` prints task logs between markers."""
        return task_log(self.result.output, task_id)

    def explain(self) -> str:
        return (
            f"{self.scenario.name}: state={self.result.run_state} tasks={self.result.task_states}\n"
            f"{self.result.output[-6000:]}"
        )

    def query(self, sql: str, *parameters: object) -> list[tuple]:
        """Rows of this run from the metadata DB; ``sql`` filters on ``run_id = ?`` first."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            return db.execute(sql, (self.run_id, *parameters)).fetchall()


def _xcoms(home: Path, run_id: str | None) -> dict[str, Any]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, value FROM xcom WHERE key='return_value' AND run_id=?", (run_id,)).fetchall()
    values = {}
    for task_id, raw in rows:
        value = json.loads(raw) if raw is not None else None
        values[task_id] = json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value
    return values


Run = tuple[Scenario, EmulatorProcess]


def run_all(scenarios: list[Scenario], template: Path, workdir: Path, workers: int = 4) -> dict[str, Outcome]:
    """Every scenario against its own emulator; their runs dealt round-robin to ``workers`` batches."""
    with ExitStack() as stack:
        launched = [EmulatorProcess.launch(workdir / s.name / "emulator.log") for s in scenarios]
        for emulator in launched:
            stack.enter_context(emulator)
        # Started together they share the CPU with the rest of the suite: give them time.
        runs = [(s, e.wait_until_ready(timeout=EMULATOR_START_SECONDS)) for s, e in zip(scenarios, launched)]
        batches = [runs[i::workers] for i in range(min(workers, len(runs)))]
        outcomes = _run_batches(batches, template, workdir)
    return {outcome.scenario.name: outcome for outcome in outcomes}


def run_sequence(name: str, scenarios: list[Scenario], template: Path, workdir: Path) -> list[Outcome]:
    """DAG runs one after the other against one emulator (what a schedule does week after week)."""
    with EmulatorProcess.start(workdir / name / "emulator.log", timeout=EMULATOR_START_SECONDS) as emulator:
        return _run_batches([[(s, emulator) for s in scenarios]], template, workdir)


def _run_batches(batches: list[list[Run]], template: Path, workdir: Path) -> list[Outcome]:
    processes = []
    for index, batch in enumerate(batches):
        home = workdir / f"batch-{index}"
        migrate(home, template)
        entries = [_entry(scenario, emulator, home) for scenario, emulator in batch]
        batch_file = home / "batch.json"
        batch_file.write_text(json.dumps(entries))
        processes.append(
            (
                home,
                batch,
                subprocess.Popen(
                    [sys.executable, "-m", "tests.e2e.dag_batch", str(batch_file)],
                    cwd=ROOT,
                    env=entries[0]["env"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=(home / "batch.err").open("wb"),
                ),
            )
        )
    outcomes = []
    for home, batch, process in processes:
        try:
            process.wait(timeout=BATCH_TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        results = home / "batch.results"
        run_ids = {r["name"]: r for r in map(json.loads, results.read_text().splitlines())} if results.exists() else {}
        for scenario, emulator in batch:
            if scenario.name not in run_ids:
                raise AssertionError(
                    f"batch {home} ended ({process.returncode}) before running {scenario.name}:\n"
                    f"{(home / 'batch.err').read_text()[-4000:]}"
                )
            outcomes.append(_outcome(scenario, emulator, home, run_ids[scenario.name]))
    return outcomes


def _entry(scenario: Scenario, emulator: EmulatorProcess, home: Path) -> dict[str, Any]:
    if scenario.delays:
        emulator.control("POST", "delays", scenario.delays)
    if scenario.faults:
        emulator.control("POST", "faults", scenario.faults)
    env = airflow_env(home, emulator.url, **{"BANKML_TASK_RETRIES": "0", "BANKML_BUCKET": BUCKET, **scenario.env})
    return {"name": scenario.name, "env": env, "conf": scenario.conf, "log": str(home / f"{scenario.name}.log")}


def _outcome(scenario: Scenario, emulator: EmulatorProcess, home: Path, ran: dict[str, Any]) -> Outcome:
    run_id = ran["run_id"]
    state, tasks = run_states(home, run_id=run_id) if run_id else (None, {})
    result = DagTestResult(ran["returncode"], (home / f"{scenario.name}.log").read_text(errors="replace"), state, tasks)
    after_value = scenario.after(emulator, home) if scenario.after else None
    xcom = _xcoms(home, run_id)
    plan = xcom.get("plan")
    aws = clients(emulator.url)
    everything = run_resources(aws["sagemaker"], "bankml-")  # every resource the emulator holds is ours
    leftovers = run_resources(aws["sagemaker"], f"bankml-{plan['run_key']}") if plan else everything
    keys = [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    own = [k for k in keys if plan is None or f"/{plan['run_key']}/" in f"/{k}"]  # other runs of a sequence
    documents = {
        key.rsplit("/", 1)[-1]: json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())
        for key in own
        if key.endswith(".json")
    }
    return Outcome(
        scenario,
        home,
        run_id,
        result,
        plan,
        {k: v for k, v in leftovers.items() if v},
        everything,
        keys,
        xcom,
        documents,
        after_value,
    )
