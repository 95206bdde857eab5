"""Plots: titled, labelled PNGs, drawn without touching pyplot's global state."""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib.image
import pytest

from bankml.evaluation.plots import (
    confusion_matrix_figure,
    confusion_matrix_png,
    gain_chart_figure,
    gain_chart_png,
    roc_curve_figure,
    roc_curve_png,
)

METRICS = {"tn": 10769, "fp": 167, "fn": 1133, "tp": 288, "threshold": 0.5}
Y = [0, 0, 0, 0, 1, 1, 1, 0]
SCORES = [0.1, 0.4, 0.5, 0.7, 0.8, 0.3, 0.9, 0.2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_figure_is_titled_and_labelled() -> None:
    ax = confusion_matrix_figure(METRICS).axes[0]

    assert ax.get_title() == "Confusion matrix, test set\nthreshold 0.5, accuracy 89.5%"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted", "Observed")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["No Purchase", "Purchase"]
    assert [t.get_text() for t in ax.texts] == ["10769", "167", "1133", "288"]


def test_roc_figure_is_titled_and_labelled() -> None:
    ax = roc_curve_figure(Y, SCORES).axes[0]

    assert ax.get_title() == "ROC curve, test set (AUC 0.800)"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("False positive rate", "True positive rate")
    assert len(ax.get_lines()) == 2  # the curve and the chance diagonal


def test_gain_chart_shows_model_random_and_perfect_with_the_reported_shares() -> None:
    ax = gain_chart_figure(Y, SCORES).axes[0]

    assert ax.get_title() == "Cumulative gain, test set"
    assert ax.get_xlabel() == "Share of clients called (best-scored first)"
    assert [line.get_label() for line in ax.get_lines()[:3]] == ["Model", "Random calls", "Perfect ranking"]
    # 8 clients, 3 subscribers: calling 10 % (0.8 of a client) reaches 0.8 * 1/3 of them on the curve
    assert [t.get_text() for t in ax.texts] == ["10% called: 27%", "20% called: 53%", "30% called: 67%"]


@pytest.mark.parametrize(
    "render",
    [lambda: confusion_matrix_png(METRICS), lambda: roc_curve_png(Y, SCORES), lambda: gain_chart_png(Y, SCORES)],
)
def test_png_bytes_decode_to_an_image(render: Callable[[], bytes]) -> None:
    png = render()

    assert png.startswith(PNG_SIGNATURE)
    height, width, _ = matplotlib.image.imread(io.BytesIO(png), format="png").shape
    assert (width, height) == (700, 520)


def test_no_figures_leak_into_pyplot() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    confusion_matrix_png(METRICS)
    roc_curve_png(Y, SCORES)

    assert plt.get_fignums() == before


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="metrics lack tp"):
        confusion_matrix_png({k: v for k, v in METRICS.items() if k != "tp"})
    with pytest.raises(ValueError, match="not all zero"):
        confusion_matrix_png({**METRICS, "tn": 0, "fp": 0, "fn": 0, "tp": 0})
    with pytest.raises(ValueError, match="both classes are needed"):
        roc_curve_png([1, 1], [0.2, 0.9])


def test_roc_auc_trend_marks_the_approved_versions() -> None:
    import matplotlib.image

    from bankml.evaluation.plots import roc_auc_trend_png

    png = roc_auc_trend_png([(2, 0.70, False), (1, 0.80, True), (3, 0.81, True)])
    assert png.startswith(PNG_SIGNATURE)
    assert matplotlib.image.imread(io.BytesIO(png), format="png").shape[:2] == (520, 700)
