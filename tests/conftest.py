"""Test-wide settings: Airflow imported by any test uses a throwaway home, never ~/airflow."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tools.local_setup import REGION

# Emulators started by any suite, and boto3 clients of them: tests/emulator_harness.py.
pytest_plugins = ["tests.emulator_harness"]

ROOT = Path(__file__).resolve().parents[1]
_home = Path(tempfile.mkdtemp(prefix="bankml-tests-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
# As the emulator does (sagemaker_emulator/__init__.py), for the xgboost and scikit-learn the tests
# load themselves: OpenMP threads that spin while idle steal the cores the suite's other processes need.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def pytest_collection_modifyitems(config, items) -> None:
    """`compose` tests (a Docker engine, minutes of image builds) run only when `-m` names them:
    `make test-compose`. Any other selection, `make test`'s included, leaves them out."""
    if "compose" in (config.getoption("markexpr") or ""):
        return
    deselected = [item for item in items if item.get_closest_marker("compose")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("compose")]
