"""Training one model across the hosts of resourceconfig.json, as the container's `distributed.rabit_run` does.

Two communicator rounds, in the container's order: first every host joins only to tell the others whether
it has training data; a host without data then leaves ("not being used", exit 0) and the hosts with data
form a second group that trains with xgboost's collective. In each round the first host of the group
(sorted by name) runs xgboost's tracker and has rank 0; the second round's first host is the master, the
only one that saves the model. Hosts find the tracker through a `Network`: on SageMaker a DNS name and
port 9099 (9100 for the second round); the emulator's hosts are processes of one machine, so the
platform gives every job its own loopback ports.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from xgboost import collective
from xgboost.tracker import RabitTracker

from .container_log import ContainerLog
from .errors import UserError

TRACKER_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Network:
    """Where a host reaches the tracker of each round; `timeout_seconds` bounds waiting for the other hosts."""

    address: str = "127.0.0.1"
    ports: tuple[int, int] = (9099, 9100)
    timeout_seconds: int = 600


@dataclass(frozen=True)
class ResourceConfig:
    """The parts of /opt/ml/input/config/resourceconfig.json training uses."""

    current_host: str = "algo-1"
    hosts: tuple[str, ...] = ("algo-1",)

    @classmethod
    def from_json(cls, config: dict[str, Any]) -> ResourceConfig:
        if not config:
            return cls()
        return cls(current_host=config["current_host"], hosts=tuple(config["hosts"]))


def rabit_run(
    train: Callable[[bool], None],
    has_data: bool,
    resources: ResourceConfig,
    network: Network,
    train_path: str,
    out: ContainerLog,
) -> bool:
    """Run `train(is_master)` on the hosts that have training data; False when this host is left out."""
    hosts = sorted(resources.hosts)
    with _communicator(hosts, resources.current_host, network, network.ports[0]):
        flags = np.zeros(len(hosts))
        flags[hosts.index(resources.current_host)] = 1.0 if has_data else 0.0
        flags = collective.allreduce(flags, collective.Op.SUM)
    hosts_with_data = [host for host, flag in zip(hosts, flags) if flag > 0]
    if not hosts_with_data:
        # The container's hosts would all leave here (exit 0) and the job end without a model; fail clearly instead.
        raise UserError(f"No data in training channel path {train_path} on any of the {len(hosts)} hosts")
    if not has_data:
        out.warning(f"Host {resources.current_host} not being used for distributed training.")
        return False
    if len(hosts_with_data) == 1:
        train(True)
        return True
    with _communicator(hosts_with_data, resources.current_host, network, network.ports[1]):
        train(resources.current_host == hosts_with_data[0])
    return True


@contextmanager
def _communicator(hosts: list[str], current_host: str, network: Network, port: int) -> Iterator[None]:
    """xgboost's collective over `hosts`; the first of them runs the tracker (rank = position in `hosts`)."""
    rank = hosts.index(current_host)
    tracker = None
    if rank == 0:
        tracker = RabitTracker(
            n_workers=len(hosts), host_ip=network.address, port=port, sortby="task", timeout=network.timeout_seconds
        )
        tracker.start()
    else:
        _wait_for_tracker(network, port)
    try:
        with collective.CommunicatorContext(
            dmlc_tracker_uri=network.address,
            dmlc_tracker_port=port,
            dmlc_task_id=str(rank),
            dmlc_timeout=network.timeout_seconds,
        ):
            yield
        if tracker is not None:
            tracker.wait_for(network.timeout_seconds)  # until every worker has shut down
    finally:
        if tracker is not None:
            tracker.free()


def _wait_for_tracker(network: Network, port: int) -> None:
    """Poll until the tracker listens, as the container does: xgboost's own retries back off for seconds."""
    deadline = time.monotonic() + network.timeout_seconds
    while True:
        try:
            socket.create_connection((network.address, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise ConnectionError(
                    f"Failed to connect to Rabit Tracker at {network.address}:{port} within {network.timeout_seconds} s"
                ) from None
            time.sleep(TRACKER_POLL_SECONDS)
