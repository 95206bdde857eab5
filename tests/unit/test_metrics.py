"""compute_metrics: values agree with hand-checked numbers and bad input is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bankml.evaluation.metrics import compute_metrics

Y = [0, 0, 0, 0, 1, 1, 1, 0]
SCORES = [0.1, 0.4, 0.5, 0.7, 0.8, 0.3, 0.9, 0.2]


def test_confusion_counts_and_threshold_metrics() -> None:
    metrics = compute_metrics(Y, SCORES)

    # 0.5 is not above the threshold (the tutorial's np.round rounds it down): tn 4, fp 1, fn 1, tp 2
    assert (metrics["tn"], metrics["fp"], metrics["fn"], metrics["tp"]) == (4, 1, 1, 2)
    assert (metrics["rows"], metrics["positives"], metrics["threshold"]) == (8, 3, 0.5)
    assert metrics["accuracy"] == pytest.approx(6 / 8)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)


def test_ranking_metrics_and_log_loss() -> None:
    metrics = compute_metrics(Y, SCORES)

    # 15 positive/negative pairs; the positive scores higher in 5 + 5 + 2 of them
    assert metrics["roc_auc"] == pytest.approx(12 / 15)
    # by descending score the positives are at ranks 1, 2 and 6: (1/1 + 2/2 + 3/6) / 3
    assert metrics["pr_auc"] == pytest.approx((1 + 1 + 0.5) / 3)
    expected_log_loss = -np.mean([np.log(s if y else 1 - s) for y, s in zip(Y, SCORES)])
    assert metrics["log_loss"] == pytest.approx(expected_log_loss)


def test_threshold_moves_the_counts() -> None:
    metrics = compute_metrics(Y, SCORES, threshold=0.25)

    assert (metrics["tn"], metrics["fp"], metrics["fn"], metrics["tp"]) == (2, 3, 0, 3)
    assert metrics["threshold"] == 0.25


def test_no_predicted_positive_gives_zero_precision_not_an_error() -> None:
    metrics = compute_metrics(Y, SCORES, threshold=1.0)

    assert metrics["tp"] + metrics["fp"] == 0
    assert metrics["precision"] == 0.0


def test_result_is_plain_json() -> None:
    metrics = compute_metrics(np.array(Y), np.array(SCORES, dtype=np.float32))

    assert json.loads(json.dumps(metrics)) == metrics


@pytest.mark.parametrize(
    ("y_true", "scores", "message"),
    [
        ([0, 1, 1], [0.1, 0.9], "y_true has 3 rows but scores has 2"),
        ([], [], "no rows to evaluate"),
        ([[0, 1]], [[0.1, 0.9]], "must be 1-D"),
        ([0, 1, 2], [0.1, 0.9, 0.5], r"only 0 and 1, also found \[2.0\]"),
        (["no", "yes"], [0.1, 0.9], "must be numeric"),
        ([0, 1, 1], [0.1, 1.2, -0.1], r"probabilities in \[0, 1\]; 2 are not \(first at row 1: 1.2\)"),
        ([0, 1], [0.1, float("nan")], "1 are not"),
        ([1, 1, 1], [0.1, 0.9, 0.5], "holds only class 1; both classes are needed"),
        ([0, 0], [0.1, 0.9], "holds only class 0"),
    ],
)
def test_bad_input_is_refused(y_true: list, scores: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(y_true, scores)


def test_threshold_outside_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\], got 1.5"):
        compute_metrics(Y, SCORES, threshold=1.5)


def test_cumulative_gain_and_lift_at_the_reported_shares() -> None:
    # 10 clients, 4 subscribers; best-scored first the labels are 1 1 0 1 0 1 0 0 0 0
    y = [0, 1, 0, 1, 0, 0, 1, 0, 0, 1]
    scores = [0.1, 0.95, 0.2, 0.9, 0.3, 0.4, 0.35, 0.05, 0.15, 0.25]
    gain = compute_metrics(y, scores)["gain"]

    assert [g["fraction_called"] for g in gain] == [0.1, 0.2, 0.3]
    assert [g["clients_called"] for g in gain] == [1, 2, 3]
    assert [g["subscribers_reached"] for g in gain] == [1, 2, 2]
    assert [g["share_of_subscribers"] for g in gain] == pytest.approx([0.25, 0.5, 0.5])
    assert [g["lift"] for g in gain] == pytest.approx([2.5, 2.5, 0.5 / 0.3])


def test_gain_curve_starts_at_zero_and_ends_at_everyone() -> None:
    from bankml.evaluation.metrics import gain_curve

    called, reached = gain_curve(Y, SCORES)
    assert called.tolist() == pytest.approx([i / 8 for i in range(9)])
    # best-scored first: 0.9(1) 0.8(1) 0.7(0) 0.5(0) 0.4(0) 0.3(1) 0.2(0) 0.1(0)
    assert reached.tolist() == pytest.approx([0, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1, 1])


def test_gain_fractions_must_be_shares() -> None:
    from bankml.evaluation.metrics import cumulative_gain

    with pytest.raises(ValueError, match=r"fractions of clients called must be in \(0, 1\], got \[0.0, 1.5\]"):
        cumulative_gain(Y, SCORES, fractions=(0.0, 0.5, 1.5))
