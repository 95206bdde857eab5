"""Test-set metrics of a binary classifier's scores, computed by scikit-learn and numpy.

A row counts as predicted positive when its score is strictly above the threshold: the
tutorial's ``np.round(predictions)`` rounds 0.5 down, and xgboost's own classifier uses
``> 0.5`` too, so the published confusion counts are reproduced exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn import metrics as skm

# Shares of clients called, best-scored first, at which the business view reports its gain.
GAIN_FRACTIONS = (0.1, 0.2, 0.3)


def check_scores(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(labels as int 0/1, scores as float)`` or raise a ValueError saying what is wrong.

    Both classes must be present, since ROC AUC, PR AUC and per-class rates need them.
    """
    labels = np.asarray(y_true)
    values = np.asarray(scores)
    if labels.ndim != 1 or values.ndim != 1:
        raise ValueError(f"y_true and scores must be 1-D, got shapes {labels.shape} and {values.shape}")
    if labels.size != values.size:
        raise ValueError(f"y_true has {labels.size} rows but scores has {values.size}")
    if labels.size == 0:
        raise ValueError("no rows to evaluate")
    try:
        labels = labels.astype(np.float64)
        values = values.astype(np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"y_true and scores must be numeric: {err}") from err
    bad_labels = np.setdiff1d(np.unique(labels), [0.0, 1.0])
    if bad_labels.size:
        raise ValueError(f"y_true must hold only 0 and 1, also found {bad_labels[:5].tolist()}")
    outside = ~((values >= 0.0) & (values <= 1.0))  # also catches NaN
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"scores must be probabilities in [0, 1]; {int(outside.sum())} are not "
            f"(first at row {first}: {values[first]})"
        )
    positives = int(labels.sum())
    if positives in (0, labels.size):
        present = "1" if positives else "0"
        raise ValueError(f"y_true holds only class {present}; both classes are needed for ROC AUC and PR AUC")
    return labels.astype(np.int64), values


def compute_metrics(y_true: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> dict[str, Any]:
    """Threshold and ranking metrics, confusion counts and sizes, as plain JSON-ready numbers."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    labels, values = check_scores(y_true, scores)
    predicted = (values > threshold).astype(np.int64)
    tn, fp, fn, tp = skm.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    return {
        "accuracy": float(skm.accuracy_score(labels, predicted)),
        "precision": float(skm.precision_score(labels, predicted, zero_division=0)),
        "recall": float(skm.recall_score(labels, predicted, zero_division=0)),
        "f1": float(skm.f1_score(labels, predicted, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(labels, values)),
        "pr_auc": float(skm.average_precision_score(labels, values)),
        "log_loss": float(skm.log_loss(labels, values, labels=[0, 1])),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
        "rows": int(labels.size),
        "positives": int(labels.sum()),
        "threshold": float(threshold),
        "gain": cumulative_gain(labels, values),
    }


def gain_curve(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(share of clients called, share of subscribers reached)`` calling clients best-scored first,
    both starting at 0."""
    reached = _subscribers_reached(*check_scores(y_true, scores))
    called = np.arange(reached.size + 1) / reached.size
    return called, np.concatenate([[0.0], reached / reached[-1]])


def cumulative_gain(
    y_true: ArrayLike, scores: ArrayLike, fractions: tuple[float, ...] = GAIN_FRACTIONS
) -> list[dict[str, Any]]:
    """At each share of clients called (best-scored first): the subscribers reached, their share of
    all subscribers (the cumulative gain) and the lift over calling clients at random."""
    bad = [f for f in fractions if not 0.0 < f <= 1.0]
    if bad:
        raise ValueError(f"fractions of clients called must be in (0, 1], got {bad}")
    labels, values = check_scores(y_true, scores)
    reached = _subscribers_reached(labels, values)
    result = []
    for fraction in fractions:
        called = int(np.ceil(fraction * labels.size))
        share = float(reached[called - 1] / reached[-1])
        result.append(
            {
                "fraction_called": float(fraction),
                "clients_called": called,
                "subscribers_reached": int(reached[called - 1]),
                "share_of_subscribers": share,
                "lift": share / (called / labels.size),
            }
        )
    return result


def _subscribers_reached(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Subscribers reached after each call, best-scored client first (equal scores keep test-set order)."""
    return np.cumsum(labels[np.argsort(-values, kind="stable")])
