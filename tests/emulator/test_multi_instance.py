"""Training jobs with InstanceCount > 1: one process per host, distributed XGBoost, sharding, failures."""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.exceptions import ClientError

from tools.emulator_process import EmulatorProcess

from .conftest import BUCKET, IMAGES, _csv, channel, training_request, wait_for_job, wait_for_status

GROUP = "/aws/sagemaker/TrainingJobs"


def resources(count: int) -> dict[str, Any]:
    return {"ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": count, "VolumeSizeInGB": 5}}


def sharded(name: str, uri: str) -> dict[str, Any]:
    entry = channel(name, uri)
    entry["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    return entry


def host_logs(logs: Any, job: str) -> dict[str, list[str]]:
    """host -> its log stream's messages."""
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{job}/")["logStreams"]
    result = {}
    for stream in streams:
        host = stream["logStreamName"].split("/")[1].rsplit("-", 1)[0]
        events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream["logStreamName"], startFromHead=True)
        result[host] = [event["message"] for event in events["events"]]
    return result


def host_processes(emulator: EmulatorProcess, job: str) -> dict[str, psutil.Process]:
    """The job's running host processes: the emulator's descendants (hosts are forked by its training
    forkserver) whose working directory is a host's folder of the job, .../training/JOB/algo-N. Only
    this emulator's, since another emulator on the machine may be running a job of the same name."""
    found = {}
    for process in psutil.Process(emulator.process.pid).children(recursive=True):
        try:
            cwd = Path(process.cwd())
        except psutil.Error:
            continue
        if cwd.name.startswith("algo-") and cwd.parent.name == job and cwd.parent.parent.name == "training":
            found[cwd.name] = process
    return found


@pytest.fixture(scope="module")
def shards(s3: Any) -> dict[str, Any]:
    """Two objects under one prefix (for ShardedByS3Key), and a prefix holding one object."""
    import numpy as np

    rng = np.random.default_rng(11)
    features = rng.normal(size=(500, 5))
    labels = (features[:, 0] - features[:, 2] > 0).astype(float)
    rows = np.column_stack([labels, features])
    s3.put_object(Bucket=BUCKET, Key="shards/train/a.csv", Body=_csv(rows[:300]))
    s3.put_object(Bucket=BUCKET, Key="shards/train/b.csv", Body=_csv(rows[300:]))
    s3.put_object(Bucket=BUCKET, Key="shards/one/only.csv", Body=_csv(rows))
    return {"two": f"s3://{BUCKET}/shards/train", "one": f"s3://{BUCKET}/shards/one", "rows": (300, 200, 500)}


def test_two_instances_train_one_model_on_algo_1(sm, s3, logs, dataset):
    sm.create_training_job(**training_request("multi-two", dataset, **resources(2)))
    job = wait_for_job(sm, "multi-two")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ResourceConfig"]["InstanceCount"] == 2
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"
    ]  # fmt: skip
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} == {"train:logloss", "validation:logloss"}
    archive = s3.get_object(Bucket=BUCKET, Key="output/multi-two/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["xgboost-model"]

    lines = host_logs(logs, "multi-two")
    assert sorted(lines) == ["algo-1", "algo-2"]
    for host, messages in lines.items():
        assert any("Distributed node training with 2 hosts: ['algo-1', 'algo-2']" in m for m in messages), host
        assert any(f"is_master={host == 'algo-1'}" in m for m in messages), host
    assert sum(m.startswith("[7]\ttrain-logloss:") for m in lines["algo-1"]) == 1  # rank 0 prints the rounds
    assert not any(m.startswith("[0]\t") for m in lines["algo-2"])


def test_sharded_by_s3_key_gives_each_host_its_objects(sm, logs, dataset, shards):
    request = training_request(
        "multi-sharded", dataset, InputDataConfig=[sharded("train", shards["two"])], **resources(2)
    )
    sm.create_training_job(**request)
    job = wait_for_job(sm, "multi-sharded")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    lines = host_logs(logs, "multi-sharded")
    for host, rows in (("algo-1", shards["rows"][0]), ("algo-2", shards["rows"][1])):
        assert any(f"Train matrix has {rows} rows" in m for m in lines[host]), (host, lines[host])


def test_fully_replicated_gives_every_host_all_objects(sm, logs, dataset, shards):
    request = training_request(
        "multi-replicated", dataset, InputDataConfig=[channel("train", shards["two"])], **resources(2)
    )
    sm.create_training_job(**request)
    assert wait_for_job(sm, "multi-replicated")["TrainingJobStatus"] == "Completed"
    for host, messages in host_logs(logs, "multi-replicated").items():
        assert any(f"Train matrix has {shards['rows'][2]} rows" in m for m in messages), host


def test_a_host_without_a_shard_sits_out_as_in_the_container(sm, s3, logs, dataset, shards):
    """One object, two hosts: algo-2 gets no data, says so and leaves; algo-1 trains alone and uploads."""
    request = training_request(
        "multi-short", dataset, InputDataConfig=[sharded("train", shards["one"])], **resources(2)
    )
    sm.create_training_job(**request)
    job = wait_for_job(sm, "multi-short")
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    lines = host_logs(logs, "multi-short")
    assert any("Host algo-2 does not have data. Will broadcast to cluster" in m for m in lines["algo-2"])
    assert any("Host algo-2 not being used for distributed training." in m for m in lines["algo-2"])
    assert any(f"Train matrix has {shards['rows'][2]} rows" in m for m in lines["algo-1"])
    assert s3.head_object(Bucket=BUCKET, Key="output/multi-short/output/model.tar.gz")["ContentLength"] > 0


def test_no_host_with_data_fails_clearly(sm, s3, dataset):
    s3.put_object(Bucket=BUCKET, Key="shards/empty/empty.csv", Body=b"")
    train = sharded("train", f"s3://{BUCKET}/shards/empty")
    sm.create_training_job(**training_request("multi-empty", dataset, InputDataConfig=[train], **resources(2)))
    job = wait_for_job(sm, "multi-empty")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: framework error:")
    assert job["FailureReason"].endswith("/opt_ml/input/data/train on any of the 2 hosts"), job["FailureReason"]
    assert "UserError: No data in training channel path" in job["FailureReason"]


@pytest.mark.parametrize("count", [0, 5])
def test_instance_count_outside_what_the_emulator_runs_is_refused(sm, dataset, count):
    with pytest.raises(ClientError) as error:
        sm.create_training_job(**training_request(f"multi-refused-{count}", dataset, **resources(count)))
    code = error.value.response["Error"]["Code"]
    message = error.value.response["Error"]["Message"]
    if count:
        assert code == "ResourceLimitExceeded"
        assert "is 4 Instances, with a request delta of 5 Instances" in message
        assert "SAGEMAKER_EMULATOR_MAX_TRAINING_INSTANCES" in message
    else:
        assert code == "ValidationException" and "InstanceCount must be at least 1" in message
    with pytest.raises(ClientError):
        sm.describe_training_job(TrainingJobName=f"multi-refused-{count}")


def long_job(name: str, dataset: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """Two hosts training for minutes (tiny rounds, very many of them) unless something ends them."""
    request = training_request(name, dataset, **resources(2), **overrides)
    request["HyperParameters"] = {**request["HyperParameters"], "num_round": "1000000"}
    return request


def wait_for_hosts(sm: Any, emulator: EmulatorProcess, job: str, count: int) -> dict[str, psutil.Process]:
    """The job's host processes, once it is Training (all hosts have their data)."""
    described = wait_for_status(lambda: sm.describe_training_job(TrainingJobName=job), "SecondaryStatus", {"Training"})
    assert described["SecondaryStatus"] == "Training", described["SecondaryStatusTransitions"]
    deadline = time.monotonic() + 30
    while len(processes := host_processes(emulator, job)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(processes) == [f"algo-{n}" for n in range(1, count + 1)], sm.describe_training_job(
        TrainingJobName=job
    )
    time.sleep(1.0)  # into the boosting rounds
    return processes


def gone(processes: dict[str, psutil.Process]) -> bool:
    return not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in processes.values())


def test_a_dead_host_fails_the_job_and_ends_its_peer(sm, session_emulator, dataset):
    sm.create_training_job(**long_job("multi-dies", dataset))
    processes = wait_for_hosts(sm, session_emulator, "multi-dies", 2)
    processes["algo-2"].kill()
    started = time.monotonic()
    job = wait_for_status(
        lambda: sm.describe_training_job(TrainingJobName="multi-dies"), "TrainingJobStatus", {"Failed"}, timeout=30
    )
    assert job["TrainingJobStatus"] == "Failed" and time.monotonic() - started < 15
    assert job["FailureReason"].startswith(
        "AlgorithmError: the training process of host algo-2 was killed by signal 9 without writing a failure reason"
    ), job["FailureReason"]
    assert gone(processes)


def test_stop_ends_every_host(sm, session_emulator, dataset):
    sm.create_training_job(**long_job("multi-stop", dataset))
    processes = wait_for_hosts(sm, session_emulator, "multi-stop", 2)
    for host, process in processes.items():  # each host's own job folder, as /opt/ml on its instance
        config = json.loads((Path(process.cwd()) / "opt_ml" / "input" / "config" / "resourceconfig.json").read_text())
        assert config == {"current_host": host, "hosts": ["algo-1", "algo-2"], "network_interface_name": "eth0"}
    sm.stop_training_job(TrainingJobName="multi-stop")
    job = wait_for_job(sm, "multi-stop")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert gone(processes)


def test_max_runtime_ends_every_host(sm, session_emulator, dataset):
    """Every host process seen while the job runs is gone once MaxRuntimeInSeconds has stopped it."""
    sm.create_training_job(**long_job("multi-timeout", dataset, StoppingCondition={"MaxRuntimeInSeconds": 20}))
    seen: dict[str, psutil.Process] = {}
    while sm.describe_training_job(TrainingJobName="multi-timeout")["TrainingJobStatus"] == "InProgress":
        seen.update(host_processes(session_emulator, "multi-timeout"))
        time.sleep(0.2)
    job = wait_for_job(sm, "multi-timeout")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert seen and gone(seen)


def test_a_host_failing_on_its_own_data_gives_the_reason_not_its_peers_lost_connection(sm, s3, dataset, shards):
    """algo-2's shard has labels outside [0, 1]: its own error is the FailureReason, not algo-1's lost peer."""
    import numpy as np

    rows = np.column_stack([np.full(50, 3.0), np.random.default_rng(0).normal(size=(50, 5))])
    s3.put_object(Bucket=BUCKET, Key="shards/bad/b.csv", Body=_csv(rows))
    s3.copy_object(Bucket=BUCKET, Key="shards/bad/a.csv", CopySource={"Bucket": BUCKET, "Key": "shards/train/a.csv"})
    train = sharded("train", f"s3://{BUCKET}/shards/bad")
    request = training_request("multi-bad", dataset, image=IMAGES["1.7-1"], InputDataConfig=[train], **resources(2))
    sm.create_training_job(**request)
    job = wait_for_job(sm, "multi-bad")
    assert job["TrainingJobStatus"] == "Failed"
    assert "label must be in [0,1] for logistic regression" in job["FailureReason"], job["FailureReason"]
