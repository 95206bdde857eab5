"""Periodic retraining: consecutive DAG runs against one emulator register versions and keep the champion.

Run 1 trains a deliberately small model (first version: Approved by the gate alone); run 2 the
default, better one (Approved, the new champion); run 3 a stump ({"num_round": "1", "max_depth":
"1"}) that passes a lowered gate but is worse than the champion: Rejected, champion unchanged.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from bankml.champion import champion
from bankml.data.source import EXPECTED_SHA256
from bankml.model_registry import registered_versions
from tools.local_setup import client_kwargs

from .scenarios import Outcome, Scenario, run_sequence

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

GROUP = "bankml-economic"
SMALL = {"num_round": "5", "max_depth": "2"}
STUMP = {"num_round": "1", "max_depth": "1"}


def _versions(emulator, home: Path):
    sm = boto3.client("sagemaker", **client_kwargs(emulator.url))
    return registered_versions(sm, GROUP)


@pytest.fixture(scope="module")
def runs(airflow_template: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    return run_sequence(
        "retraining",
        [
            Scenario("small", conf={"hyperparameters": SMALL, "min_auc": 0.5}),
            Scenario("default"),
            Scenario("stump", conf={"hyperparameters": STUMP, "min_auc": 0.5}, after=_versions),
        ],
        airflow_template,
        tmp_path_factory.mktemp("retraining"),
    )


def test_every_run_succeeds_and_registers_one_version(runs: list[Outcome]) -> None:
    for outcome in runs:
        assert outcome.result.run_state == "success", outcome.explain()
        assert outcome.leftovers == {}  # the teardown deletes models and endpoints, never the registry
    versions = [v for v, _ in runs[-1].after_value]
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.run_key for v in versions] == [o.plan["run_key"] for o in runs]


def test_better_model_is_approved_and_worse_rejected_champion_unchanged(runs: list[Outcome]) -> None:
    small, default, stump = (o.documents["metrics.json"] for o in runs)
    assert default["metrics"]["roc_auc"] > small["metrics"]["roc_auc"] > stump["metrics"]["roc_auc"]
    assert [d["registry"]["status"] for d in (small, default, stump)] == ["Approved", "Approved", "Rejected"]
    assert default["registry"]["champion_version"] == 1 and default["registry"]["same_test_rows"] is True
    assert stump["registry"]["champion_version"] == 2
    assert stump["registry"]["reason"].startswith(f"ROC AUC {stump['metrics']['roc_auc']:.4f} is below the champion v2")
    versions = [v for v, _ in runs[-1].after_value]
    assert champion(versions).version == 2


def test_decision_is_in_xcom_log_and_metadata(runs: list[Outcome]) -> None:
    stump = runs[-1]
    summary = stump.task_xcom["evaluate"]
    assert (summary["model_version"], summary["approval_status"]) == (3, "Rejected")
    assert summary["approval_reason"] == stump.documents["metrics.json"]["registry"]["reason"]
    assert f"Model registry: {GROUP} version 3 Rejected: {summary['approval_reason']}" in stump.log("evaluate")
    metadata = dict(stump.after_value[-1][1])
    assert metadata["decision_reason"] == summary["approval_reason"]
    assert metadata["run_key"] == stump.plan["run_key"]
    assert metadata["data_sha256"] == EXPECTED_SHA256.lower()
    assert len({m["test_sha256"] for _, m in stump.after_value}) == 1  # the deterministic split: same test rows


def test_business_view_in_log_metrics_and_chart(runs: list[Outcome]) -> None:
    default = runs[1]
    gain = default.documents["metrics.json"]["metrics"]["gain"]
    assert [g["fraction_called"] for g in gain] == [0.1, 0.2, 0.3]
    assert all(g["lift"] > 1 for g in gain)  # better than calling at random
    assert "Calling the best-scored clients first" in default.log("evaluate")
    assert f"bankml/{default.plan['run_key']}/evaluation/gain_chart.png" in default.s3_keys
