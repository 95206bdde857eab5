"""The test harness's own startup path: a server that cannot start is reported with its log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.emulator_harness import Emulators


def test_a_failed_start_is_reported_with_the_tail_of_its_log(emulators: Emulators, tmp_path: Path) -> None:
    log = tmp_path / "emulator.log"
    with pytest.raises(
        RuntimeError,
        match=r"(?s)exited with code 2 while starting; last lines of .*emulator\.log:\n.*argument --port: invalid int value: 'x'",
    ):
        emulators.start("emulator", args=["--port", "x"])  # after the harness's own --port N
    assert "usage: python -m sagemaker_emulator" in log.read_text()


def test_a_start_that_misses_its_deadline_says_so() -> None:
    """Not an exit code: a start killed at its deadline (a loaded machine) must not read like a crash."""
    from tools.emulator_process import start_failure

    assert start_failure(None, 180) == "the emulator did not say it listens within 180 s (stopped)"
    assert start_failure(-9, 180) == "the emulator exited with code -9 while starting"
