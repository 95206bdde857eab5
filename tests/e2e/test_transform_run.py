"""A whole DAG run that evaluates by Batch Transform (Param evaluation=transform): no endpoint, same report."""

from __future__ import annotations

from pathlib import Path

import pytest

from bankml.teardown import running_jobs
from tests.expected import EVALUATION_SUMMARY_KEYS

from .scenarios import Outcome, Scenario, clients, run_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def outcome(airflow_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    scenario = Scenario(
        "transform",
        conf={"evaluation": "transform"},
        after=lambda emulator, home: running_jobs(clients(emulator.url)["sagemaker"], "bankml-"),
    )
    return run_all([scenario], airflow_template, tmp_path_factory.mktemp("transform-run"), workers=1)["transform"]


def test_only_the_transform_path_runs_and_nothing_is_left(outcome: Outcome) -> None:
    states = outcome.result.task_states
    assert outcome.result.run_state == "success", outcome.explain()
    assert states["choose_evaluation"] == states["transform"] == states["evaluate_transform"] == "success", (
        outcome.explain()
    )
    assert states["deploy"] == states["evaluate"] == "skipped", outcome.explain()
    assert states["teardown"] == states["verify_cleanup"] == "success", outcome.explain()
    assert outcome.all_resources == {"endpoints": [], "endpoint_configs": [], "models": []}
    assert outcome.after_value == {}  # no transform job left running


def test_the_same_metrics_report_and_plots(outcome: Outcome) -> None:
    prefix = f"bankml/{outcome.plan['run_key']}/"
    for key in (
        "evaluation/metrics.json",
        "evaluation/confusion_matrix.png",
        "evaluation/roc_curve.png",
        "evaluation/cost.json",
        "transform/test.csv.out",
    ):
        assert prefix + key in outcome.s3_keys, sorted(outcome.s3_keys)
    document = outcome.documents["metrics.json"]
    assert document["evaluation"] == "transform" and document["transform_job"] == f"bankml-{outcome.plan['run_key']}"
    assert document["metrics"]["rows"] > 10_000 and document["metrics"]["roc_auc"] >= 0.80, document["metrics"]
    assert "Overall Classification Rate" in outcome.log("evaluate_transform")
    summary = outcome.task_xcom["evaluate_transform"]
    assert set(summary) == EVALUATION_SUMMARY_KEYS
    assert (summary["model_version"], summary["approval_status"]) == (1, "Approved")  # registered as endpoint runs are


def test_the_cost_covers_the_transform_job_not_an_endpoint(outcome: Outcome) -> None:
    cost = outcome.documents["metrics.json"]["cost"]
    assert cost["endpoint_lifetime_seconds"] == 0 and cost["endpoint_usd"] == 0
    assert cost["transform_seconds"] > 0 and cost["transform_instance_type"] == "ml.m5.large"
    assert cost["total_usd"] == pytest.approx(cost["training_usd"] + cost["transform_usd"])
    assert "transform" in outcome.log("teardown") and "Estimated cost" in outcome.log("teardown")
