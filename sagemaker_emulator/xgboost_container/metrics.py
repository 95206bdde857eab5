"""Evaluation metrics: the names the container knows, the ones it computes itself, and reading them back from logs."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import xgboost as xgb
from sklearn import metrics as skm

MAXIMIZE_METRICS = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
    "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
)  # fmt: skip
MINIMIZE_METRICS = (
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
)  # fmt: skip
KNOWN_METRICS = MAXIMIZE_METRICS + MINIMIZE_METRICS
TUNING_METRIC_NAMES = tuple(f"validation:{name}" for name in KNOWN_METRICS)
"""What the container declares for hyperparameter tuning (and accepts as `_tuning_objective_metric`)."""


def _class_labels(margins: np.ndarray) -> np.ndarray:
    """Custom metrics get raw margins (xgboost >= 1.2): compare log-odds with 0, or take the arg-max class."""
    return np.argmax(margins, axis=-1) if margins.ndim > 1 else (margins > 0.0).astype(int)


def _classification(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[np.ndarray, xgb.DMatrix], float]:
    return lambda preds, data: float(score(data.get_label(), _class_labels(preds))) if preds.size else 0.0


def _regression(score: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[np.ndarray, xgb.DMatrix], float]:
    return lambda preds, data: float(score(data.get_label(), preds))


CUSTOM_METRICS: dict[str, Callable[[np.ndarray, xgb.DMatrix], float]] = {
    "accuracy": _classification(skm.accuracy_score),
    "balanced_accuracy": _classification(skm.balanced_accuracy_score),
    "f1": _classification(lambda y, p: skm.f1_score(y, p, average="macro")),
    "f1_binary": _classification(lambda y, p: skm.f1_score(y, p, average="binary")),
    "f1_macro": _classification(lambda y, p: skm.f1_score(y, p, average="macro")),
    "mse": _regression(skm.mean_squared_error),
    "rmse": _regression(skm.root_mean_squared_error),
    "mae": _regression(skm.mean_absolute_error),
    "precision": _classification(skm.precision_score),
    "precision_macro": _classification(lambda y, p: skm.precision_score(y, p, average="macro")),
    "precision_micro": _classification(lambda y, p: skm.precision_score(y, p, average="micro")),
    "r2": _regression(skm.r2_score),
    "recall": _classification(skm.recall_score),
    "recall_macro": _classification(lambda y, p: skm.recall_score(y, p, average="macro")),
    "recall_micro": _classification(lambda y, p: skm.recall_score(y, p, average="micro")),
}
"""Metrics the container computes itself (with scikit-learn) instead of xgboost, even where xgboost has one."""


def split_eval_metrics(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(metrics for xgboost's eval_metric, metrics the container computes), each in the user's order."""
    return [n for n in names if n not in CUSTOM_METRICS], [n for n in names if n in CUSTOM_METRICS]


def custom_metric(names: Sequence[str]) -> Callable[[np.ndarray, xgb.DMatrix], list[tuple[str, float]]]:
    """An xgboost `custom_metric` reporting the given container-computed metrics (fed transformed predictions)."""
    return lambda preds, data: [(name, CUSTOM_METRICS[name](preds, data)) for name in names]


class MarginMetrics(xgb.callback.TrainingCallback):
    """Container-computed metrics on raw margins, as xgboost 1.x's `feval` received them.

    Pass `.metric` as xgb.train's custom_metric (so values are logged after xgboost's own, as feval's were,
    and seen by early stopping) and the object itself as a callback: it keeps the booster being trained,
    whose margins replace the transformed predictions xgboost >= 1.6 hands a custom metric.
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self._names = list(names)
        self._model: xgb.Booster | None = None

    def before_training(self, model: xgb.Booster) -> xgb.Booster:
        self._model = model
        return model

    def metric(self, _transformed: np.ndarray, data: xgb.DMatrix) -> list[tuple[str, float]]:
        assert self._model is not None, "MarginMetrics must also be passed as a callback"
        margins = self._model.predict(data, output_margin=True)
        return [(name, CUSTOM_METRICS[name](margins, data)) for name in self._names]


_ROUND_LINE = re.compile(r"^\[\d+\](?P<fields>(?:(?:\t|#011)[^\t:]+:\S+)+)\s*$")
_FIELD = re.compile(r"(?:\t|#011)(?P<data>[^-\t:]+)-(?P<metric>[^\t:]+):(?P<value>[^\t#\s]+)")


def parse_metrics(line: str) -> dict[str, float]:
    """Metrics a training log line reports, named as in FinalMetricDataList ("train:logloss", "validation:auc").

    Only per-round lines count, and only metrics the container declares (so "error@0.7" is not reported,
    like on SageMaker, whose metric regexes name each metric). Tabs may appear as CloudWatch's "#011".
    """
    match = _ROUND_LINE.match(line)
    if not match:
        return {}
    found: dict[str, float] = {}
    for field in _FIELD.finditer(match["fields"]):
        if field["metric"] in KNOWN_METRICS:
            try:
                found[f"{field['data']}:{field['metric']}"] = float(field["value"])
            except ValueError:
                continue
    return found
