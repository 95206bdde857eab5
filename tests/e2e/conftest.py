from __future__ import annotations

from pathlib import Path

import pytest

from tools.airflow_home import migrated_template


@pytest.fixture(scope="session")
def airflow_template() -> Path:
    """A migrated metadata DB that every scenario copies (migrating takes seconds), shared with `make demo`."""
    return migrated_template()
