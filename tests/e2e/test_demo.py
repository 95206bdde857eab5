"""`make demo` as a person runs it: the report on success, the cause first on failure, only this run's files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def demo(conf: dict, output: Path) -> subprocess.CompletedProcess[str]:
    """`make demo`'s command; on a timeout its whole process group goes, the emulator it started too."""
    command = [sys.executable, "-m", "tools.demo", "--conf", json.dumps(conf), "--port", "0", "--output", str(output)]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=540)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One output folder for every demo of this module, as ./demo-output is for a person."""
    return tmp_path_factory.mktemp("demo") / "demo-output"


def test_a_successful_demo_prints_the_evaluation_and_the_fallback_warning(output: Path) -> None:
    completed = demo({"hyperparameters": {"num_round": "20"}}, output)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "Overall Classification Rate" in out and "ROC AUC" in out
    assert "WARNING: could not download" in out and "shipped with bankml" in out
    assert "Task times (s): plan " in out and "upstream failed" not in out
    assert "Nothing left running" in out
    assert {p.name for p in output.iterdir()} >= {"metrics.json", "cost.json", "roc_curve.png", "logs"}
    assert json.loads((output / "metrics.json").read_text())["hyperparameters"]["num_round"] == "20"
    assert "train-logloss" in (output / "logs" / "dags-test.log").read_text()


def test_a_failed_task_comes_first_with_its_cause_and_no_earlier_results(output: Path) -> None:
    assert (output / "metrics.json").exists(), "needs the successful demo's files to be replaced"
    completed = demo({"hyperparameters": {"num_round": "0"}}, output)
    assert completed.returncode == 1
    err = completed.stderr.strip()
    assert err.startswith("The run failed. Task 'train' failed:"), err
    assert "Hyperparameter num_round: 0 is not in [1, +inf)" in err.splitlines()[-1]
    assert "Overall Classification Rate" not in completed.stdout  # not the previous run's evaluation
    assert "deploy upstream failed, evaluate upstream failed" in completed.stdout
    assert "teardown " in completed.stdout and "Nothing left running" in completed.stdout
    assert "full logs in" in completed.stdout
    assert not (output / "metrics.json").exists()
    assert (output / "logs" / "dags-test.log").exists()


def test_a_refused_param_shows_airflows_message_and_that_nothing_was_created(output: Path) -> None:
    completed = demo({"min_auc": 2}, output)
    assert completed.returncode == 1
    assert (
        "The run did not start: Invalid input for param min_auc: 2 is greater than the maximum of 1" in completed.stderr
    )
    assert "Nothing was created" in completed.stderr
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == ["logs"]
