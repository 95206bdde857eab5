"""confusion_report reproduces the tutorial's printed table and adds a metrics table."""

from __future__ import annotations

import pytest

from bankml.evaluation.metrics import compute_metrics
from bankml.evaluation.report import confusion_report

# The tutorial's published counts; the other numbers are only there to fill the table.
PUBLISHED = {
    "tn": 10769,
    "fp": 167,
    "fn": 1133,
    "tp": 288,
    "threshold": 0.5,
    "accuracy": 0.894796,
    "precision": 0.632967,
    "recall": 0.202674,
    "f1": 0.307036,
    "roc_auc": 0.77612,
    "pr_auc": 0.41999,
    "log_loss": 0.29134,
}


def test_published_counts_give_the_published_table() -> None:
    # The tutorial printed the same numbers (its second row is less neatly aligned).
    assert confusion_report(PUBLISHED) == (
        "Overall Classification Rate: 89.5%\n"
        "\n"
        "Predicted      No Purchase    Purchase\n"
        "Observed\n"
        "No Purchase    90% (10769)    37% (167)\n"
        "Purchase       10% (1133)     63% (288)\n"
        "\n"
        "Metrics at threshold 0.5 (12357 rows, 1421 observed Purchase)\n"
        "Accuracy       0.8948\n"
        "Precision      0.6330\n"
        "Recall         0.2027\n"
        "F1             0.3070\n"
        "ROC AUC        0.7761\n"
        "PR AUC         0.4200\n"
        "Log loss       0.2913\n"
    )


def test_percentages_are_per_predicted_column() -> None:
    report = confusion_report({**PUBLISHED, "tn": 90, "fn": 10, "fp": 3, "tp": 97})

    assert "No Purchase    90% (90)        3% (3)" in report
    assert "Purchase       10% (10)       97% (97)" in report
    assert "Overall Classification Rate: 93.5%" in report


def test_a_column_with_no_predictions_shows_na() -> None:
    metrics = compute_metrics([0, 0, 1], [0.1, 0.2, 0.3])

    report = confusion_report(metrics)

    assert "No Purchase    67% (2)        n/a (0)" in report
    assert "Purchase       33% (1)        n/a (0)" in report


def test_missing_keys_are_named() -> None:
    with pytest.raises(ValueError, match="metrics lack fp, roc_auc; pass the dict from compute_metrics"):
        confusion_report({k: v for k, v in PUBLISHED.items() if k not in ("fp", "roc_auc")})


@pytest.mark.parametrize("counts", [(0, 0, 0, 0), (5, -1, 2, 3)])
def test_impossible_counts_are_refused(counts: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError, match="confusion counts must be non-negative and not all zero"):
        confusion_report({**PUBLISHED, **dict(zip(("tn", "fp", "fn", "tp"), counts))})


def test_gain_report_lists_each_share_called() -> None:
    from bankml.evaluation.metrics import compute_metrics
    from bankml.evaluation.report import gain_report

    y = [0, 1, 0, 1, 0, 0, 1, 0, 0, 1]
    scores = [0.1, 0.95, 0.2, 0.9, 0.3, 0.4, 0.35, 0.05, 0.15, 0.25]
    lines = gain_report(compute_metrics(y, scores)).splitlines()

    assert lines[0] == "Calling the best-scored clients first (10 clients, 4 subscribers in the test set)"
    assert lines[1].split() == ["Called", "Clients", "Subscribers", "Reached", "Lift"]
    assert [line.split() for line in lines[2:]] == [
        ["10%", "1", "1", "25.0%", "2.50x"],
        ["20%", "2", "2", "50.0%", "2.50x"],
        ["30%", "3", "2", "50.0%", "1.67x"],
    ]


def test_gain_report_needs_the_gain() -> None:
    from bankml.evaluation.report import gain_report

    with pytest.raises(ValueError, match="metrics lack gain"):
        gain_report({"rows": 1, "positives": 1})
