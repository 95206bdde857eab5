"""Batch Transform conformance: boto3 calls, botocore's waiter and output shapes, the service's record rules."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from botocore.exceptions import ClientError, WaiterError

from .conftest import BUCKET, IMAGES, ROLE_ARN, _csv, wait_for_status

ROWS = 60


@pytest.fixture(scope="module")
def model_name(sm, trained_models) -> str:
    sm.create_model(
        ModelName="transform-model",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": IMAGES["3.0-5"], "ModelDataUrl": trained_models["3.0-5"]},
    )
    return "transform-model"


@pytest.fixture(scope="module")
def booster(s3, trained_models) -> xgb.Booster:
    """The trained model loaded here, to check the job's scores against."""
    bucket, _, key = trained_models["3.0-5"].removeprefix("s3://").partition("/")
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        model = tar.extractfile("xgboost-model").read()  # type: ignore[union-attr]
    loaded = xgb.Booster()
    loaded.load_model(bytearray(model))
    return loaded


@pytest.fixture(scope="module")
def test_rows(s3) -> np.ndarray:
    """Labelled rows (label first) in two objects, one in a sub-folder, and features-only copies."""
    rng = np.random.default_rng(11)
    features = rng.normal(size=(ROWS, 5))
    labels = (features[:, 0] > 0).astype(float)
    rows = np.column_stack([labels, features])
    s3.put_object(Bucket=BUCKET, Key="transform/features/a.csv", Body=_csv(features[:40]))
    s3.put_object(Bucket=BUCKET, Key="transform/features/sub/b.csv", Body=_csv(features[40:]))
    s3.put_object(Bucket=BUCKET, Key="transform/labelled/test.csv", Body=_csv(rows))
    s3.put_object(Bucket=BUCKET, Key="transform/wide/wide.csv", Body=_csv(np.ones((3, 9))))
    s3.put_object(Bucket=BUCKET, Key="transform/huge/huge.csv", Body=b"1," * (600 * 1024) + b"1\n")
    return rows


def transform_request(name: str, model_name: str, source: str, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/transform-out/{name}", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    for key, value in overrides.items():
        request[key] = {**request[key], **value} if isinstance(value, dict) and key in request else value
    return request


def run_job(sm, request: dict[str, Any]) -> dict[str, Any]:
    """Create a job and wait for it with botocore's own waiter; a Failed job ends it with WaiterError."""
    sm.create_transform_job(**request)
    try:
        sm.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=request["TransformJobName"], WaiterConfig={"Delay": 0.3, "MaxAttempts": 200}
        )
    except WaiterError as error:
        assert error.last_response.get("TransformJobStatus") == "Failed", error
    return sm.describe_transform_job(TransformJobName=request["TransformJobName"])


def output(s3, name: str, key: str) -> str:
    return s3.get_object(Bucket=BUCKET, Key=f"transform-out/{name}/{key}")["Body"].read().decode()


def scores(text: str) -> np.ndarray:
    return np.array([float(line) for line in text.splitlines()])


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_each_input_object_gets_its_out_object(sm, s3, model_name, test_rows, booster, strategy):
    name = f"tj-objects-{strategy.lower()}"
    request = transform_request(
        name, model_name, f"s3://{BUCKET}/transform/features", BatchStrategy=strategy, MaxConcurrentTransforms=3
    )
    description = run_job(sm, request)
    assert description["TransformJobStatus"] == "Completed", description.get("FailureReason")
    expected = booster.predict(xgb.DMatrix(test_rows[:, 1:]))
    got = np.concatenate([scores(output(s3, name, "a.csv.out")), scores(output(s3, name, "sub/b.csv.out"))])
    np.testing.assert_allclose(got, expected, rtol=1e-5)  # every record once, in input order
    assert description["TransformStartTime"] <= description["TransformEndTime"]
    assert description["BatchStrategy"] == strategy


def test_description_fills_the_containers_execution_parameters(sm, model_name, test_rows):
    request = transform_request(
        "tj-defaults", model_name, f"s3://{BUCKET}/transform/labelled/test.csv", DataProcessing={"InputFilter": "$[1:]"}
    )
    description = run_job(sm, request)
    assert description["TransformJobStatus"] == "Completed", description.get("FailureReason")
    assert description["BatchStrategy"] == "MultiRecord" and description["MaxPayloadInMB"] == 6
    assert description["MaxConcurrentTransforms"] >= 1
    assert description["DataProcessing"] == {"InputFilter": "$[1:]", "OutputFilter": "$", "JoinSource": "None"}
    assert description["TransformInput"]["CompressionType"] == "None"
    assert description["TransformJobArn"] == "arn:aws:sagemaker:us-east-1:123456789012:transform-job/tj-defaults"
    summaries = sm.list_transform_jobs(NameContains="tj-defaults", StatusEquals="Completed")["TransformJobSummaries"]
    assert [s["TransformJobName"] for s in summaries] == ["tj-defaults"]


def test_data_processing_filters_and_joins_with_the_input(sm, s3, model_name, test_rows, booster):
    request = transform_request(
        "tj-join",
        model_name,
        f"s3://{BUCKET}/transform/labelled/test.csv",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    description = run_job(sm, request)
    assert description["TransformJobStatus"] == "Completed", description.get("FailureReason")
    lines = [line.split(",") for line in output(s3, "tj-join", "test.csv.out").splitlines()]
    assert [float(label) for label, _ in lines] == test_rows[:, 0].tolist()
    np.testing.assert_allclose(
        [float(score) for _, score in lines], booster.predict(xgb.DMatrix(test_rows[:, 1:])), rtol=1e-5
    )


def test_json_lines_answers_and_a_json_join(sm, s3, model_name, test_rows):
    request = transform_request(
        "tj-jsonlines",
        model_name,
        f"s3://{BUCKET}/transform/labelled/test.csv",
        TransformOutput={"Accept": "application/jsonlines"},
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"},
    )
    description = run_job(sm, request)
    assert description["TransformJobStatus"] == "Completed", description.get("FailureReason")
    records = [json.loads(line) for line in output(s3, "tj-jsonlines", "test.csv.out").splitlines()]
    assert len(records) == ROWS
    assert records[0]["SageMakerInput"][0] == test_rows[0, 0] and 0 <= records[0]["SageMakerOutput"]["score"] <= 1


def test_assemble_none_concatenates_the_answers(sm, s3, model_name, test_rows):
    request = transform_request(
        "tj-none",
        model_name,
        f"s3://{BUCKET}/transform/features/a.csv",
        TransformOutput={"AssembleWith": "None"},
        BatchStrategy="SingleRecord",
    )
    assert run_job(sm, request)["TransformJobStatus"] == "Completed"
    assert len(output(s3, "tj-none", "a.csv.out").splitlines()) == 40  # each CSV answer ends with a newline


def test_a_container_error_fails_the_job_and_is_in_the_data_log(sm, logs, model_name, test_rows):
    description = run_job(sm, transform_request("tj-wide", model_name, f"s3://{BUCKET}/transform/wide"))
    assert description["TransformJobStatus"] == "Failed"
    assert description["FailureReason"] == "ClientError: See job logs for more information"
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="tj-wide/")
    data_log = next(s["logStreamName"] for s in streams["logStreams"] if s["logStreamName"].endswith("/data-log"))
    messages = [
        e["message"]
        for e in logs.get_log_events(logGroupName="/aws/sagemaker/TransformJobs", logStreamName=data_log)["events"]
    ]
    assert any("transform/wide/wide.csv: ClientError: 400" in m for m in messages), messages
    assert any("Unable to evaluate payload provided" in m for m in messages), messages


@pytest.mark.parametrize(
    ("name", "source", "overrides", "reason"),
    [
        ("tj-empty", f"s3://{BUCKET}/transform/nothing-here", {}, "ClientError: No S3 objects found under S3 URL"),
        (
            "tj-huge",
            f"s3://{BUCKET}/transform/huge",
            {"MaxPayloadInMB": 1},
            "ClientError: Record 1 is 1228801 bytes, larger than MaxPayloadInMB (1 MB)",
        ),
        (
            "tj-bad-field",
            f"s3://{BUCKET}/transform/features/a.csv",
            {"DataProcessing": {"InputFilter": "$[9]"}},
            "index 9 is out of range for a record of 5 fields",
        ),
        (
            "tj-no-output-bucket",
            f"s3://{BUCKET}/transform/features/a.csv",
            {"TransformOutput": {"S3OutputPath": "s3://no-such-bucket/out"}},
            "ClientError: Cannot write to S3OutputPath",
        ),
    ],
)
def test_failures_carry_the_reason(sm, model_name, test_rows, name, source, overrides, reason):
    description = run_job(sm, transform_request(name, model_name, source, **overrides))
    assert description["TransformJobStatus"] == "Failed"
    assert reason in description["FailureReason"]
    assert (
        sm.list_transform_jobs(NameContains=name)["TransformJobSummaries"][0]["FailureReason"]
        == description["FailureReason"]
    )


def test_a_model_that_cannot_load_or_an_unsupported_image_fails_the_job(sm, s3, test_rows):
    s3.put_object(Bucket=BUCKET, Key="transform/junk/model.tar.gz", Body=b"not a tarball")
    sm.create_model(
        ModelName="tj-junk-model",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": IMAGES["3.0-5"], "ModelDataUrl": f"s3://{BUCKET}/transform/junk/model.tar.gz"},
    )
    sm.create_model(
        ModelName="tj-other-image",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1"},
    )
    source = f"s3://{BUCKET}/transform/features/a.csv"
    junk = run_job(sm, transform_request("tj-junk", "tj-junk-model", source))
    assert junk["TransformJobStatus"] == "Failed" and "is a valid tar.gz archive" in junk["FailureReason"]
    other = run_job(sm, transform_request("tj-other", "tj-other-image", source))
    assert other["TransformJobStatus"] == "Failed" and "sagemaker-xgboost:1.7-1" in other["FailureReason"]


def test_injected_failure(sm, control, model_name, test_rows):
    control("POST", "faults", {"fail_next_transform_job": "InternalServerError: injected"})
    description = run_job(sm, transform_request("tj-injected", model_name, f"s3://{BUCKET}/transform/features/a.csv"))
    assert (description["TransformJobStatus"], description["FailureReason"]) == (
        "Failed",
        "InternalServerError: injected",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"ModelName": "no-such-model"},
            'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/no-such-model".',
        ),
        ({"TransformInput": {"SplitType": "RecordIO"}}, "SplitType RecordIO is not supported by sagemaker-emulator"),
        ({"MaxPayloadInMB": 101}, "MaxPayloadInMB must be at most 100"),
        ({"MaxPayloadInMB": 0}, "MaxPayloadInMB 0 (streaming) is not supported"),
        ({"DataProcessing": {"OutputFilter": "$..score"}}, "DataProcessing.OutputFilter: JSONPath '$..score'"),
        (
            {"DataProcessing": {"JoinSource": "Input"}, "TransformInput": {"SplitType": "None"}},
            "set TransformInput.SplitType to Line",
        ),
        (
            {
                "TransformInput": {
                    "DataSource": {"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": f"s3://{BUCKET}/m"}}
                }
            },
            "S3DataType ManifestFile is not supported by sagemaker-emulator; supported: S3Prefix.",
        ),
        ({"BatchStrategy": "Everything"}, "Member must satisfy enum value set: [MultiRecord, SingleRecord]"),
    ],
)
def test_bad_requests_are_validation_exceptions(sm, model_name, overrides, message):
    with pytest.raises(ClientError) as error:
        sm.create_transform_job(**transform_request("tj-refused", model_name, f"s3://{BUCKET}/x", **overrides))
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert message in error.value.response["Error"]["Message"]


def test_duplicates_missing_jobs_and_tags(sm, model_name, test_rows):
    request = transform_request(
        "tj-dup", model_name, f"s3://{BUCKET}/transform/features/a.csv", Tags=[{"Key": "project", "Value": "bankml"}]
    )
    description = run_job(sm, request)
    with pytest.raises(ClientError) as duplicate:
        sm.create_transform_job(**request)
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUse"
    assert sm.list_tags(ResourceArn=description["TransformJobArn"])["Tags"] == [{"Key": "project", "Value": "bankml"}]
    with pytest.raises(ClientError) as stop_finished:
        sm.stop_transform_job(TransformJobName="tj-dup")
    assert "in status Completed" in stop_finished.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        sm.describe_transform_job(TransformJobName="tj-never-created")
    assert missing.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(WaiterError):  # the waiter fails on ValidationException
        sm.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName="tj-never-created", WaiterConfig={"Delay": 0.2, "MaxAttempts": 2}
        )


def test_stop_ends_the_job_stopped(sm, control, model_name, test_rows):
    control("POST", "delays", {"step_seconds": 30})
    try:
        sm.create_transform_job(**transform_request("tj-stop", model_name, f"s3://{BUCKET}/transform/features"))
        sm.stop_transform_job(TransformJobName="tj-stop")
        assert sm.describe_transform_job(TransformJobName="tj-stop")["TransformJobStatus"] in ("Stopping", "Stopped")
        described = wait_for_status(
            lambda: sm.describe_transform_job(TransformJobName="tj-stop"), "TransformJobStatus", {"Stopped"}
        )
    finally:
        control("POST", "delays", {"step_seconds": 0.2})
    assert described["TransformJobStatus"] == "Stopped" and "FailureReason" not in described
    sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName="tj-stop", WaiterConfig={"Delay": 0.2})


def test_the_container_log_stream(logs, sm, model_name, test_rows):
    run_job(sm, transform_request("tj-logs", model_name, f"s3://{BUCKET}/transform/features/a.csv"))
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix="tj-logs/")
    names = [s["logStreamName"] for s in streams["logStreams"]]
    assert len(names) == 1 and names[0].startswith("tj-logs/i-")
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TransformJobs", logStreamName=names[0])["events"]
    assert any("transforming 1 object(s)" in e["message"] for e in events)
