"""The pool of pre-imported training children: a job takes the warm one, or a cold one when it is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagemaker_emulator.sagemaker.runner_pool import RunnerPool


def job_folder(tmp_path: Path, name: str) -> tuple[Path, Path]:
    folder = tmp_path / name
    folder.mkdir()
    spec = folder / "job.json"
    spec.write_text("{}")  # not a job: the child fails at once, which is all these tests need
    return spec, folder / "output.log"


@pytest.fixture
def pool(tmp_path: Path):
    pool = RunnerPool(tmp_path)
    yield pool
    pool.close()


def test_a_job_takes_the_warm_child_and_its_output_and_folder_are_the_jobs(pool: RunnerPool, tmp_path: Path) -> None:
    warm = pool._idle
    assert warm is not None and warm.process.poll() is None
    spec, output = job_folder(tmp_path, "first")
    runner = pool.take(spec, output)
    assert runner.process.pid == warm.process.pid
    assert runner.process.wait(timeout=240) != 0
    assert "Traceback" in output.read_text()  # the child's stderr went to the job's own output file
    assert pool._idle is not None and pool._idle.process.pid != warm.process.pid  # the next one is ready


def test_a_dead_warm_child_is_replaced_by_a_cold_start(pool: RunnerPool, tmp_path: Path) -> None:
    dead = pool._idle
    dead.process.kill()
    dead.process.wait()
    spec, output = job_folder(tmp_path, "second")
    runner = pool.take(spec, output)
    assert runner.process.pid != dead.process.pid
    assert runner.process.wait(timeout=240) != 0
    assert "Traceback" in output.read_text()


def test_close_ends_the_idle_child_and_a_cold_pool_keeps_none(tmp_path: Path) -> None:
    pool = RunnerPool(tmp_path)
    idle = pool._idle
    pool.close()
    assert idle.process.poll() is not None and pool._idle is None
    cold = RunnerPool(tmp_path, warm=False)
    assert cold._idle is None
    spec, output = job_folder(tmp_path, "cold")
    assert cold.take(spec, output).process.wait(timeout=240) != 0 and cold._idle is None
