"""The evaluation's record: metrics.json and the plots beside it, the quality gate, and the task's XCom.

Built the same whichever way the test set was scored (endpoint or transform job), so the
Model quality page, the registry's metrics link and the teardown's cost merge read one shape.
"""

from __future__ import annotations

import json
from typing import Any

from numpy.typing import ArrayLike

from bankml.run_plan import RunPlan

METRICS_FILE = "metrics.json"


def evaluation_document(
    *,
    run: RunPlan,
    params: dict[str, Any],
    training_job: dict[str, Any],
    scored_by: dict[str, str],
    seconds: float,
    metrics: dict[str, Any],
    registration: dict[str, Any],
    evaluated_at: str,
) -> dict[str, Any]:
    """metrics.json: the numbers with everything needed to reproduce and judge them."""
    return {
        "run_id": run.run_id,
        "run_key": run.run_key,
        "feature_set": params["feature_set"],
        "xgboost_version": params["xgboost_version"],
        "hyperparameters": training_job.get("HyperParameters", {}),
        "training_job": training_job["TrainingJobName"],
        "training_final_metrics": {m["MetricName"]: m["Value"] for m in training_job.get("FinalMetricDataList", [])},
        "evaluation": params["evaluation"],
        **scored_by,
        "evaluation_seconds": round(seconds, 3),
        "metrics": metrics,
        "min_auc": params["min_auc"],
        "passed_quality_gate": metrics["roc_auc"] >= params["min_auc"],
        "champion_tolerance": params["champion_tolerance"],
        "registry": registration,
        "evaluated_at": evaluated_at,
    }


def save_artifacts(s3: Any, run: RunPlan, document: dict[str, Any], labels: ArrayLike, scores: ArrayLike) -> list[str]:
    """metrics.json and the plots under the run's evaluation prefix; returns their names."""
    from bankml.evaluation.plots import confusion_matrix_png, gain_chart_png, roc_curve_png

    artifacts = {
        METRICS_FILE: (json.dumps(document, indent=2).encode(), "application/json"),
        "confusion_matrix.png": (confusion_matrix_png(document["metrics"]), "image/png"),
        "roc_curve.png": (roc_curve_png(labels, scores), "image/png"),
        "gain_chart.png": (gain_chart_png(labels, scores), "image/png"),
    }
    for name, (body, content_type) in artifacts.items():
        s3.put_object(Bucket=run.bucket, Key=run.key("evaluation", name), Body=body, ContentType=content_type)
    return list(artifacts)


def quality_gate_failure(run: RunPlan, document: dict[str, Any]) -> str | None:
    """Why the run fails its quality gate, with where to look; None when it passes."""
    if document["passed_quality_gate"]:
        return None
    registration = document["registry"]
    return (
        f"Quality gate: ROC AUC {document['metrics']['roc_auc']:.4f} is below min_auc {document['min_auc']} "
        f"(registered {registration['status']} as {registration['model_package_group']} "
        f"v{registration['version']}; metrics saved at {run.uri('evaluation', METRICS_FILE)})"
    )


def evaluation_result(run: RunPlan, document: dict[str, Any]) -> dict[str, Any]:
    """The evaluate tasks' XCom: the headline numbers and the registry's decision, not the whole document."""
    metrics, registration = document["metrics"], document["registry"]
    return {
        "accuracy": metrics["accuracy"],
        "roc_auc": metrics["roc_auc"],
        "f1": metrics["f1"],
        "rows": metrics["rows"],
        "evaluation_seconds": document["evaluation_seconds"],
        "metrics_uri": run.uri("evaluation", METRICS_FILE),
        "gain_at_20": next(g["share_of_subscribers"] for g in metrics["gain"] if g["fraction_called"] == 0.2),
        "model_package_arn": registration["arn"],
        "model_version": registration["version"],
        "approval_status": registration["status"],
        "approval_reason": registration["reason"],
    }
