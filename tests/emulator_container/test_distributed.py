"""The container on several hosts: one process per host, xgboost's collective between them (loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from sagemaker_emulator.sagemaker.job_supervisor import free_loopback_ports
from sagemaker_emulator.xgboost_container import training
from sagemaker_emulator.xgboost_container.versions import VERSIONS

from .jobs import CSV_CHANNEL, TUTORIAL_HYPERPARAMETERS, binary_data, csv_text, write_job

HOST = """
import json, sys
from pathlib import Path
import xgboost
from sagemaker_emulator.xgboost_container import training
from sagemaker_emulator.xgboost_container.distributed import Network
from sagemaker_emulator.xgboost_container.versions import VERSIONS
xgboost.set_config(nthread=1)
network = Network(ports=tuple(json.loads(sys.argv[2])), timeout_seconds=60)
sys.exit(training.run(Path(sys.argv[1]), VERSIONS[sys.argv[3]], print, network))
"""


def run_hosts(jobs: list[Path], tag: str = "3.0-5", timeout: float = 120) -> list[tuple[int, str]]:
    """Run one host process per job folder (algo-1, algo-2, ...); (exit code, log) of each."""
    hosts = [f"algo-{n}" for n in range(1, len(jobs) + 1)]
    ports = json.dumps(free_loopback_ports(2))
    processes = []
    for host, opt_ml in zip(hosts, jobs):
        config = {"current_host": host, "hosts": hosts, "network_interface_name": "eth0"}
        (opt_ml / "input" / "config" / "resourceconfig.json").write_text(json.dumps(config))
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", HOST, str(opt_ml), ports, tag],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )  # fmt: skip
        )
    try:
        return [(process.wait(timeout), process.stdout.read()) for process in processes]  # type: ignore[union-attr]
    finally:
        for process in processes:
            process.kill()


def auc(model_dir: Path, x: np.ndarray, y: np.ndarray) -> float:
    booster = xgb.Booster()
    booster.load_model(model_dir / training.MODEL_NAME)
    return float(roc_auc_score(y, booster.predict(xgb.DMatrix(x))))


def test_two_hosts_train_a_model_as_good_as_one(tmp_path):
    x, y = binary_data(6000, seed=3)
    train, test = csv_text(x[:4000], y[:4000]), (x[4000:], y[4000:])
    hyperparameters = {**TUTORIAL_HYPERPARAMETERS, "num_round": "30"}

    def job(name: str) -> Path:
        return write_job(tmp_path / name, hyperparameters, {"train": CSV_CHANNEL}, {"train/train.csv": train})

    single = job("single")
    assert training.run(single, VERSIONS["3.0-5"], lambda _line: None) == 0
    hosts = [job("algo-1"), job("algo-2")]
    results = run_hosts(hosts)
    assert [code for code, _ in results] == [0, 0], results
    assert "Distributed node training with 2 hosts: ['algo-1', 'algo-2']" in results[0][1]
    assert sum(line.startswith("[29]\ttrain-") for line in results[0][1].splitlines()) == 1
    assert "Reporting training SUCCESS" in results[1][1]
    assert not any((hosts[1] / "model").iterdir())  # only the master saves the model
    assert auc(hosts[0] / "model", *test) == pytest.approx(auc(single / "model", *test), abs=0.01)


def test_a_host_without_training_data_leaves_and_the_other_trains_alone(tmp_path):
    x, y = binary_data(400)
    with_data = write_job(tmp_path / "algo-1", TUTORIAL_HYPERPARAMETERS, {"train": CSV_CHANNEL},
                          {"train/part-0.csv": csv_text(x, y)})  # fmt: skip
    without = write_job(tmp_path / "algo-2", TUTORIAL_HYPERPARAMETERS, {"train": CSV_CHANNEL}, {})
    (first, first_log), (second, second_log) = run_hosts([with_data, without])
    assert (first, second) == (0, 0), (first_log, second_log)
    assert "Host algo-2 not being used for distributed training." in second_log
    assert "Reporting training SUCCESS" not in second_log  # it exits, as the container's sys.exit(0)
    assert (with_data / "model" / training.MODEL_NAME).is_file()
    assert not (without / "model").exists() or not any((without / "model").iterdir())


def test_the_1_7_1_image_trains_distributed_with_approx_as_xgboost_1_did(tmp_path):
    """xgboost 1.x picked 'approx' for tree_method auto in distributed training ('exact' cannot distribute)."""
    x, y = binary_data(400)
    hosts = [
        write_job(
            tmp_path / host, TUTORIAL_HYPERPARAMETERS, {"train": CSV_CHANNEL}, {"train/train.csv": csv_text(x, y)}
        )
        for host in ("algo-1", "algo-2")
    ]
    results = run_hosts(hosts, tag="1.7-1")
    assert [code for code, _ in results] == [0, 0], results  # 'exact' fails: "doesn't support distributed training"
    assert (hosts[0] / "model" / training.MODEL_NAME).is_file()
