"""End-to-end scenario runner: one emulator and one throwaway Airflow home per scenario.

Scenarios are isolated (faults armed in one emulator cannot leak into another) and run
concurrently: a run spends most of its time waiting on SageMaker state changes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from bankml.teardown import run_resources

from tools.airflow_home import DagTestResult, airflow_env, dags_test, migrate
from tools.demo_report import task_log
from tools.emulator_process import BUCKET, EmulatorProcess


def clients(endpoint_url: str) -> dict[str, Any]:
    kwargs = dict(endpoint_url=endpoint_url, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
    return {name: boto3.client(name, **kwargs) for name in ("sagemaker", "s3", "logs")}


@dataclass
class Scenario:
    name: str
    conf: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] | None = None
    delays: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Runs against the live emulator after the DAG run, before it stops (extra checks/steps).
    after: Callable[[EmulatorProcess, Path], Any] | None = None


@dataclass
class Outcome:
    scenario: Scenario
    home: Path
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
        return f"{self.scenario.name}: state={self.result.run_state} tasks={self.result.task_states}\n" \
               f"{self.result.output[-6000:]}"


def _xcoms(home: Path) -> dict[str, Any]:
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT task_id, value FROM xcom WHERE key='return_value'").fetchall()
    values = {}
    for task_id, raw in rows:
        value = json.loads(raw) if raw is not None else None
        values[task_id] = json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value
    return values


def run_scenario(scenario: Scenario, template: Path, workdir: Path) -> Outcome:
    home = workdir / scenario.name
    home.mkdir(parents=True, exist_ok=True)
    with EmulatorProcess.start(home / "emulator.log") as emulator:
        return _run_dag(scenario, emulator, home, template)


def run_sequence(name: str, scenarios: list[Scenario], template: Path, workdir: Path) -> list[Outcome]:
    """DAG runs one after the other against one emulator (what a schedule does week after week);
    each in its own Airflow home, so only the emulator's state carries over."""
    (workdir / name).mkdir(parents=True, exist_ok=True)
    with EmulatorProcess.start(workdir / name / "emulator.log") as emulator:
        return [_run_dag(scenario, emulator, workdir / name / scenario.name, template) for scenario in scenarios]


def _run_dag(scenario: Scenario, emulator: EmulatorProcess, home: Path, template: Path) -> Outcome:
    migrate(home, template)
    if scenario.delays:
        emulator.control("POST", "delays", scenario.delays)
    if scenario.faults:
        emulator.control("POST", "faults", scenario.faults)
    env = airflow_env(home, emulator.url, **{"BANKML_TASK_RETRIES": "0", "BANKML_BUCKET": BUCKET, **scenario.env})
    result = dags_test(home, env, scenario.conf)
    after_value = scenario.after(emulator, home) if scenario.after else None
    xcom = _xcoms(home)
    plan = xcom.get("plan")
    aws = clients(emulator.url)
    everything = run_resources(aws["sagemaker"], "bankml-")  # every resource the emulator holds is ours
    leftovers = run_resources(aws["sagemaker"], f"bankml-{plan['run_key']}") if plan else everything
    keys = [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    own = [k for k in keys if plan is None or f"/{plan['run_key']}/" in f"/{k}"]  # other runs of a sequence
    documents = {
        key.rsplit("/", 1)[-1]: json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())
        for key in own if key.endswith(".json")
    }
    return Outcome(scenario, home, result, plan, {k: v for k, v in leftovers.items() if v},
                   everything, keys, xcom, documents, after_value)


def run_all(scenarios: list[Scenario], template: Path, workdir: Path, workers: int = 4) -> dict[str, Outcome]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {s.name: pool.submit(run_scenario, s, template, workdir) for s in scenarios}
        return {name: future.result() for name, future in futures.items()}
