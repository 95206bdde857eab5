"""Test-wide settings: Airflow imported by any test uses a throwaway home, never ~/airflow."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_home = Path(tempfile.mkdtemp(prefix="bankml-tests-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001 (pytest hook)
    """Keep tests that share an expensive fixture on one xdist worker (`--dist loadgroup`).

    tests/emulator shares one emulator and its trained models per session; every end-to-end,
    browser or integration module shares module-scoped DAG runs or a whole Airflow stack.
    Unit tests are spread freely.
    """
    import pytest

    for item in items:
        parts = item.path.relative_to(ROOT / "tests").parts
        if parts[0] == "emulator":
            item.add_marker(pytest.mark.xdist_group("emulator"))
        elif parts[0] in ("e2e", "browser", "integration", "emulator_container"):
            item.add_marker(pytest.mark.xdist_group("/".join(parts)))
