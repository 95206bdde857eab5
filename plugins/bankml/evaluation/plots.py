"""PNG plots of an evaluation, drawn with scikit-learn's displays on Agg canvases.

Figures are created directly (not through ``pyplot.figure``), so nothing is registered in
pyplot's global figure list: a long-lived Airflow worker can draw any number of reports without
leaking figures or depending on a display.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay, roc_auc_score

from bankml.evaluation.metrics import GAIN_FRACTIONS, check_scores, gain_curve

CLASS_NAMES = ("No Purchase", "Purchase")


def confusion_matrix_figure(metrics: Mapping[str, Any]) -> Figure:
    """Counts of ``compute_metrics`` output as a 2x2 matrix, observed rows by predicted columns."""
    missing = [key for key in ("tn", "fp", "fn", "tp", "threshold") if key not in metrics]
    if missing:
        raise ValueError(f"metrics lack {', '.join(missing)}; pass the dict from compute_metrics")
    counts = np.array([[metrics["tn"], metrics["fp"]], [metrics["fn"], metrics["tp"]]], dtype=np.int64)
    if counts.sum() == 0 or (counts < 0).any():
        raise ValueError(f"confusion counts must be non-negative and not all zero, got {counts.ravel().tolist()}")
    figure = _figure()
    ax = figure.add_subplot()
    ConfusionMatrixDisplay(counts, display_labels=list(CLASS_NAMES)).plot(ax=ax, cmap="Blues", values_format="d")
    accuracy = np.trace(counts) / counts.sum()
    ax.set_title(
        f"Confusion matrix, test set\nthreshold {float(metrics['threshold']):g}, accuracy {100 * accuracy:.1f}%"
    )
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Observed")
    return figure


def roc_curve_figure(y_true: ArrayLike, scores: ArrayLike) -> Figure:
    """ROC curve of ``scores`` against ``y_true`` with the chance diagonal, AUC in the title."""
    labels, values = check_scores(y_true, scores)
    figure = _figure()
    ax = figure.add_subplot()
    RocCurveDisplay.from_predictions(labels, values, ax=ax, name="Model", plot_chance_level=True)
    ax.set_title(f"ROC curve, test set (AUC {roc_auc_score(labels, values):.3f})")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    return figure


def gain_chart_figure(y_true: ArrayLike, scores: ArrayLike) -> Figure:
    """Cumulative gain: the share of subscribers reached calling the best-scored clients first,
    against calling at random and a perfect ranking, with the reported shares marked."""
    called, reached = gain_curve(y_true, scores)
    positives_share = float(np.mean(check_scores(y_true, scores)[0]))
    figure = _figure()
    ax = figure.add_subplot()
    ax.plot(called, reached, label="Model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Random calls")
    ax.plot([0, positives_share, 1], [0, 1, 1], linestyle=":", color="green", label="Perfect ranking")
    for fraction in GAIN_FRACTIONS:
        share = float(np.interp(fraction, called, reached))
        ax.plot([fraction], [share], "o", color="black")
        ax.annotate(
            f"{100 * fraction:.0f}% called: {100 * share:.0f}%",
            (fraction, share),
            textcoords="offset points",
            xytext=(8, -12),
        )
    ax.set_title("Cumulative gain, test set")
    ax.set_xlabel("Share of clients called (best-scored first)")
    ax.set_ylabel("Share of subscribers reached")
    ax.legend(loc="lower right")
    return figure


def confusion_matrix_png(metrics: Mapping[str, Any]) -> bytes:
    """The confusion-matrix figure as PNG bytes."""
    return _png(confusion_matrix_figure(metrics))


def roc_curve_png(y_true: ArrayLike, scores: ArrayLike) -> bytes:
    """The ROC-curve figure as PNG bytes."""
    return _png(roc_curve_figure(y_true, scores))


def gain_chart_png(y_true: ArrayLike, scores: ArrayLike) -> bytes:
    """The cumulative-gain figure as PNG bytes."""
    return _png(gain_chart_figure(y_true, scores))


def roc_auc_trend_png(points: list[tuple[int, float, bool]]) -> bytes:
    """Test ROC AUC of each (version, ROC AUC, approved) across registered versions, as PNG."""
    points = sorted(points)
    figure = _figure()
    ax = figure.add_subplot()
    ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label="ROC AUC")
    approved = [p for p in points if p[2]]
    ax.plot([p[0] for p in approved], [p[1] for p in approved], "s", color="green", label="Approved")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Test ROC AUC by model version")
    ax.set_xlabel("Version")
    ax.set_ylabel("ROC AUC")
    ax.legend(loc="lower right")
    return _png(figure)


def _figure() -> Figure:
    figure = Figure(figsize=(7.0, 5.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
