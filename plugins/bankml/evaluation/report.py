"""A plain-text evaluation report laid out like the AWS tutorial's printed result.

The confusion table keeps the tutorial's convention, which is easy to misread: each percentage
is the share of its *predicted* column (e.g. 37 % of the calls predicted "Purchase" were
observed "No Purchase"), not of the observed row. Keeping it lets a run be compared with the
published output line by line; the metrics table below it gives the usual summary numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_COUNTS = ("tn", "fp", "fn", "tp")
_TABLE = (
    ("Accuracy", "accuracy"),
    ("Precision", "precision"),
    ("Recall", "recall"),
    ("F1", "f1"),
    ("ROC AUC", "roc_auc"),
    ("PR AUC", "pr_auc"),
    ("Log loss", "log_loss"),
)
_WIDTH = 15


def confusion_report(metrics: Mapping[str, Any]) -> str:
    """Render ``compute_metrics`` output as the tutorial's table plus a metrics table."""
    required = (*_COUNTS, "threshold", *(key for _, key in _TABLE))
    missing = [key for key in required if key not in metrics]
    if missing:
        raise ValueError(f"metrics lack {', '.join(missing)}; pass the dict from compute_metrics")
    tn, fp, fn, tp = (int(metrics[key]) for key in _COUNTS)
    total = tn + fp + fn + tp
    if total == 0 or min(tn, fp, fn, tp) < 0:
        raise ValueError(f"confusion counts must be non-negative and not all zero, got {tn, fp, fn, tp}")
    predicted_no, predicted_yes = tn + fn, fp + tp
    lines = [
        f"Overall Classification Rate: {100 * (tn + tp) / total:.1f}%",
        "",
        f"{'Predicted':<{_WIDTH}}{'No Purchase':<{_WIDTH}}Purchase",
        "Observed",
        f"{'No Purchase':<{_WIDTH}}{_cell(tn, predicted_no):<{_WIDTH}}{_cell(fp, predicted_yes)}",
        f"{'Purchase':<{_WIDTH}}{_cell(fn, predicted_no):<{_WIDTH}}{_cell(tp, predicted_yes)}",
        "",
        f"Metrics at threshold {float(metrics['threshold']):g} ({total} rows, {tp + fn} observed Purchase)",
        *(f"{label:<{_WIDTH}}{float(metrics[key]):.4f}" for label, key in _TABLE),
    ]
    return "\n".join(lines) + "\n"


def _cell(count: int, column_total: int) -> str:
    """``"37% (167)"``; ``"n/a (0)"`` when nothing was predicted in that column."""
    if column_total == 0:
        return f"n/a ({count})"
    return f"{100 * count / column_total:>2.0f}% ({count})"


def gain_report(metrics: Mapping[str, Any]) -> str:
    """The business view: subscribers reached calling the best-scored share of clients first."""
    if "gain" not in metrics:
        raise ValueError("metrics lack gain; pass the dict from compute_metrics")
    lines = [
        f"Calling the best-scored clients first ({int(metrics['rows'])} clients, "
        f"{int(metrics['positives'])} subscribers in the test set)",
        f"{'Called':<{_WIDTH}}{'Clients':<{_WIDTH}}{'Subscribers':<{_WIDTH}}{'Reached':<{_WIDTH}}Lift",
        *(
            f"{100 * g['fraction_called']:.0f}%".ljust(_WIDTH) + f"{g['clients_called']:<{_WIDTH}}"
            f"{g['subscribers_reached']:<{_WIDTH}}"
            + f"{100 * g['share_of_subscribers']:.1f}%".ljust(_WIDTH)
            + f"{g['lift']:.2f}x"
            for g in metrics["gain"]
        ),
    ]
    return "\n".join(lines) + "\n"
