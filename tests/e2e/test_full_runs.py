"""Whole DAG runs against the emulator on both feature sets (issue: end to end, tutorial parity)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.expected import ENDPOINT_RUN_NOT_SUCCESS, EVALUATION_SUMMARY_KEYS

from .scenarios import Outcome, Scenario, run_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TUTORIAL_RATE = 0.895


@pytest.fixture(scope="module")
def runs(airflow_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return run_all(
        [
            Scenario("tutorial", conf={"feature_set": "tutorial", "xgboost_version": "1.7-1"}),
            Scenario("economic"),  # every default, container 3.0-5
        ],
        airflow_template,
        tmp_path_factory.mktemp("full-runs"),
    )


@pytest.mark.parametrize("name", ["tutorial", "economic"])
def test_run_succeeds_and_leaves_nothing(runs: dict[str, Outcome], name: str) -> None:
    outcome = runs[name]
    assert outcome.result.run_state == "success", outcome.explain()
    skipped = {task: state for task, state in outcome.result.task_states.items() if state != "success"}
    assert skipped == ENDPOINT_RUN_NOT_SUCCESS, outcome.explain()
    assert outcome.leftovers == {}
    assert outcome.all_resources == {"endpoints": [], "endpoint_configs": [], "models": []}


@pytest.mark.parametrize("name", ["tutorial", "economic"])
def test_artifacts_are_under_the_run_prefix(runs: dict[str, Outcome], name: str) -> None:
    outcome = runs[name]
    prefix = f"bankml/{outcome.plan['run_key']}/"
    raw = outcome.task_xcom["download"]
    assert raw["key"] == f"bankml/raw/{raw['sha256']}.csv.gz"  # the raw cache, shared by runs
    keys = set(outcome.s3_keys) - {raw["key"]}
    assert all(k.startswith(prefix) for k in keys)
    expected = {
        "data/train/train.csv",
        "data/test/test.csv",
        "evaluation/metrics.json",
        "evaluation/confusion_matrix.png",
        "evaluation/roc_curve.png",
        "evaluation/gain_chart.png",
        "evaluation/cost.json",
        f"output/bankml-{outcome.plan['run_key']}/output/model.tar.gz",
    }
    if name == "economic":
        expected.add("data/validation/validation.csv")
    assert {prefix + k for k in expected} <= keys, sorted(keys)


def test_tutorial_parity(runs: dict[str, Outcome]) -> None:
    document = runs["tutorial"].documents["metrics.json"]
    m = document["metrics"]
    assert m["rows"] == 12357 and m["positives"] == 1421
    assert abs(m["accuracy"] - TUTORIAL_RATE) <= 0.005, m
    assert document["feature_set"] == "tutorial" and document["xgboost_version"] == "1.7-1"


def test_default_feature_set_reaches_auc_080(runs: dict[str, Outcome]) -> None:
    document = runs["economic"].documents["metrics.json"]
    assert document["feature_set"] == "economic"
    assert document["metrics"]["roc_auc"] >= 0.80, document["metrics"]
    assert "validation:logloss" in document["training_final_metrics"]


def test_metrics_json_carries_cost_and_endpoint_lifetime(runs: dict[str, Outcome]) -> None:
    document = runs["economic"].documents["metrics.json"]
    cost = document["cost"]
    assert cost["training_billable_seconds"] > 0
    assert cost["endpoint_lifetime_seconds"] >= document["evaluation_seconds"] > 0
    assert cost["total_usd"] > 0 and cost["prices_as_of"]
    assert runs["economic"].documents["cost.json"] == cost


def test_task_logs_tell_the_story(runs: dict[str, Outcome]) -> None:
    outcome = runs["tutorial"]
    fallback = [line for line in outcome.log("download").splitlines() if "shipped with bankml" in line]
    assert fallback and all("[warning" in line for line in fallback)  # offline here: the shipped copy
    train_log = outcome.log("train")
    assert "train-logloss" in train_log and "[99]" in train_log  # CloudWatch lines in the task log
    for status in (
        "Starting - Preparing the instances",
        "Training - Training image download completed",
        "Completed - Training job completed",
    ):  # status changes followed, not only the end
        assert status in train_log
    assert train_log.index("[99]") < train_log.index("Completed - Training job completed")
    evaluate_log = outcome.log("evaluate")
    assert "Overall Classification Rate" in evaluate_log
    assert "Calling the best-scored clients first" in evaluate_log
    assert "Model registry: bankml-tutorial version 1 Approved: first version to pass the quality gate" in evaluate_log
    assert "Scored 12,357/12,357 rows" in evaluate_log
    assert "Estimated cost" in outcome.log("teardown")


def test_xcom_summary_is_small(runs: dict[str, Outcome]) -> None:
    summary = runs["economic"].task_xcom["evaluate"]
    assert set(summary) == EVALUATION_SUMMARY_KEYS
    assert (summary["model_version"], summary["approval_status"]) == (1, "Approved")
