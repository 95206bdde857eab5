"""The migrated-DB template `make demo` and the e2e tests copy: made once per set of installed packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import airflow_home


@pytest.fixture
def migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record each migration instead of running Airflow's (which takes seconds)."""
    done: list[Path] = []

    def migrate(home: Path, template: Path | None = None) -> None:
        done.append(home)
        (home / "airflow.db").write_text("migrated")

    monkeypatch.setattr(airflow_home, "TEMPLATES", tmp_path / "templates")
    monkeypatch.setattr(airflow_home, "migrate", migrate)
    return done


def test_the_template_is_migrated_once_and_then_reused(migrations: list[Path]) -> None:
    first = airflow_home.migrated_template()
    second = airflow_home.migrated_template()
    assert first == second and (first / "airflow.db").read_text() == "migrated"
    assert len(migrations) == 1
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # the build folder was renamed, not left


def test_other_installed_packages_get_another_template(migrations: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    before = airflow_home.migrated_template()

    class Upgraded:
        metadata = {"Name": "apache-airflow-core"}
        version = "99.0.0"

    installed = list(airflow_home.metadata.distributions())
    monkeypatch.setattr(airflow_home.metadata, "distributions", lambda: [*installed, Upgraded()])
    after = airflow_home.migrated_template()
    assert after != before and len(migrations) == 2


def test_a_template_made_concurrently_wins_and_the_loser_is_removed(
    migrations: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first runs at once: the second rename fails; its build folder must not stay behind."""
    home = airflow_home.migrated_template()
    (home / "airflow.db").unlink()  # as if this process looked before the other one finished
    (home / "marker").write_text("the other run's template")
    again = airflow_home.migrated_template()
    assert again == home and (home / "marker").exists()
    assert [p.name for p in home.parent.iterdir()] == [home.name]


def test_a_distribution_found_twice_on_sys_path_gives_the_same_template(
    migrations: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editable install's egg-info in the working directory lists it again, depending on how Python started."""
    before = airflow_home.migrated_template()
    installed = list(airflow_home.metadata.distributions())
    monkeypatch.setattr(airflow_home.metadata, "distributions", lambda: [*installed, installed[0]])
    assert airflow_home.migrated_template() == before and len(migrations) == 1
