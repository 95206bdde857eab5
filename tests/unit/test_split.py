"""The tutorial's shuffle and cut, and the economic set's extra validation slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankml.data.split import split_model_frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Stands in for a 41,188-row model frame: the split only looks at rows."""
    rows = 41188
    return pd.DataFrame({"y": np.arange(rows) % 2, "x": np.arange(rows)})


def test_tutorial_split_matches_the_published_shapes(frame: pd.DataFrame) -> None:
    splits = split_model_frame(frame, "tutorial")

    assert (len(splits.train), len(splits.test)) == (28831, 12357)
    assert splits.validation is None
    shuffled = frame.sample(frac=1, random_state=1729)
    pd.testing.assert_frame_equal(splits.train, shuffled.iloc[:28831])
    pd.testing.assert_frame_equal(splits.test, shuffled.iloc[28831:])


def test_economic_split_keeps_the_test_rows_and_carves_validation(frame: pd.DataFrame) -> None:
    tutorial = split_model_frame(frame, "tutorial")
    economic = split_model_frame(frame, "economic")

    assert economic.validation is not None
    assert (len(economic.train), len(economic.validation), len(economic.test)) == (24712, 4119, 12357)
    pd.testing.assert_frame_equal(economic.test, tutorial.test)
    pd.testing.assert_frame_equal(pd.concat([economic.train, economic.validation]), tutorial.train)


@pytest.mark.parametrize("feature_set", ["tutorial", "economic"])
def test_split_is_deterministic_and_a_partition(frame: pd.DataFrame, feature_set: str) -> None:
    first = split_model_frame(frame, feature_set)
    second = split_model_frame(frame, feature_set)
    parts = [p for p in (first.train, first.validation, first.test) if p is not None]

    for a, b in zip(parts, [p for p in (second.train, second.validation, second.test) if p is not None]):
        pd.testing.assert_frame_equal(a, b)
    assert sorted(pd.concat(parts)["x"]) == list(frame["x"])


def test_too_small_a_frame_is_rejected(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="leaves validation empty"):
        split_model_frame(frame.head(2), "economic")


def test_unknown_feature_set_is_rejected(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown feature set"):
        split_model_frame(frame, "all")
