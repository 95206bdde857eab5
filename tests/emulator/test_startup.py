"""The test harness's own startup path: a server that cannot start is reported with its log."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import start_emulator


def test_a_failed_start_is_reported_with_the_tail_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "emulator.log"
    with pytest.raises(
        RuntimeError,
        match=r"(?s)exit code 2\); last lines of .*emulator\.log:\n.*argument --port: invalid int value: 'x'",
    ):
        start_emulator(["--port", "x"], log)
    assert "usage: python -m sagemaker_emulator" in log.read_text()
