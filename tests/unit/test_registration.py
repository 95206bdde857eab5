"""The evaluate tasks' registration: the candidate built from the run, and the decision in the task log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bankml import model_registry
from bankml.model_registry import Registration, register_evaluation
from bankml.run_plan import plan_run

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RUN = plan_run(
    dag_id="bank_marketing_xgboost", run_id="manual__1", run_after=T0, bucket="bkt", prefix="p", created_at=T0
)
JOB = {
    "AlgorithmSpecification": {"TrainingImage": "xgboost:3.0-5"},
    "ModelArtifacts": {"S3ModelArtifacts": "s3://bkt/model.tar.gz"},
}
PARAMS = {"feature_set": "economic", "data_sha256": "ABC", "min_auc": 0.7, "champion_tolerance": 0.01}


def registered(monkeypatch, registration: Registration) -> list:
    calls = []

    def register_run(sm, group, candidate, *, min_auc, tolerance):
        calls.append((group, candidate, min_auc, tolerance))
        return registration

    monkeypatch.setattr(model_registry, "register_run", register_run)
    return calls


def registration(**changes) -> Registration:
    fields = dict(
        arn="arn:x/1",
        version=1,
        status="Approved",
        reason="first version to pass the quality gate",
        champion_version=None,
        champion_roc_auc=None,
        same_test_rows=None,
        registered_before=False,
    )
    return Registration(**{**fields, **changes})


def test_the_candidate_is_the_run_and_the_decision_is_logged(monkeypatch, caplog) -> None:
    calls = registered(monkeypatch, registration())
    with caplog.at_level(logging.INFO, logger="bankml.model_registry"):
        result = register_evaluation(
            None, RUN, JOB, PARAMS, roc_auc=0.8, test_sha256="t", metrics_uri=RUN.uri("evaluation", "metrics.json")
        )
    group, candidate, min_auc, tolerance = calls[0]
    assert (group, min_auc, tolerance) == ("bankml-economic", 0.7, 0.01)
    assert (candidate.run_key, candidate.data_sha256, candidate.image) == (RUN.run_key, "abc", "xgboost:3.0-5")
    assert result == {"model_package_group": "bankml-economic", **registration().to_dict()}
    assert caplog.messages == [
        "Model registry: bankml-economic version 1 Approved: first version to pass the quality gate"
    ]


def test_a_retry_and_other_test_rows_are_said(monkeypatch, caplog) -> None:
    registered(
        monkeypatch,
        registration(
            version=3,
            status="Rejected",
            reason="worse than the champion",
            champion_version=2,
            same_test_rows=False,
            registered_before=True,
        ),
    )
    with caplog.at_level(logging.INFO, logger="bankml.model_registry"):
        register_evaluation(None, RUN, JOB, PARAMS, roc_auc=0.71, test_sha256="t", metrics_uri="s3://bkt/m.json")
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
    assert caplog.messages[0] == (
        "Model registry: bankml-economic version 3 Rejected (registered by an earlier try): worse than the champion"
    )
    assert caplog.messages[1].startswith("The champion v2 was measured on other test rows")
