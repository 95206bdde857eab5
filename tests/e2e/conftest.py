from __future__ import annotations

from pathlib import Path

import pytest

from tools.airflow_home import migrate


@pytest.fixture(scope="session")
def airflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated metadata DB that every scenario copies (migrating takes seconds)."""
    home = tmp_path_factory.mktemp("airflow-template")
    migrate(home)
    return home
