"""Processing jobs: boto3 calls, botocore output shapes, the platform's inputs/outputs, stop, timeout, the provider."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_setup import connection_uri

from .conftest import BUCKET, ROLE_ARN, wait_for_status

SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPT = b"""
import os, sys
import pandas as pd
from sklearn.preprocessing import StandardScaler

frame = pd.read_csv("/opt/ml/processing/input/data/rows.csv".replace("/opt/ml/", sys.argv[2]), header=None)
scaled = StandardScaler().fit_transform(frame)
pd.DataFrame(scaled).to_csv(os.path.join(sys.argv[1], "scaled.csv"), header=False, index=False)
print("rows", len(frame), "mode", os.environ["MODE"], flush=True)
"""
FAILING = b'import sys\nprint("about to fail", flush=True)\nsys.exit("bad input: no rows")\n'
SLEEPING = b'import time\nprint("sleeping", flush=True)\ntime.sleep(120)\n'


@pytest.fixture(scope="module")
def code(s3) -> dict[str, str]:
    for name, body in (("scale.py", SCRIPT), ("fail.py", FAILING), ("sleep.py", SLEEPING)):
        s3.put_object(Bucket=BUCKET, Key=f"processing/code/{name}", Body=body)
    s3.put_object(Bucket=BUCKET, Key="processing/data/rows.csv", Body=b"1,10\n2,20\n3,30\n4,40\n")
    return {name: f"s3://{BUCKET}/processing/code/{name}" for name in ("scale.py", "fail.py", "sleep.py")}


def processing_request(name: str, script: str, code: dict[str, str], **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ProcessingJobName": name,
        "RoleArn": ROLE_ARN,
        "AppSpecification": {
            "ImageUri": SKLEARN,
            "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}"],
            "ContainerArguments": ["/opt/ml/processing/output/scaled", "/opt/ml/"],
        },
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": code[script],
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/processing/data",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "scaled",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/processing/out/{name}",
                        "LocalPath": "/opt/ml/processing/output/scaled",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        "Environment": {"MODE": "test"},
    }
    request.update(overrides)
    return request


def finished(sm, name: str) -> dict[str, Any]:
    return wait_for_status(
        lambda: sm.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        {"Completed", "Failed", "Stopped"},
        timeout=120,
    )


def test_inputs_run_outputs_and_logs(sm, s3, logs, code):
    sm.create_processing_job(**processing_request("pj-scale", "scale.py", code))
    described = finished(sm, "pj-scale")
    assert described["ProcessingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["ProcessingStartTime"] <= described["ProcessingEndTime"]
    rows = s3.get_object(Bucket=BUCKET, Key="processing/out/pj-scale/scaled.csv")["Body"].read().decode().splitlines()
    assert len(rows) == 4 and abs(sum(float(r.split(",")[0]) for r in rows)) < 1e-9  # standardised
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix="pj-scale/")
    assert [s["logStreamName"].startswith("pj-scale/algo-1-") for s in streams["logStreams"]] == [True]
    assert _log_lines(logs, "pj-scale") == ["rows 4 mode test"]
    summaries = sm.list_processing_jobs(NameContains="pj-scale", StatusEquals="Completed")["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in summaries] == ["pj-scale"]


def test_a_failing_script_fails_the_job_with_its_last_line(sm, code):
    sm.create_processing_job(**processing_request("pj-fail", "fail.py", code))
    described = finished(sm, "pj-fail")
    assert described["ProcessingJobStatus"] == "Failed"
    assert (
        described["FailureReason"] == "AlgorithmError: The processing container exited with code 1: bad input: no rows"
    )
    assert "about to fail" in described["ExitMessage"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {
                "AppSpecification": {
                    "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ContainerEntrypoint": ["python3", "x.py"],
                }
            },
            "sagemaker-scikit-learn:<version>",
        ),
        (
            {
                "ProcessingInputs": [
                    {
                        "InputName": "data",
                        "S3Input": {
                            "S3Uri": f"s3://{BUCKET}/processing/none",
                            "LocalPath": "/opt/ml/processing/input/data",
                            "S3DataType": "S3Prefix",
                        },
                    }
                ]
            },
            f'No S3 objects found under S3 URL "s3://{BUCKET}/processing/none"',
        ),
        (
            {
                "ProcessingInputs": [
                    {
                        "InputName": "data",
                        "S3Input": {
                            "S3Uri": f"s3://{BUCKET}/processing/data",
                            "LocalPath": "/opt/ml/processing/../../escape",
                            "S3DataType": "S3Prefix",
                        },
                    }
                ]
            },
            "does not name a directory inside /opt/ml/processing/",
        ),
    ],
)
def test_failures_name_the_cause(sm, code, overrides, reason):
    name = f"pj-bad-{abs(hash(json.dumps(overrides))) % 10000}"
    sm.create_processing_job(**processing_request(name, "scale.py", code, **overrides))
    described = finished(sm, name)
    assert described["ProcessingJobStatus"] == "Failed" and reason in described["FailureReason"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "ProcessingInputs": [
                    {
                        "InputName": "d",
                        "S3Input": {"S3Uri": f"s3://{BUCKET}/x", "LocalPath": "/data", "S3DataType": "S3Prefix"},
                    }
                ]
            },
            "LocalPath must be a directory under /opt/ml/processing/",
        ),
        (
            {
                "ProcessingInputs": [
                    {
                        "InputName": "d",
                        "S3Input": {
                            "S3Uri": f"s3://{BUCKET}/x",
                            "LocalPath": "/opt/ml/processing/d",
                            "S3DataType": "S3Prefix",
                            "S3InputMode": "Pipe",
                        },
                    }
                ]
            },
            "S3InputMode Pipe is not supported",
        ),
        ({"AppSpecification": {"ImageUri": SKLEARN}}, "ContainerEntrypoint is required"),
    ],
)
def test_requests_the_emulator_cannot_honour_are_refused(sm, code, overrides, message):
    with pytest.raises(ClientError) as error:
        sm.create_processing_job(**processing_request("pj-refused", "scale.py", code, **overrides))
    assert (
        error.value.response["Error"]["Code"] == "ValidationException"
        and message in error.value.response["Error"]["Message"]
    )


def _log_lines(logs, job: str) -> list[str]:
    try:
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamNamePrefix=f"{job}/")
    except logs.exceptions.ResourceNotFoundException:  # no processing job has logged yet
        return []
    return [
        e["message"]
        for s in streams["logStreams"]
        for e in logs.get_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", logStreamName=s["logStreamName"])[
            "events"
        ]
    ]


def test_stop_and_timeout_end_the_child(sm, logs, code):
    sm.create_processing_job(**processing_request("pj-stop", "sleep.py", code))
    deadline = time.monotonic() + 30
    while "sleeping" not in _log_lines(logs, "pj-stop") and time.monotonic() < deadline:
        time.sleep(0.2)  # a stop must end a running child, not only a queued job
    assert "sleeping" in _log_lines(logs, "pj-stop")
    sm.stop_processing_job(ProcessingJobName="pj-stop")
    assert finished(sm, "pj-stop")["ProcessingJobStatus"] == "Stopped"
    with pytest.raises(ClientError, match="in status Stopped"):
        sm.stop_processing_job(ProcessingJobName="pj-stop")
    sm.create_processing_job(
        **processing_request("pj-timeout", "sleep.py", code, StoppingCondition={"MaxRuntimeInSeconds": 2})
    )
    described = finished(sm, "pj-timeout")
    assert described["ProcessingJobStatus"] == "Stopped" and described["ExitMessage"].startswith("MaxRuntimeExceeded")
    with pytest.raises(ClientError) as duplicate:
        sm.create_processing_job(**processing_request("pj-timeout", "sleep.py", code))
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"


def test_the_providers_processing_operator(monkeypatch, tmp_path, emulator_url, s3, code):
    pytest.importorskip("airflow.providers.amazon")
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection_uri(emulator_url))
    config = processing_request("af-processing", "scale.py", code)
    result = SageMakerProcessingOperator(task_id="process", config=config, check_interval=1).execute({})
    assert result["Processing"]["ProcessingJobStatus"] == "Completed"
    assert s3.get_object(Bucket=BUCKET, Key="processing/out/af-processing/scaled.csv")["ContentLength"] > 0
    failing = processing_request("af-processing-fails", "fail.py", code)
    with pytest.raises(Exception, match="bad input: no rows"):
        SageMakerProcessingOperator(task_id="process", config=failing, check_interval=1).execute({})


def test_an_s3_key_with_dot_dot_fails_the_job_and_writes_nothing_outside(sm, s3, tmp_path, code):
    outside = tmp_path / "pwned.csv"
    key = "hostile-processing/data/" + "../" * 40 + str(outside).lstrip("/")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"1,2\n")
    inputs = [
        {
            "InputName": "data",
            "S3Input": {
                "S3Uri": f"s3://{BUCKET}/hostile-processing/data",
                "LocalPath": "/opt/ml/processing/input/data",
                "S3DataType": "S3Prefix",
            },
        }
    ]
    sm.create_processing_job(**processing_request("pj-dotdot", "scale.py", code, ProcessingInputs=inputs))
    described = finished(sm, "pj-dotdot")
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("ClientError: Data download failed: S3 key")
    assert not outside.exists()
