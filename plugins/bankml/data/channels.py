"""Write the splits as the CSV channels SageMaker's built-in XGBoost reads.

The algorithm wants the label in the first column and no header (a header row is silently read
as one more row of missing values), so both are checked here rather than discovered in a failed
or, worse, a subtly wrong training job. Numbers are written compactly (integers as integers,
floats in their shortest exact form) and the bytes depend only on the data, so a retried task
writes identical files with identical checksums.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bankml.data.schema import LABEL_COLUMN
from bankml.data.split import Splits

CHANNEL_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class ChannelFile:
    """One written channel: where it is, its row count and its checksum (for logs and S3 checks)."""

    name: str
    path: Path
    rows: int
    sha256: str


def write_channels(splits: Splits, out_dir: Path) -> dict[str, ChannelFile]:
    """Write ``<name>.csv`` per present channel into ``out_dir`` and describe each file.

    A ``validation.csv`` left in ``out_dir`` by an earlier run is removed when ``splits`` has
    no validation part, so the directory always holds exactly the channels returned.
    """
    frames = {
        name: frame
        for name, frame in zip(CHANNEL_NAMES, (splits.train, splits.validation, splits.test))
        if frame is not None
    }
    for name, frame in frames.items():
        _check_frame(name, frame, reference=splits.train)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {name: _write(name, frame, out_dir) for name, frame in frames.items()}
    if splits.validation is None:
        (out_dir / "validation.csv").unlink(missing_ok=True)
    return written


def _check_frame(name: str, frame: pd.DataFrame, reference: pd.DataFrame) -> None:
    if frame.empty:
        raise ValueError(f"channel {name} has no rows")
    if list(frame.columns) != list(reference.columns):
        raise ValueError(f"channel {name} does not have the same columns, in the same order, as train")
    if frame.columns[0] != LABEL_COLUMN:
        raise ValueError(f"channel {name}: the label column {LABEL_COLUMN!r} must come first, got {frame.columns[0]!r}")
    not_numeric = [
        str(column)
        for column, dtype in frame.dtypes.items()
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype)
    ]
    if not_numeric:
        raise ValueError(f"channel {name}: columns must be numeric, these are not: {', '.join(not_numeric)}")
    values = frame.to_numpy(dtype=np.float64)
    not_finite = [str(c) for c, ok in zip(frame.columns, np.isfinite(values).all(axis=0)) if not ok]
    if not_finite:
        raise ValueError(f"channel {name}: NaN or infinite values in columns {', '.join(not_finite)}")
    labels = set(np.unique(values[:, 0]).tolist())
    if not labels <= {0.0, 1.0}:
        raise ValueError(f"channel {name}: labels must be 0 or 1, got {sorted(labels)}")


def _write(name: str, frame: pd.DataFrame, out_dir: Path) -> ChannelFile:
    data = frame.to_csv(header=False, index=False, lineterminator="\n", float_format=_compact_float).encode("ascii")
    path = out_dir / f"{name}.csv"
    # Write then rename: a crash never leaves a half-written channel under the real name.
    with tempfile.NamedTemporaryFile(dir=out_dir, prefix=f".{name}.", suffix=".part", delete=False) as tmp:
        try:
            tmp.write(data)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)
    return ChannelFile(
        name=name,
        path=path,
        rows=len(frame),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _compact_float(value: float) -> str:
    """Shortest digits that read back as the same float: 5191.0 -> "5191", 93.994 -> "93.994"."""
    return np.format_float_positional(value, trim="-")
