"""The training hosts' pool: every job's host is forked from one forkserver that has the imports done."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sagemaker_emulator.sagemaker.runner_pool import Runner, RunnerPool


def job_folder(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A host folder whose job.json is a FIFO: the host waits there until the test writes it a spec."""
    folder = tmp_path / name
    folder.mkdir()
    spec = folder / "job.json"
    os.mkfifo(spec)
    return spec, folder / "output.log"


def running_children(command_part: str, parent: psutil.Process | None = None) -> list[psutil.Process]:
    """`parent`'s (this process's) children that run and whose command line holds `command_part`."""
    found = []
    for child in (parent or psutil.Process()).children():
        try:
            if command_part in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:
            continue
    return found


def multiprocessing_helpers() -> list[psutil.Process]:
    """This process's running children that multiprocessing started: a forkserver, a resource tracker."""
    return running_children("from multiprocessing.")


def forkservers(parent: psutil.Process | None = None) -> list[psutil.Process]:
    """The running multiprocessing forkservers started by `parent` (this process)."""
    return running_children("multiprocessing.forkserver", parent)


def the_forkserver(parent: psutil.Process | None = None) -> psutil.Process:
    """The one forkserver `parent` started: it starts as a fork of `parent`, with `parent`'s command
    line until its exec, which can come late on a loaded machine."""
    deadline = time.monotonic() + 60
    while not (found := forkservers(parent)) and time.monotonic() < deadline:
        time.sleep(0.05)
    [server] = found
    return server


def waiting_host(runner: Runner, spec: Path) -> tuple[psutil.Process, int]:
    """The runner's host, once it is reading its spec (all it imports is imported), and the spec's
    write end: write a spec and close it, and the job goes on."""
    deadline = time.monotonic() + 60
    while True:
        try:
            writer = os.open(spec, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until a reader has it open
            break
        except OSError as error:
            if error.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            assert runner.process.poll() is None
            time.sleep(0.05)
    host = psutil.Process(runner.process.pid)
    assert host.cwd() == str(spec.parent)
    return host, writer


def write_spec(writer: int, spec: str) -> None:
    os.write(writer, spec.encode())
    os.close(writer)


def gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def pool():
    pool = RunnerPool(warm=False)
    yield pool
    pool.close()


def test_jobs_run_in_hosts_forked_from_one_forkserver_that_the_first_job_starts(
    pool: RunnerPool, tmp_path: Path
) -> None:
    assert forkservers() == []  # not warm: nothing is started before the first job
    spec, output = job_folder(tmp_path, "first")
    first = pool.take(spec, output)
    host, writer = waiting_host(first, spec)
    [server] = forkservers()
    assert host.ppid() == server.pid
    assert first.process.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        first.process.wait(timeout=0.1)
    write_spec(writer, "{}")  # not a job: the host fails at once, with the job's exit code and output
    assert first.process.wait(timeout=60) == 1 and first.process.returncode == 1
    assert "KeyError: 'request'" in output.read_text()  # its stderr went to the job's own output file
    assert os.read(first.events_fd, 1) == b""  # the host held the only write end of its events pipe
    os.close(first.events_fd)
    # The forkserver did the imports once (a host that imports xgboost itself spends ~4 s of CPU) and
    # started no threads (no OpenMP pool; OpenBLAS, which starts threads when it loads, stops them to fork).
    assert server.num_threads() == 1

    spec, output = job_folder(tmp_path, "second")
    second = pool.take(spec, output)
    host, writer = waiting_host(second, spec)
    assert host.ppid() == server.pid and forkservers() == [server]
    assert sum(host.cpu_times()[:2]) < 1.0, host.cpu_times()
    write_spec(writer, "{}")
    assert second.process.wait(timeout=60) == 1
    os.close(second.events_fd)


def test_a_host_killed_by_sigkill_reports_minus_9(pool: RunnerPool, tmp_path: Path) -> None:
    spec, output = job_folder(tmp_path, "killed")
    runner = pool.take(spec, output)
    _, writer = waiting_host(runner, spec)
    os.kill(runner.process.pid, signal.SIGKILL)
    assert runner.process.wait(timeout=30) == -9 and runner.process.poll() == -9
    runner.process.kill()  # ended already: nothing to signal (the pid may be another process's by now)
    os.close(writer)
    os.close(runner.events_fd)


def test_a_warm_pool_starts_its_forkserver_at_once_and_close_leaves_nothing_running(tmp_path: Path) -> None:
    pool = RunnerPool()
    server = the_forkserver()
    spec, output = job_folder(tmp_path, "running")
    runner = pool.take(spec, output)
    host, writer = waiting_host(runner, spec)
    pool.close()
    assert runner.process.returncode == -9 and gone(host) and gone(server)
    # nor multiprocessing's resource tracker (other children, e.g. a browser another test of this worker
    # keeps open, are not the pool's)
    assert multiprocessing_helpers() == []
    os.close(writer)
    os.close(runner.events_fd)


def test_the_forkserver_of_a_process_killed_by_sigkill_exits() -> None:
    code = (
        "import time; from sagemaker_emulator.sagemaker.runner_pool import RunnerPool; "
        "pool = RunnerPool(); print('ready', flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
        server = the_forkserver(psutil.Process(parent.pid))
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 60  # once it has done its imports, it sees its parent's pipe closed
        while not gone(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(server)
    finally:
        parent.kill()
        parent.wait()
