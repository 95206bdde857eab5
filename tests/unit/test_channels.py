"""Channel CSVs: headerless, label first, compact numbers, checksummed and reproducible."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bankml.data.channels import write_channels
from bankml.data.features import build_model_frame
from bankml.data.schema import read_raw
from bankml.data.split import Splits, split_model_frame
from tests.paths import FULL_DATASET


def _frame(rows: int = 4, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": np.array([0, 1, 1, 0][:rows], dtype=np.int64),
            "age": np.array([56, 57, 37, 40][:rows], dtype=np.int64) + offset,
            "job_admin.": np.array([1, 0, 0, 1][:rows], dtype=np.uint8),
            "nr.employed": np.array([5191.0, 5228.1, 4963.6, 5099.1][:rows]),
            "cons.conf.idx": np.array([-36.4, 0.1 + 0.2, 1e-7, 93.994][:rows]),
        }
    )


def _splits(validation: bool = True) -> Splits:
    return Splits(train=_frame(), validation=_frame(2, offset=1) if validation else None, test=_frame(3, offset=2))


def test_files_are_headerless_label_first_and_compact(tmp_path: Path) -> None:
    channels = write_channels(_splits(), tmp_path)

    assert list(channels) == ["train", "validation", "test"]
    assert (tmp_path / "train.csv").read_text() == (
        "0,56,1,5191,-36.4\n1,57,0,5228.1,0.30000000000000004\n1,37,0,4963.6,0.0000001\n0,40,1,5099.1,93.994\n"
    )


def test_values_read_back_exactly(tmp_path: Path) -> None:
    splits = _splits()
    write_channels(splits, tmp_path)

    back = pd.read_csv(tmp_path / "train.csv", header=None)
    np.testing.assert_array_equal(back.to_numpy(), splits.train.to_numpy(dtype=float))


def test_descriptions_match_the_files(tmp_path: Path) -> None:
    channels = write_channels(_splits(), tmp_path)

    for name, rows in [("train", 4), ("validation", 2), ("test", 3)]:
        channel = channels[name]
        data = (tmp_path / f"{name}.csv").read_bytes()
        assert (channel.name, channel.path) == (name, tmp_path / f"{name}.csv")
        assert channel.rows == rows
        assert channel.sha256 == hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv", "train.csv", "validation.csv"]


def test_rewriting_is_byte_identical(tmp_path: Path) -> None:
    first = write_channels(_splits(), tmp_path / "a")
    second = write_channels(_splits(), tmp_path / "a")
    elsewhere = write_channels(_splits(), tmp_path / "b")

    assert {n: c.sha256 for n, c in first.items()} == {n: c.sha256 for n, c in second.items()}
    assert {n: c.sha256 for n, c in first.items()} == {n: c.sha256 for n, c in elsewhere.items()}


def test_no_validation_channel_removes_a_stale_one(tmp_path: Path) -> None:
    write_channels(_splits(validation=True), tmp_path)
    channels = write_channels(_splits(validation=False), tmp_path)

    assert list(channels) == ["train", "test"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv", "train.csv"]


def test_tutorial_channels_of_the_real_data(tmp_path: Path) -> None:
    raw = read_raw(FULL_DATASET)
    channels = write_channels(split_model_frame(build_model_frame(raw, "tutorial"), "tutorial"), tmp_path)

    assert {name: channel.rows for name, channel in channels.items()} == {"train": 28831, "test": 12357}
    first_line = (tmp_path / "train.csv").read_text().split("\n", 1)[0].split(",")
    assert len(first_line) == 60 and all(value.isdigit() for value in first_line)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f[["age", "y", "job_admin.", "nr.employed", "cons.conf.idx"]], "does not have the same columns"),
        (lambda f: f.drop(columns="age"), "channel test does not have the same columns"),
        (lambda f: f.head(0), "channel test has no rows"),
        (lambda f: f.assign(y=[0, 2, 1]), r"labels must be 0 or 1, got \[0.0, 1.0, 2.0\]"),
        (lambda f: f.assign(age=[1.0, np.nan, 3.0]), "NaN or infinite values in columns age"),
        (lambda f: f.assign(age=["a", "b", "c"]), "columns must be numeric, these are not: age"),
        (lambda f: f.assign(age=[True, False, True]), "columns must be numeric, these are not: age"),
    ],
)
def test_bad_channels_are_rejected_before_writing(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str, tmp_path: Path
) -> None:
    splits = Splits(train=_frame(), validation=None, test=change(_frame(3)))

    with pytest.raises(ValueError, match=message):
        write_channels(splits, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_label_must_come_first(tmp_path: Path) -> None:
    moved = _frame()[["age", "y", "job_admin.", "nr.employed", "cons.conf.idx"]]

    with pytest.raises(ValueError, match="the label column 'y' must come first, got 'age'"):
        write_channels(Splits(train=moved, validation=None, test=moved), tmp_path)
