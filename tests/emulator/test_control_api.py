"""Routing by SigV4 scope, moto services on the same port, tags, and the /_emulator control API and CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator_harness import Emulators, emulator_client
from tools.local_setup import ROLE_NAME

from .conftest import BUCKET


def test_moto_services_share_the_port(emulator_url, s3, logs):
    with pytest.raises(ClientError) as error:
        s3.head_bucket(Bucket="no-such-bucket")
    assert error.value.response["Error"]["Code"] == "404"  # the provider's check_for_bucket does int(code)
    assert emulator_client(emulator_url, "sts").get_caller_identity()["Account"] == "123456789012"
    assert (
        emulator_client(emulator_url, "iam").get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
        == f"arn:aws:iam::123456789012:role/{ROLE_NAME}"
    )
    s3.put_object(Bucket=BUCKET, Key="presigned.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned.txt"})
    assert requests.get(url, timeout=10).content == b"hello"


def test_unknown_operation_is_refused(emulator_url):
    response = requests.post(
        emulator_url,
        data="{}",
        headers={
            "X-Amz-Target": "SageMaker.CreateNotebookInstance",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=x",
        },
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["__type"] == "UnknownOperationException"
    assert "CreateTrainingJob" in response.json()["message"]


def test_malformed_json_is_a_serialization_exception(emulator_url):
    headers = {
        "X-Amz-Target": "SageMaker.ListModels",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=x",
    }
    assert (
        requests.post(emulator_url, data="{not json", headers=headers, timeout=10).json()["__type"]
        == "SerializationException"
    )
    wrong_type = requests.post(emulator_url, data='{"MaxResults": "ten"}', headers=headers, timeout=10).json()
    assert wrong_type["__type"] == "SerializationException"


def test_tags(sm, trained_models):
    sm.create_model(
        ModelName="tagged",
        PrimaryContainer={
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5",
            "ModelDataUrl": trained_models["3.0-5"],
        },
        Tags=[{"Key": "project", "Value": "bankml"}],
    )
    arn = sm.describe_model(ModelName="tagged")["ModelArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "project", "Value": "bankml"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "test"}, {"Key": "project", "Value": "other"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "project", "Value": "other"},
        {"Key": "stage", "Value": "test"},
    ]
    sm.delete_tags(ResourceArn=arn, TagKeys=["project"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "test"}]
    sm.delete_model(ModelName="tagged")
    with pytest.raises(ClientError) as error:
        sm.list_tags(ResourceArn=arn)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    job_arn = sm.describe_training_job(TrainingJobName="fixture-3-0-5")["TrainingJobArn"]
    assert sm.list_tags(ResourceArn=job_arn)["Tags"] == []


def test_control_api_validates_its_input(control):
    assert control("GET", "health").json()["status"] == "running"
    assert control("POST", "faults", {"explode": True}).status_code == 400
    assert control("POST", "faults", {"invocation_errors": {"count": 0}}).status_code == 400
    assert control("POST", "faults", {"invocation_errors": {"count": 1, "status": 200}}).status_code == 400
    assert control("POST", "faults", {"throttle_invocations": {"count": 1, "status": 500}}).status_code == 400
    assert control("POST", "faults", {"fail_next_endpoint": ""}).status_code == 400
    assert control("POST", "delays", {"step_seconds": -1}).status_code == 400
    assert control("POST", "delays", {"warp": 1}).status_code == 400
    armed = control("POST", "faults", {"throttle_invocations": {"count": 2}}).json()
    assert armed["throttle_invocations"] == {"count": 2, "after": 0, "status": 500, "message": "Injected fault"}
    assert control("DELETE", "faults").json()["throttle_invocations"] is None


def _cli(emulator_url, *args):
    env = {**os.environ, "SAGEMAKER_EMULATOR_URL": emulator_url}
    return subprocess.run(
        [sys.executable, "-m", "sagemaker_emulator", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_cli_drives_the_control_api(emulator_url, control):
    armed = _cli(emulator_url, "faults", "invocation-errors", "--count", "3", "--status", "502", "--after", "1")
    assert armed.returncode == 0, armed.stderr
    assert control("GET", "faults").json()["invocation_errors"]["status"] == 502
    assert _cli(emulator_url, "faults", "clear").returncode == 0
    assert control("GET", "faults").json()["invocation_errors"] is None
    assert '"step_seconds": 0.2' in _cli(emulator_url, "delays", "--step-seconds", "0.2").stdout
    failed = _cli(emulator_url, "delays", "--step-seconds", "-3")
    assert failed.returncode == 1 and "step_seconds: -3.0 is less than the minimum of 0" in failed.stderr
    unreachable = _cli("http://127.0.0.1:9", "health")
    assert unreachable.returncode == 1 and "cannot reach the emulator" in unreachable.stderr


def test_reset_forgets_sagemaker_state_but_keeps_moto(emulators: Emulators):
    """On its own emulator, since a reset would pull resources from under the other tests. Its one
    bucket, "kept", is its own: the test checks that the bucket list is exactly that."""
    emulator = emulators.start("reset", args=["--create-bucket", "kept"])
    assert emulator.log_path.read_text().splitlines()[0] == f"sagemaker-emulator listening on {emulator.url}"
    sm = emulator_client(emulator.url, "sagemaker")
    sm.create_model(
        ModelName="m",
        PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"},
    )
    sm.create_model_package_group(ModelPackageGroupName="g")
    assert requests.post(f"{emulator.url}/_emulator/reset", timeout=10).json() == {"status": "reset"}
    assert sm.list_models()["Models"] == []
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    assert [b["Name"] for b in emulator_client(emulator.url, "s3").list_buckets()["Buckets"]] == ["kept"]
    emulator.stop()
    assert emulator.process.returncode in (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown


def test_injected_request_errors_hit_only_matching_moto_requests(s3, logs, control):
    control(
        "POST",
        "faults",
        {
            "request_errors": {
                "service": "s3",
                "method": "PUT",
                "path_contains": "/blocked/",
                "count": 5,
                "status": 503,
                "code": "SlowDown",
                "message": "Please reduce your request rate.",
            }
        },
    )
    s3.put_object(Bucket=BUCKET, Key="open/a.txt", Body=b"a")  # other prefix: untouched
    s3.head_bucket(Bucket=BUCKET)  # other method: untouched
    with pytest.raises(ClientError) as error:
        no_retry = emulator_client(
            s3.meta.endpoint_url, "s3", config=Config(retries={"max_attempts": 1, "mode": "standard"})
        )
        no_retry.put_object(Bucket=BUCKET, Key="blocked/b.txt", Body=b"b")
    assert error.value.response["Error"]["Code"] == "SlowDown"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    control("DELETE", "faults")
    s3.put_object(Bucket=BUCKET, Key="blocked/b.txt", Body=b"b")


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"request_errors": {"service": "sagemaker", "count": 1}},
            "request_errors/service: 'sagemaker' is not one of ['s3', 'logs', 'sts', 'iam']",
        ),
        ({"request_errors": {"count": 1}}, "request_errors: 'service' is a required property"),
        (
            {"request_errors": {"service": "s3", "count": 1, "status": 200}},
            "request_errors/status: 200 is less than the minimum of 400",
        ),
        (
            {"invocation_latency": {"seconds": 0, "count": 1}},
            "invocation_latency/seconds: 0 is less than or equal to the minimum of 0",
        ),
        ({"invocation_latency": {"seconds": 1}}, "invocation_latency: 'count' is a required property"),
    ],
)
def test_new_faults_validate_their_input(control, body, message):
    response = control("POST", "faults", body)
    assert response.status_code == 400 and message in response.json()["error"]
