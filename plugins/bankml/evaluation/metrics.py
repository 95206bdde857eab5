"""Test-set metrics of a binary classifier's scores, all computed by scikit-learn.

A row counts as predicted positive when its score is strictly above the threshold: the
tutorial's ``np.round(predictions)`` rounds 0.5 down, and xgboost's own classifier uses
``> 0.5`` too, so the published confusion counts are reproduced exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn import metrics as skm


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
        raise ValueError(
            f"y_true holds only class {present}; both classes are needed for ROC AUC and PR AUC"
        )
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
    }
