"""read_raw and validate_raw on the real file and on deliberately broken copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bankml.data.schema import RAW_COLUMNS, SchemaError, read_raw, validate_raw
from tests.paths import FULL_DATASET, SAMPLE_DATASET


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return read_raw(FULL_DATASET)


def test_read_raw_gives_the_documented_shape_and_columns(raw: pd.DataFrame) -> None:
    assert raw.shape == (41188, 21)
    assert tuple(raw.columns) == RAW_COLUMNS
    assert raw["y"].value_counts().to_dict() == {"no": 36548, "yes": 4640}


def test_the_real_files_are_valid(raw: pd.DataFrame) -> None:
    validate_raw(raw)
    validate_raw(read_raw(SAMPLE_DATASET))


def test_missing_and_unexpected_columns_are_listed(raw: pd.DataFrame) -> None:
    broken = raw.drop(columns=["duration", "y"]).assign(extra=1)

    with pytest.raises(SchemaError) as raised:
        validate_raw(broken)

    message = str(raised.value)
    assert "missing columns: duration, y" in message
    assert "unexpected columns: extra" in message


def test_bad_values_are_counted_with_examples(raw: pd.DataFrame) -> None:
    broken = raw.head(100).copy()
    broken["age"] = broken["age"].astype(object)
    broken.loc[[3, 7], "age"] = ["forty", "?"]
    broken["campaign"] = broken["campaign"].astype(float)
    broken.loc[5, "campaign"] = 1.5
    broken.loc[[1, 2, 4], "job"] = "astronaut"
    broken.loc[[10, 11], "marital"] = np.nan
    broken.loc[9, "y"] = "maybe"

    with pytest.raises(SchemaError) as raised:
        validate_raw(broken)

    message = str(raised.value)
    assert "(100 rows)" in message
    assert "age: 2 non-numeric values (e.g. row 3: 'forty', row 7: '?')" in message
    assert "campaign: 1 non-integer values (e.g. row 5: 1.5)" in message
    assert "job: 3 values outside the known categories (e.g. row 1: 'astronaut', row 2:" in message
    assert "marital: 2 missing values (NaN), e.g. rows 10, 11" in message
    assert "y: 1 label values (e.g. row 9: 'maybe'); allowed: no, yes" in message


def test_examples_are_capped_at_three(raw: pd.DataFrame) -> None:
    broken = raw.head(50).assign(month="jan")

    with pytest.raises(SchemaError, match=r"month: 50 values outside .*row 2: 'jan'\); allowed"):
        validate_raw(broken)


def test_numbers_held_as_strings_are_accepted(raw: pd.DataFrame) -> None:
    validate_raw(raw.head(20).astype({"age": str, "euribor3m": str}))


def test_empty_frame_is_rejected(raw: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="no rows"):
        validate_raw(raw.head(0))


def test_duplicated_columns_are_rejected(raw: pd.DataFrame) -> None:
    doubled = pd.concat([raw.head(5), raw.head(5)[["age"]]], axis=1)

    with pytest.raises(SchemaError, match="duplicated columns: age"):
        validate_raw(doubled)


def test_a_comma_separated_file_reads_as_one_column_and_fails_validation(tmp_path: Path) -> None:
    path = tmp_path / "commas.csv"
    path.write_text("age,job,y\n30,admin.,no\n")

    with pytest.raises(SchemaError, match="missing columns: age, job"):
        validate_raw(read_raw(path))
