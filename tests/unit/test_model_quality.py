"""The page's HTML: escaped values, placeholders for what a version lacks, an empty state."""

from __future__ import annotations

from datetime import UTC, datetime

from bankml.model_quality import Row, render_page


def row(**overrides) -> Row:
    values = dict(
        feature_set="economic",
        version=1,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        run_id="manual__x",
        status="Approved",
        champion=True,
        metrics_uri="s3://b/p/evaluation/metrics.json",
        metrics={"roc_auc": 0.8},
        cost_usd=None,
    )
    return Row(**{**values, **overrides})


def test_values_are_escaped() -> None:
    page = render_page([row(run_id="<script>alert(1)</script>")], "dag", "/bankml")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "/runs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E" in page


def test_missing_metrics_show_a_dash() -> None:
    page = render_page([row(metrics={}, metrics_uri=None)], "dag", "/bankml")
    assert page.count("<td>–</td>") == 5  # ROC AUC, PR AUC, accuracy, gain, cost


def test_images_only_next_to_metrics_json() -> None:
    assert row().image_uri("gain_chart.png") == "s3://b/p/evaluation/gain_chart.png"
    assert row().image_uri("cost.json") is None
    assert row(metrics_uri=None).image_uri("roc_curve.png") is None


def test_empty_registry_says_what_to_do() -> None:
    assert "No model versions registered yet: trigger the DAG." in render_page([], "dag", "/bankml")
