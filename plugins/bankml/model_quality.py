"""The "Model quality" page's content: one row per registered version, read from the registry and
each version's metrics.json, and the page as HTML (escaped, no script).

Reads go through the caller's boto3 clients, so the page shows the emulator's registry or AWS's
depending only on the Airflow connection. A version's description only changes with its approval
status, and a run's metrics.json no longer changes once the teardown added its cost, so both are
kept in memory: a page of 100 versions is then one ListModelPackages call. What is not cached is
fetched concurrently.
"""

from __future__ import annotations

import html
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bankml.champion import APPROVED
from bankml.model_registry import group_name

IMAGES = ("confusion_matrix.png", "roc_curve.png", "gain_chart.png")
FETCH_WORKERS = 8


@dataclass(frozen=True)
class Row:
    feature_set: str
    version: int
    created: datetime
    run_id: str
    status: str
    champion: bool
    metrics_uri: str | None
    metrics: dict[str, Any]  # metrics.json's "metrics", empty when it could not be read
    cost_usd: float | None

    @property
    def gain_at_20(self) -> float | None:
        return next(
            (g["share_of_subscribers"] for g in self.metrics.get("gain", []) if g["fraction_called"] == 0.2), None
        )

    def image_uri(self, name: str) -> str | None:
        """An image saved next to metrics.json; only the known names, so no other object is reachable."""
        if name not in IMAGES or not self.metrics_uri:
            return None
        return self.metrics_uri.rsplit("/", 1)[0] + "/" + name


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


_descriptions: dict[tuple[str, str], dict[str, Any]] = {}  # (version ARN, approval status) -> description
_documents: dict[str, dict[str, Any]] = {}  # metrics.json URI -> its final document (with the cost)


def _description(sm: Any, summary: dict[str, Any]) -> dict[str, Any]:
    key = (summary["ModelPackageArn"], summary["ModelApprovalStatus"])
    if key not in _descriptions:
        _descriptions[key] = sm.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
    return _descriptions[key]


def _metrics_document(s3: Any, uri: str | None) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    if not uri:
        return {}
    if uri in _documents:
        return _documents[uri]
    bucket, key = split_s3_uri(uri)
    try:
        document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except (ClientError, ValueError):
        return {}  # not written yet, deleted or unreadable: the row still shows what the registry holds
    if "cost" in document:
        _documents[uri] = document
    return document


def group_rows(sm: Any, s3: Any, feature_set: str) -> list[Row]:
    """The feature set's versions, newest first, the champion (latest Approved) marked."""
    from botocore.exceptions import ClientError

    pages = sm.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group_name(feature_set), PaginationConfig={"PageSize": 100}
    )
    try:
        summaries = [summary for page in pages for summary in page["ModelPackageSummaryList"]]
    except ClientError as err:
        if "does not exist" in err.response["Error"].get("Message", ""):
            return []  # no run of this feature set registered anything yet
        raise
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
        described = list(pool.map(lambda summary: _description(sm, summary), summaries))
        uris = [d.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri") for d in described]
        documents = list(pool.map(lambda uri: _metrics_document(s3, uri), uris))
    approved = [d["ModelPackageVersion"] for d in described if d["ModelApprovalStatus"] == APPROVED]
    champion = max(approved, default=None)
    rows = [
        Row(
            feature_set=feature_set,
            version=d["ModelPackageVersion"],
            created=d["CreationTime"],
            run_id=d.get("CustomerMetadataProperties", {}).get("run_id", ""),
            status=d["ModelApprovalStatus"],
            champion=d["ModelPackageVersion"] == champion,
            metrics_uri=uri,
            metrics=document.get("metrics", {}),
            cost_usd=document.get("cost", {}).get("total_usd"),
        )
        for d, uri, document in zip(described, uris, documents)
    ]
    return sorted(rows, key=lambda r: r.version, reverse=True)


def _number(value: float | None, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def render_page(rows: list[Row], dag_id: str, base: str) -> str:
    """The page: a table of versions with links to their DAG runs and images, and a trend chart per
    feature set. `base` is the app's URL prefix (its own routes serve images and charts)."""
    feature_sets = sorted({r.feature_set for r in rows})
    body = [
        "<h1>Model quality</h1>",
        "<p>One row per registered model version (newest first). The champion ★ is the latest "
        "Approved version of its feature set; a new version is Approved when it passes min_auc and "
        "comes within champion_tolerance of the champion's test ROC AUC.</p>",
    ]
    if not rows:
        body.append("<p>No model versions registered yet: trigger the DAG.</p>")
    for feature_set in feature_sets:
        body.append(
            f"<h2>Feature set {html.escape(feature_set)}</h2>"
            f'<img class="trend" alt="ROC AUC trend, {html.escape(feature_set)}" '
            f'src="{base}/trend/{quote(feature_set)}.png">'
        )
    body.append(
        "<table><thead><tr><th>Version</th><th>Date</th><th>DAG run</th><th>Feature set</th>"
        "<th>ROC AUC</th><th>PR AUC</th><th>Accuracy</th><th>Gain at 20 %</th><th>Cost</th>"
        "<th>Status</th><th>Images</th></tr></thead><tbody>"
    )
    for row in rows:
        run = html.escape(row.run_id)
        images = " ".join(
            f'<a href="{base}/image/{quote(row.feature_set)}/{row.version}/{name}">'
            f'<img class="thumb" alt="{name[:-4].replace("_", " ")} v{row.version}" '
            f'src="{base}/image/{quote(row.feature_set)}/{row.version}/{name}"></a>'
            for name in IMAGES
        )
        body.append(
            f'<tr class="{"champion" if row.champion else ""}" data-version="{row.version}">'
            f"<td>v{row.version}{' ★ champion' if row.champion else ''}</td>"
            f"<td>{row.created:%Y-%m-%d %H:%M} UTC</td>"
            f'<td><a href="/dags/{quote(dag_id)}/runs/{quote(row.run_id, safe="")}">{run}</a></td>'
            f"<td>{html.escape(row.feature_set)}</td>"
            f"<td>{_number(row.metrics.get('roc_auc'), '{:.4f}')}</td>"
            f"<td>{_number(row.metrics.get('pr_auc'), '{:.4f}')}</td>"
            f"<td>{_number(row.metrics.get('accuracy'), '{:.1%}')}</td>"
            f"<td>{_number(row.gain_at_20, '{:.1%}')}</td>"
            f"<td>{_number(row.cost_usd, '${:.4f}')}</td>"
            f'<td class="status">{html.escape(row.status)}</td><td>{images}</td></tr>'
        )
    body.append("</tbody></table>")
    style = (
        "body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse} "
        "td,th{border:1px solid #ccc;padding:4px 8px} tr.champion{background:#eef8ee} "
        "img.thumb{height:60px} img.trend{max-width:640px;display:block}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Model quality</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>"
    )


def trend_png(rows: list[Row]) -> bytes:
    """Test ROC AUC per version, Approved ones marked, as PNG."""
    from bankml.evaluation.plots import roc_auc_trend_png

    return roc_auc_trend_png(
        [(r.version, r.metrics["roc_auc"], r.status == APPROVED) for r in rows if "roc_auc" in r.metrics]
    )
