"""The container's OpenMP threads wait passively: the emulator's instances share the machine's cores."""

from __future__ import annotations

import os
import subprocess
import sys

# libgomp prints its settings when it loads under OMP_DISPLAY_ENV=VERBOSE; passive waiting is a spin count of 0.
PROBE = "import sagemaker_emulator.sagemaker.training_runner"
# The emulator's training hosts are forked from a forkserver that has loaded libgomp for them: its
# settings are theirs. close() waits for it, which exits once its imports are done.
# One process forked before closing: the forkserver forks only once its imports are done (close kills it).
FORKSERVER_PROBE = (
    "from sagemaker_emulator.sagemaker.runner_pool import _CONTEXT, RunnerPool; pool = RunnerPool(); "
    "host = _CONTEXT.Process(target=int); host.start(); host.join(); pool.close()"
)


def _libgomp_spin_count(probe: str = PROBE, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        env={**base, "OMP_DISPLAY_ENV": "VERBOSE", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    [line] = [line for line in shown.splitlines() if "GOMP_SPINCOUNT" in line]
    return line.split("=")[1].strip().strip("'")


def test_xgboost_threads_do_not_spin_while_idle() -> None:
    assert _libgomp_spin_count() == "0"


def test_the_training_hosts_forkserver_does_not_spin_either() -> None:
    assert _libgomp_spin_count(FORKSERVER_PROBE) == "0"


def test_a_wait_policy_of_your_own_wins() -> None:
    assert _libgomp_spin_count(OMP_WAIT_POLICY="ACTIVE") != "0"
