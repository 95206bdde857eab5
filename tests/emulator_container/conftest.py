"""Fixtures: run the emulated container on a fresh job folder; small models trained once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sagemaker_emulator.xgboost_container import training
from sagemaker_emulator.xgboost_container.versions import VERSIONS, ContainerVersion

from .jobs import CSV_CHANNEL, TUTORIAL_HYPERPARAMETERS, binary_data, csv_text, write_job


@pytest.fixture
def run_job(tmp_path: Path) -> Callable[..., tuple[int, list[str], Path]]:
    """Run the container on a fresh job folder (one per call); returns (exit code, log lines, opt_ml)."""
    runs = iter(range(1_000))

    def run(
        hyperparameters: dict[str, str],
        files: dict[str, str | bytes],
        channels: dict[str, dict[str, str]] | None = None,
        version: ContainerVersion = VERSIONS["3.0-5"],
    ) -> tuple[int, list[str], Path]:
        channels = channels if channels is not None else {"train": CSV_CHANNEL, "validation": CSV_CHANNEL}
        opt_ml = write_job(tmp_path / f"opt_ml-{next(runs)}", hyperparameters, channels, files)
        lines: list[str] = []
        return training.run(opt_ml, version, lines.append), lines, opt_ml

    return run


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A model dir per image tag, trained by the emulated container on the same small data set."""
    x, y = binary_data(500)
    models = {}
    for tag, version in VERSIONS.items():
        opt_ml = write_job(tmp_path_factory.mktemp(f"job-{tag}"), TUTORIAL_HYPERPARAMETERS,
                           {"train": CSV_CHANNEL}, {"train/train.csv": csv_text(x, y)})  # fmt: skip
        assert training.run(opt_ml, version, lambda _line: None) == 0
        models[tag] = opt_ml / "model"
    return models
