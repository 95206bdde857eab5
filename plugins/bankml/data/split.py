"""The tutorial's deterministic train/test split, with a validation slice for ``economic``.

The tutorial shuffles with ``sample(frac=1, random_state=1729)`` and trains on the first 70 %
(28,831 of 41,188 rows). Both feature sets use that same shuffle and the same test rows (70 %
onwards), so their test metrics are comparable; ``economic`` gives the 10 % before the test
rows to a validation channel, which leaves 60 % of all rows for training.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bankml.data.features import check_feature_set

SHUFFLE_SEED = 1729
TEST_START = 0.7
VALIDATION_START = 0.6


@dataclass(frozen=True)
class Splits:
    """Row subsets of a model frame; ``validation`` is None for the tutorial feature set."""

    train: pd.DataFrame
    validation: pd.DataFrame | None
    test: pd.DataFrame


def split_model_frame(frame: pd.DataFrame, feature_set: str) -> Splits:
    """Shuffle ``frame`` as the tutorial does and cut it for ``feature_set``."""
    check_feature_set(feature_set)
    shuffled = frame.sample(frac=1, random_state=SHUFFLE_SEED)
    test_start = int(TEST_START * len(shuffled))
    train_end = test_start if feature_set == "tutorial" else int(VALIDATION_START * len(shuffled))
    parts = {
        "train": shuffled.iloc[:train_end],
        "validation": None if feature_set == "tutorial" else shuffled.iloc[train_end:test_start],
        "test": shuffled.iloc[test_start:],
    }
    empty = [name for name, part in parts.items() if part is not None and part.empty]
    if empty:
        raise ValueError(
            f"splitting {len(frame)} rows for feature set {feature_set!r} leaves "
            f"{', '.join(empty)} empty; the model frame is too small"
        )
    return Splits(**parts)
