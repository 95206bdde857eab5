"""The real Python floor is 3.11.4 (tarfile extraction filters): declared, and refused early below it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.paths import ROOT


def test_pyproject_declares_the_floor() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11.4"


def test_make_refuses_an_older_interpreter_before_building_anything(tmp_path: Path) -> None:
    old = tmp_path / "python3"
    old.write_text('#!/bin/sh\n[ "$1" = "-V" ] && echo "Python 3.11.2"\nexit 1\n')
    old.chmod(0o755)
    venv = tmp_path / "venv"
    completed = subprocess.run(
        ["make", "-s", "-B", "venv", f"PYTHON={old}", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True
    )
    assert completed.returncode != 0
    assert "bankml needs Python 3.11.4 or newer" in completed.stderr
    assert "Python 3.11.2" in completed.stderr
    assert not venv.exists()


def test_the_emulator_refuses_an_older_interpreter_with_the_reason() -> None:
    code = "import sys; sys.version_info = (3, 11, 2, 'final', 0); import sagemaker_emulator"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode != 0
    assert "sagemaker_emulator needs Python 3.11.4 or newer (tarfile extraction filters)" in completed.stderr
