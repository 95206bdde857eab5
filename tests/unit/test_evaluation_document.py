"""metrics.json, the quality gate's message and the evaluate tasks' XCom, built from one document."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import numpy as np
import pytest
from moto import mock_aws

from bankml.evaluation.document import (
    evaluation_document,
    evaluation_result,
    quality_gate_failure,
    save_artifacts,
)
from bankml.evaluation.metrics import compute_metrics
from bankml.run_plan import plan_run
from tests.expected import EVALUATION_SUMMARY_KEYS

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RUN = plan_run(
    dag_id="bank_marketing_xgboost", run_id="manual__1", run_after=T0, bucket="bkt", prefix="p", created_at=T0
)
LABELS = np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0] * 5)
SCORES = np.linspace(0.05, 0.95, LABELS.size) * 0.5 + LABELS * 0.4
JOB = {
    "TrainingJobName": RUN.training_job_name,
    "HyperParameters": {"max_depth": "5"},
    "FinalMetricDataList": [{"MetricName": "validation:logloss", "Value": 0.3}],
}
REGISTRATION = {
    "model_package_group": "bankml-economic",
    "arn": "arn:aws:sagemaker:::model-package/x/1",
    "version": 1,
    "status": "Approved",
    "reason": "first version to pass the quality gate",
}


def params(min_auc: float = 0.5) -> dict:
    return {
        "feature_set": "economic",
        "xgboost_version": "3.0-5",
        "evaluation": "endpoint",
        "min_auc": min_auc,
        "champion_tolerance": 0.01,
    }


def document(min_auc: float = 0.5) -> dict:
    return evaluation_document(
        run=RUN,
        params=params(min_auc),
        training_job=JOB,
        scored_by={"endpoint": RUN.endpoint_name},
        seconds=1.23456,
        metrics=compute_metrics(LABELS, SCORES),
        registration=REGISTRATION,
        evaluated_at="2026-12-01T12:05:00+00:00",
    )


def test_the_document_records_what_was_measured_and_how() -> None:
    doc = document()
    assert (doc["run_id"], doc["run_key"], doc["training_job"]) == ("manual__1", RUN.run_key, RUN.training_job_name)
    assert doc["endpoint"] == RUN.endpoint_name and "transform_job" not in doc
    assert doc["hyperparameters"] == {"max_depth": "5"}
    assert doc["training_final_metrics"] == {"validation:logloss": 0.3}
    assert doc["evaluation_seconds"] == 1.235
    assert doc["passed_quality_gate"] is True and doc["registry"] == REGISTRATION
    json.dumps(doc)  # metrics.json


def test_a_passing_run_has_no_gate_failure_and_a_small_xcom() -> None:
    doc = document()
    assert quality_gate_failure(RUN, doc) is None
    result = evaluation_result(RUN, doc)
    assert result["metrics_uri"] == f"s3://bkt/{RUN.run_prefix}/evaluation/metrics.json"
    assert (result["model_version"], result["approval_status"]) == (1, "Approved")
    assert result["gain_at_20"] == next(
        g["share_of_subscribers"] for g in doc["metrics"]["gain"] if g["fraction_called"] == 0.2
    )
    assert set(result) == EVALUATION_SUMMARY_KEYS


def test_the_gate_says_what_was_registered_and_where_the_metrics_are() -> None:
    doc = document(min_auc=0.999)
    assert doc["passed_quality_gate"] is False
    assert quality_gate_failure(RUN, doc) == (
        f"Quality gate: ROC AUC {doc['metrics']['roc_auc']:.4f} is below min_auc 0.999 "
        f"(registered Approved as bankml-economic v1; metrics saved at "
        f"s3://bkt/{RUN.run_prefix}/evaluation/metrics.json)"
    )


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bkt")
        yield client


def test_the_document_and_plots_land_under_the_runs_evaluation_prefix(s3) -> None:
    doc = document()
    names = save_artifacts(s3, RUN, doc, LABELS, SCORES)
    assert names == ["metrics.json", "confusion_matrix.png", "roc_curve.png", "gain_chart.png"]
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket="bkt", Prefix=RUN.key("evaluation"))["Contents"]}
    assert stored == {RUN.key("evaluation", name) for name in names}
    assert json.loads(s3.get_object(Bucket="bkt", Key=RUN.key("evaluation", "metrics.json"))["Body"].read()) == doc
    png = s3.get_object(Bucket="bkt", Key=RUN.key("evaluation", "roc_curve.png"))
    assert png["ContentType"] == "image/png" and png["Body"].read().startswith(b"\x89PNG")
