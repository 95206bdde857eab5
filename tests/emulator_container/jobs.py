"""Helpers to lay out an /opt/ml-like job folder for the emulated container."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CSV_CHANNEL = {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
               "RecordWrapperType": "None"}  # fmt: skip
TUTORIAL_HYPERPARAMETERS = {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6",
                            "subsample": "0.8", "objective": "binary:logistic", "num_round": "20"}  # fmt: skip


def binary_data(rows: int, features: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A learnable binary problem: the label depends on the first two features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    return x, y


def csv_text(x: np.ndarray, y: np.ndarray) -> str:
    """Label first, no header: what the container expects."""
    return "".join(",".join([str(label)] + [repr(float(v)) for v in row]) + "\n" for label, row in zip(y, x))


def write_job(
    opt_ml: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, dict[str, str]],
    files: dict[str, str | bytes],
) -> Path:
    """Lay out config and data files; `files` maps 'train/a.csv'-style paths under input/data to contents."""
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    for name in channels:
        (opt_ml / "input" / "data" / name).mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = opt_ml / "input" / "data" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return opt_ml


def failure_of(opt_ml: Path) -> str:
    return (opt_ml / "output" / "failure").read_text()
