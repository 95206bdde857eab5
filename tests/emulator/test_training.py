"""Training jobs over boto3: lifecycle, artifacts, logs, metrics, failures, stop and runtime limit."""

from __future__ import annotations

import io
import os
import re
import signal
import tarfile

import psutil
import pytest
from botocore.exceptions import ClientError, WaiterError

from tools.emulator_process import EmulatorProcess

from .conftest import BUCKET, IMAGES, channel, training_request, wait_for_job, wait_for_status


def test_completed_job_reports_like_the_service(sm, s3, logs, dataset, trained_models):
    job = sm.describe_training_job(TrainingJobName="fixture-3-0-5")
    assert job["TrainingJobArn"] == "arn:aws:sagemaker:us-east-1:123456789012:training-job/fixture-3-0-5"
    assert job["TrainingJobStatus"] == "Completed" and job["SecondaryStatus"] == "Completed"
    assert [(t["Status"], t["StatusMessage"]) for t in job["SecondaryStatusTransitions"]] == [
        ("Starting", "Preparing the instances for training"),
        ("Downloading", "Downloading the training image"),
        ("Training", "Training image download completed. Training in progress."),
        ("Uploading", "Uploading generated training model"),
        ("Completed", "Training job completed"),
    ]
    assert all("EndTime" in t for t in job["SecondaryStatusTransitions"])
    assert job["CreationTime"] <= job["TrainingStartTime"] < job["TrainingEndTime"] <= job["LastModifiedTime"]
    assert job["BillableTimeInSeconds"] >= 1 and job["ResourceConfig"]["InstanceCount"] == 1
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} == {"train:logloss", "validation:logloss"}
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/output/fixture-3-0-5/output/model.tar.gz"
    assert job["HyperParameters"]["num_round"] == "8"

    archive = s3.get_object(Bucket=BUCKET, Key="output/fixture-3-0-5/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert "xgboost-model" in tar.getnames()

    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="fixture-3-0-5/"
    )
    [stream] = streams["logStreams"]
    assert stream["logStreamName"].startswith("fixture-3-0-5/algo-1-")
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True
    )
    rounds = [e["message"] for e in events["events"] if re.match(r"\[\d+\]\t", e["message"])]
    assert len(rounds) == 8 and rounds[-1].startswith("[7]\ttrain-logloss:")
    last = dict(part.split(":") for part in rounds[-1].split("\t")[1:])
    final = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert final["validation:logloss"] == pytest.approx(float(last["validation-logloss"]))


def test_single_object_channel_and_listing(sm, dataset):
    request = training_request(
        "single-object", dataset, image=IMAGES["1.7-1"], InputDataConfig=[channel("train", dataset["single"])]
    )
    sm.create_training_job(**request)
    assert wait_for_job(sm, "single-object")["TrainingJobStatus"] == "Completed"
    names = [
        j["TrainingJobName"]
        for j in sm.list_training_jobs(NameContains="single", MaxResults=100)["TrainingJobSummaries"]
    ]
    assert names == ["single-object"]
    completed = sm.list_training_jobs(StatusEquals="Completed", MaxResults=1)
    assert len(completed["TrainingJobSummaries"]) == 1 and "NextToken" in completed


def test_duplicate_name_is_resource_in_use(sm, dataset, trained_models):
    with pytest.raises(ClientError) as error:
        sm.create_training_job(**training_request("fixture-3-0-5", dataset))
    assert error.value.response["Error"]["Code"] == "ResourceInUse"


def test_missing_job_is_validation_exception(sm):
    with pytest.raises(ClientError) as error:
        sm.describe_training_job(TrainingJobName="no-such-job")
    assert error.value.response["Error"] == {"Code": "ValidationException", "Message": "Requested resource not found."}
    with pytest.raises(WaiterError):
        sm.get_waiter("training_job_completed_or_stopped").wait(
            TrainingJobName="no-such-job", WaiterConfig={"Delay": 1}
        )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"TrainingJobName": "bad_name"},
            "1 validation error detected: Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        (
            {"TrainingJobName": "x" * 64},
            f"2 validation errors detected: Value '{'x' * 64}' at 'trainingJobName' failed to satisfy constraint: "
            "Member must have length less than or equal to 63; ",
        ),
        (
            {"HyperParameters": {f"k{i}": "1" for i in range(101)}},
            "at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal to 100",
        ),
        (
            {"RoleArn": "not-a-role-arn-at-all"},
            "at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern",
        ),
        (
            {"HyperParameters": {"num_round": "1" * 2501}},
            "at 'hyperParameters.num_round.value' failed to satisfy constraint: Member must have length less than or equal to 2500",
        ),
        (
            {"ResourceConfig": {"InstanceType": "ml.bogus", "InstanceCount": 1, "VolumeSizeInGB": 5}},
            "at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set",
        ),
        (
            {"AlgorithmSpecification": {"TrainingImage": IMAGES["3.0-5"], "TrainingInputMode": "Pipe"}},
            "TrainingInputMode Pipe is not supported by sagemaker-emulator; supported: File",
        ),
    ],
)
def test_invalid_requests_are_rejected_with_the_services_wording(sm, dataset, overrides, message):
    with pytest.raises(ClientError) as error:
        sm.create_training_job(**{**training_request("rejected", dataset), **overrides})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert message in error.value.response["Error"]["Message"]


def test_two_validation_errors_are_counted(sm, dataset):
    request = {**training_request("bad_one", dataset), "HyperParameters": {f"k{i}": "1" for i in range(101)}}
    with pytest.raises(ClientError) as error:
        sm.create_training_job(**request)
    assert error.value.response["Error"]["Message"].startswith("2 validation errors detected: Value 'bad_one'")


def test_unsupported_image_fails_the_job_naming_supported_images(sm, dataset):
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1"
    sm.create_training_job(**training_request("old-image", dataset, image=image))
    job = wait_for_job(sm, "old-image")
    assert job["TrainingJobStatus"] == "Failed"
    assert "1.7-1" in job["FailureReason"] and "3.0-5" in job["FailureReason"]
    assert job["SecondaryStatusTransitions"][-1]["Status"] == "Failed"


def test_algorithm_error_comes_from_the_container_failure_file(sm, dataset):
    request = training_request("no-num-round", dataset, HyperParameters={"objective": "binary:logistic"})
    sm.create_training_job(**request)
    job = wait_for_job(sm, "no-num-round")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: framework error:")
    assert job["FailureReason"].endswith("Missing required hyperparameter: num_round")


def test_missing_input_data_fails_the_job(sm, dataset):
    request = training_request("no-data", dataset, InputDataConfig=[channel("train", f"s3://{BUCKET}/nothing/here")])
    sm.create_training_job(**request)
    job = wait_for_job(sm, "no-data")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        f'ClientError: No S3 objects found under S3 URL "s3://{BUCKET}/nothing/here"'
    )


def test_stop_training_job(sm, dataset, control):
    control("POST", "delays", {"training_seconds": 30})
    try:
        sm.create_training_job(**training_request("to-stop", dataset))
        wait_for_status(lambda: sm.describe_training_job(TrainingJobName="to-stop"), "SecondaryStatus", {"Training"})
        sm.stop_training_job(TrainingJobName="to-stop")
        assert sm.describe_training_job(TrainingJobName="to-stop")["TrainingJobStatus"] in ("Stopping", "Stopped")
        job = wait_for_job(sm, "to-stop")
    finally:
        control("POST", "delays", {"training_seconds": 0})
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    with pytest.raises(ClientError) as error:
        sm.stop_training_job(TrainingJobName="to-stop")
    assert "status Stopped" in error.value.response["Error"]["Message"]


def test_max_runtime_is_enforced(sm, dataset, control):
    control("POST", "delays", {"training_seconds": 30})
    try:
        sm.create_training_job(**training_request("too-long", dataset, StoppingCondition={"MaxRuntimeInSeconds": 2}))
        job = wait_for_job(sm, "too-long")
    finally:
        control("POST", "delays", {"training_seconds": 0})
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_a_crashed_job_does_not_take_the_server_down(sm, dataset, control, session_emulator):
    control("POST", "delays", {"training_seconds": 30})
    try:
        sm.create_training_job(**training_request("crashes", dataset))
        wait_for_status(lambda: sm.describe_training_job(TrainingJobName="crashes"), "SecondaryStatus", {"Training"})
        os.kill(_child_pid(session_emulator, "crashes"), signal.SIGKILL)
        job = wait_for_job(sm, "crashes")
    finally:
        control("POST", "delays", {"training_seconds": 0})
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("AlgorithmError: the training process was killed by signal 9")
    assert control("GET", "health").json()["status"] == "running"


def _child_pid(emulator: EmulatorProcess, job_name: str) -> int:
    """The job's host process: the emulator's descendant (forked by its training forkserver) whose
    working directory is the host's folder of the job, .../training/JOB/algo-1."""
    for process in psutil.Process(emulator.process.pid).children(recursive=True):
        try:
            if process.cwd().endswith(f"/training/{job_name}/algo-1"):
                return process.pid
        except psutil.Error:
            continue
    raise AssertionError(f"no training process for {job_name}")


def test_injected_training_failure(sm, dataset, control):
    assert control("POST", "faults", {"fail_next_training_job": "InternalServerError: injected"}).status_code == 200
    sm.create_training_job(**training_request("injected", dataset))
    job = wait_for_job(sm, "injected")
    assert (job["TrainingJobStatus"], job["FailureReason"]) == ("Failed", "InternalServerError: injected")
    sm.create_training_job(**training_request("after-injected", dataset, HyperParameters={"num_round": "2"}))
    assert wait_for_job(sm, "after-injected")["TrainingJobStatus"] == "Completed"


def test_jobs_run_concurrently(sm, dataset):
    names = [f"parallel-{i}" for i in range(3)]
    for name in names:
        sm.create_training_job(**training_request(name, dataset, HyperParameters={"num_round": "2"}))
    assert all(wait_for_job(sm, name)["TrainingJobStatus"] == "Completed" for name in names)
