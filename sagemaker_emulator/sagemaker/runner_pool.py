"""Training "containers" forked from one pre-imported process, so a job does not wait for xgboost to import.

A training host that starts cold spends ~4 s of CPU importing xgboost (which pulls in pandas,
scikit-learn and scipy) before it reads a byte of data: longer than training the tutorial's model.
The pool forks each host from this process's multiprocessing forkserver, which has imported the
training runner once (set_forkserver_preload), so an emulator pays the imports once, not per job.
Each host is still a process of its own that runs exactly one job and exits: jobs stay isolated.

The forkserver only imports: it starts no threads of its own and creates no clients, so no
OpenMP pool or boto3 state is forked (numpy's and scipy's OpenBLAS start worker threads when they
load, and stop them around each fork themselves). It exits when this process closes its end of
the forkserver's "alive" pipe: at `close`, or when this process dies, even by SIGKILL (once the
hosts it forked, which hold a copy, have exited too).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing import forkserver, resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_ready
from multiprocessing.process import BaseProcess
from pathlib import Path

RUNNER = "sagemaker_emulator.sagemaker.training_runner"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_CONTEXT = multiprocessing.get_context("forkserver")

# multiprocessing reads a child's exit status from a pipe, once: when two threads poll the same
# child at the same time, the second one reads EOF and records 255. Process.start() also polls every
# earlier child (to forget finished ones), so starts and polls of all hosts share this lock. (A start
# holds it until the forkserver has forked, which waits for its imports if it has just started: then
# no host is running yet, unless the forkserver died and is being replaced.)
_PROCESSES = threading.Lock()
_hosts: list[HostProcess] = []  # every host this process has forked and not seen exit; under _REGISTRY
_REGISTRY = threading.Lock()


class HostProcess:
    """A forked training host, with what job_supervisor uses of subprocess.Popen: pid, returncode
    (negative: killed by that signal), poll(), wait(timeout) (raises subprocess.TimeoutExpired),
    terminate() and kill()."""

    def __init__(self, process: BaseProcess) -> None:
        self._process = process
        self._sentinel = process.sentinel  # readable once the host has exited
        self.pid: int = process.pid  # type: ignore[assignment]  # set: the process is started
        self.returncode: int | None = None

    def poll(self) -> int | None:
        with _PROCESSES:
            if self.returncode is None:
                self.returncode = self._process.exitcode
            return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        wait_for_ready([self._sentinel], timeout)
        returncode = self.poll()
        if returncode is None:
            raise subprocess.TimeoutExpired(f"training host {self.pid}", timeout or 0.0)
        return returncode

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        with _PROCESSES:  # like Popen.send_signal: nothing once it is known to have exited
            if self.returncode is None and self._process.exitcode is None:
                os.kill(self.pid, number)


@dataclass
class Runner:
    """A training host and the read end of its events pipe."""

    process: HostProcess
    events_fd: int


class RunnerPool:
    """Forks training hosts from this process's forkserver, which has the training runner imported.

    There is one forkserver per process (multiprocessing's), so pools in one process share it; an
    emulator has one pool. `warm` starts it now, so that the first job waits for no import;
    otherwise the first job starts it."""

    def __init__(self, warm: bool = True) -> None:
        # The forkserver is `python -c ...` started in this process's working directory with its
        # environment: Python 3.11 hands it this process's sys.path but only the forked hosts apply
        # it, so the forkserver finds the package the way `python -c` there would (the working
        # directory, as in the compose image's /opt/bankml; PYTHONPATH; site-packages). A host
        # checks that it runs this package's copy (_host_main).
        _CONTEXT.set_forkserver_preload([RUNNER, __name__])
        if warm:
            forkserver.ensure_running()

    def take(self, spec_path: Path, output_path: Path) -> Runner:
        """A new host running the job in spec_path, its output in output_path, cwd its folder."""
        # Created here: a host that fails before it runs _host_main (its stderr is then this
        # process's) still leaves the job an output file, empty.
        os.close(os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        read_fd, write_fd = os.pipe()
        events = Connection(write_fd, readable=False)  # multiprocessing passes it to the host
        try:
            process = _CONTEXT.Process(
                target=_host_main,
                args=(str(spec_path), str(output_path), events, str(PACKAGE_ROOT)),
                name=f"training host {spec_path.parent.name}",
                daemon=True,  # should one outlive close(), the interpreter's exit ends it
            )
            with _PROCESSES:
                process.start()
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            events.close()  # the host has its own copy; EOF on read_fd once it exits
        host = HostProcess(process)
        with _REGISTRY:
            _hosts[:] = [*(other for other in _hosts if other.returncode is None), host]
        return Runner(host, read_fd)

    def close(self) -> None:
        """Shutdown: kill the hosts still running, then stop the forkserver (and multiprocessing's
        resource tracker, which it starts), waiting for each. Every host of the process: they share
        the forkserver, which does not exit while one runs."""
        with _REGISTRY:
            hosts, _hosts[:] = list(_hosts), []
        for host in hosts:
            host.kill()
        for host in hosts:
            host.wait()
        # The stdlib has no public way to stop them; these are the methods CPython's tests use. Should a
        # later Python drop them, both still exit with this process (their "alive" pipes close).
        # The forkserver is killed first: with no host left it holds nothing, and its orderly exit (an
        # interpreter with xgboost loaded finalizing) took ~0.5 s of every emulator's stop.
        server = getattr(forkserver, "_forkserver", None)
        pid = getattr(server, "_forkserver_pid", None)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for helper in (server, getattr(resource_tracker, "_resource_tracker", None)):
            stop = getattr(helper, "_stop", None)
            if stop is not None:
                stop()


def _host_main(spec_path: str, output_path: str, events: Connection, package_root: str) -> None:
    """A forked host: the job's output file as stdout and stderr and its folder as working
    directory, as a container starts; default signal handling; then the one job, whose code it
    exits with."""
    sys.stdout.flush()
    sys.stderr.flush()
    output = os.open(output_path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.chdir(Path(spec_path).parent)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the forkserver ignores ^C
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])  # none blocked, whatever the starting thread had
    events_fd = os.dup(events.fileno())
    events.close()
    if str(PACKAGE_ROOT) != package_root:
        sys.exit(
            f"the training forkserver imported sagemaker_emulator from {PACKAGE_ROOT}, the emulator runs "
            f"{package_root}: start the emulator where `python -c 'import sagemaker_emulator'` finds its copy"
        )
    from . import training_runner  # imported by the forkserver already

    sys.exit(training_runner.run_job(Path(spec_path), events_fd))
