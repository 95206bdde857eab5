"""Model frames: the tutorial set reproduces bank_clean.csv; economic adds five indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankml.data.features import FEATURE_SETS, build_model_frame, feature_columns
from bankml.data.schema import ECONOMIC_COLUMNS, SchemaError, read_raw
from tests.paths import FULL_DATASET, TUTORIAL_CLEAN


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return read_raw(FULL_DATASET)


@pytest.fixture(scope="module")
def bank_clean() -> pd.DataFrame:
    """The tutorial's input with its two label columns folded into y = y_yes, placed first."""
    clean = pd.read_csv(TUTORIAL_CLEAN, index_col=0)
    assert clean.shape == (41188, 61)
    return pd.concat([clean["y_yes"].rename("y"), clean.drop(columns=["y_no", "y_yes"])], axis=1)


def test_tutorial_frame_equals_bank_clean(raw: pd.DataFrame, bank_clean: pd.DataFrame) -> None:
    frame = build_model_frame(raw, "tutorial")

    assert list(frame.columns) == list(bank_clean.columns)
    assert frame.shape == (41188, 60)
    pd.testing.assert_frame_equal(frame, bank_clean, check_dtype=False)


def test_economic_frame_appends_the_indicators(raw: pd.DataFrame) -> None:
    tutorial = build_model_frame(raw, "tutorial")
    economic = build_model_frame(raw)  # the default feature set

    assert list(economic.columns) == [*tutorial.columns, *ECONOMIC_COLUMNS]
    pd.testing.assert_frame_equal(economic[tutorial.columns], tutorial)
    pd.testing.assert_frame_equal(economic[list(ECONOMIC_COLUMNS)], raw[list(ECONOMIC_COLUMNS)])


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_label_first_as_int_and_duration_never_a_feature(raw: pd.DataFrame, feature_set: str) -> None:
    frame = build_model_frame(raw, feature_set)

    assert frame.columns[0] == "y"
    assert frame["y"].dtype == np.int64
    assert frame["y"].sum() == 4640
    assert "duration" not in frame.columns
    assert list(frame.columns[1:]) == feature_columns(feature_set)
    assert len(feature_columns(feature_set)) == {"tutorial": 59, "economic": 64}[feature_set]


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_a_slice_gets_the_same_columns_as_the_full_file(raw: pd.DataFrame, feature_set: str) -> None:
    full = build_model_frame(raw, feature_set)
    one_row = build_model_frame(raw.iloc[[41000]], feature_set)  # a single month, job, ...

    assert list(one_row.columns) == list(full.columns)
    assert (one_row.dtypes == full.dtypes).all()
    pd.testing.assert_frame_equal(one_row, full.iloc[[41000]])


def test_numbers_held_as_strings_give_the_same_frame(raw: pd.DataFrame) -> None:
    as_strings = raw.head(50).astype({"age": str, "pdays": str, "nr.employed": str})

    pd.testing.assert_frame_equal(build_model_frame(as_strings), build_model_frame(raw.head(50)))


def test_derived_flags_follow_the_notebook(raw: pd.DataFrame) -> None:
    frame = build_model_frame(raw, "tutorial")

    assert (frame["no_previous_contact"] == (raw["pdays"] == 999)).all()
    assert (frame["not_working"] == raw["job"].isin(["student", "retired", "unemployed"])).all()


def test_invalid_raw_data_is_rejected_before_encoding(raw: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="job: 1 values outside the known categories"):
        build_model_frame(raw.head(5).replace({"job": {"housemaid": "astronaut"}}))


def test_unknown_feature_set_is_rejected(raw: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'everything'; choose one of tutorial, economic"):
        build_model_frame(raw.head(5), "everything")
