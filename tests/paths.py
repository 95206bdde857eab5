"""Where the tests' own data lives: inside the repository, never beside it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"
FULL_DATASET = ROOT / "plugins" / "bankml" / "resources" / "bank-additional-full.csv.gz"
SAMPLE_DATASET = TEST_DATA / "bank-additional.csv.gz"
TUTORIAL_CLEAN = TEST_DATA / "bank_clean.csv.gz"
COMPOSE_SCHEMA = TEST_DATA / "compose-spec.schema.json"
