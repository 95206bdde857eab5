"""A bad client, a hostile local process and a web page: nothing escapes its directory, nothing hangs,
nothing answers 500. Each case checks the status, the error code, and that the server still serves
other clients afterwards (`still_serving`).

Most cases use the session emulator; limits are tested on a `strict` one started with small limits.
"""

from __future__ import annotations

import io
import json
import signal
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import xgboost as xgb
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_emulator.scratch import scratch_root
from tests.emulator_harness import Emulators, emulator_client, emulator_clients
from tools.local_setup import emulator_args

from .conftest import BUCKET, IMAGES, ROLE_ARN, channel, training_request, wait_for_job, wait_for_status

SIGNED = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=abc"
SAGEMAKER_JSON = {"Content-Type": "application/x-amz-json-1.1", "Authorization": SIGNED}


# ---- helpers ------------------------------------------------------------------------------------


def still_serving(sm: Any, s3: Any) -> None:
    """Other clients are still served: the control plane and S3 answer."""
    assert isinstance(sm.list_models()["Models"], list)
    assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200


def sagemaker_call(
    url: str, operation: str, body: bytes | str, headers: dict[str, str] | None = None
) -> requests.Response:
    return requests.post(
        url,
        data=body,
        timeout=60,
        headers={**SAGEMAKER_JSON, "X-Amz-Target": f"SageMaker.{operation}", **(headers or {})},
    )


def model_archive(members: dict[str, bytes] | None = None, features: int = 3) -> bytes:
    """A model.tar.gz with a small real booster as xgboost-model, plus any extra members."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, features))
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(x, label=x[:, 0] > 0), 3)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in {"xgboost-model": bytes(booster.save_raw("ubj")), **(members or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def deploy(sm: Any, s3: Any, name: str, archive: bytes) -> dict[str, Any]:
    s3.put_object(Bucket=BUCKET, Key=f"hostile/{name}/model.tar.gz", Body=archive)
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": IMAGES["3.0-5"], "ModelDataUrl": f"s3://{BUCKET}/hostile/{name}/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return wait_for_status(lambda: sm.describe_endpoint(EndpointName=name), "EndpointStatus", {"InService", "Failed"})


@pytest.fixture(scope="module")
def strict(module_emulators: Emulators) -> dict[str, Any]:
    """An emulator with small limits and one allowed browser origin."""
    env = {
        "SAGEMAKER_EMULATOR_INVOCATION_TIMEOUT_SECONDS": "1",
        "SAGEMAKER_EMULATOR_MAX_MODEL_BYTES": "1000000",
        "SAGEMAKER_EMULATOR_MAX_TRAINING_JOBS": "1",
    }
    args = [*emulator_args(), "--allow-origin", "http://allowed.example"]
    url = module_emulators.start("strict", args=args, env=env).url
    return {"url": url, **emulator_clients(url, "sagemaker", "sagemaker-runtime", "s3", "logs")}


@pytest.fixture(scope="module")
def endpoint(sm: Any, s3: Any) -> str:
    """An InService endpoint on the session emulator (3 features)."""
    assert deploy(sm, s3, "hostile-serving", model_archive())["EndpointStatus"] == "InService"
    return "hostile-serving"


ROWS = b"0.1,0.2,0.3\n-1,0,1\n"


# ---- paths: nothing escapes its directory --------------------------------------------------------


def test_s3_key_with_dot_dot_fails_the_job_and_writes_nothing_outside(sm, s3, tmp_path, dataset):
    outside = tmp_path / "pwned.csv"
    key = "hostile-dotdot/train/" + "../" * 40 + str(outside).lstrip("/")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"1,2,3\n")
    assert any(o["Key"] == key for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="hostile-dotdot/")["Contents"])
    sm.create_training_job(
        **training_request(
            "hostile-dotdot", dataset, InputDataConfig=[channel("train", f"s3://{BUCKET}/hostile-dotdot/train")]
        )
    )
    job = wait_for_job(sm, "hostile-dotdot")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Data download failed: the S3 key")
    assert "does not name a file inside the channel directory" in job["FailureReason"]
    assert not outside.exists()
    still_serving(sm, s3)


def test_s3_key_with_a_double_slash_stays_in_the_channel(sm, s3, tmp_path, dataset):
    outside = tmp_path / "double-slash.csv"
    key = "hostile-slash/train/" + "/" + str(outside).lstrip("/")  # train//tmp/... : an absolute path if joined naively
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"1,2,3\n")
    sm.create_training_job(
        **training_request(
            "hostile-slash", dataset, InputDataConfig=[channel("train", f"s3://{BUCKET}/hostile-slash/train")]
        )
    )
    job = wait_for_job(sm, "hostile-slash")
    assert job["TrainingJobStatus"] in ("Completed", "Failed")
    assert "Data download failed" not in job.get("FailureReason", "")  # it was downloaded, inside the channel
    assert not outside.exists()
    still_serving(sm, s3)


def test_channel_named_dot_dot_cannot_leave_the_data_directory(sm, s3, dataset):
    sm.create_training_job(
        **training_request(
            "hostile-channel",
            dataset,
            InputDataConfig=[channel("train", dataset["train"]), channel("..", dataset["validation"])],
        )
    )
    job = wait_for_job(sm, "hostile-channel")
    assert job["TrainingJobStatus"] == "Failed"
    assert "the channel name does not name a file inside" in job["FailureReason"]
    still_serving(sm, s3)


def test_model_archive_member_outside_the_model_dir_fails_the_endpoint(sm, s3):
    endpoint = deploy(sm, s3, "hostile-tar-dotdot", model_archive({"../../escaped-model": b"x"}))
    assert endpoint["EndpointStatus"] == "Failed"
    assert "Failed to extract model data archive" in endpoint["FailureReason"]
    still_serving(sm, s3)


def test_absolute_model_archive_member_lands_inside_the_model_dir(sm, s3):
    """tar's "data" filter strips the leading slash, as GNU tar does: /tmp/x is extracted as tmp/x."""
    target = Path("/tmp/hostile-absolute-model")
    endpoint = deploy(sm, s3, "hostile-tar-absolute", model_archive({str(target): b"x"}))
    assert endpoint["EndpointStatus"] == "InService"
    assert not target.exists()
    still_serving(sm, s3)


def test_model_archive_symlink_out_of_the_model_dir_fails_the_endpoint(sm, s3):
    buffer = io.BytesIO(model_archive())
    data = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="r:gz") as source, tarfile.open(fileobj=data, mode="w:gz") as tar:
        for member in source:
            tar.addfile(member, source.extractfile(member))
        link = tarfile.TarInfo("passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    endpoint = deploy(sm, s3, "hostile-symlink", data.getvalue())
    assert endpoint["EndpointStatus"] == "Failed"
    assert "Failed to extract model data archive" in endpoint["FailureReason"]
    still_serving(sm, s3)


def test_tar_bomb_stops_at_the_model_size_limit(strict):
    bomb = model_archive({"zeros.bin": bytes(5_000_000)})  # 5 MB of zeros, a few KB compressed
    assert len(bomb) < 1_000_000
    endpoint = deploy(strict["sagemaker"], strict["s3"], "hostile-bomb", bomb)
    assert endpoint["EndpointStatus"] == "Failed"
    assert "is larger than this emulator extracts (1000000 bytes" in endpoint["FailureReason"]
    still_serving(strict["sagemaker"], strict["s3"])


def _scratch_dirs(pid: int) -> list[Path]:
    return list(scratch_root().glob(f"{pid}-*"))


def test_scratch_dirs_are_removed_at_shutdown_and_after_a_sigkill_at_the_next_start(emulators: Emulators):
    killed = emulators.start("killed", args=[]).process  # no bucket or role: only the scratch dirs matter
    assert len(_scratch_dirs(killed.pid)) == 1
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert len(_scratch_dirs(killed.pid)) == 1  # SIGKILL: nobody could clean up
    nxt = emulators.start("next", args=[])
    assert _scratch_dirs(killed.pid) == []  # swept by the next start: its owner is gone
    assert len(_scratch_dirs(nxt.process.pid)) == 1
    nxt.stop()
    assert _scratch_dirs(nxt.process.pid) == []


def test_concurrent_training_jobs_are_capped(strict, dataset, s3):
    sm = strict["sagemaker"]
    for key in ("data/train/part-0.csv", "data/validation/validation.csv"):
        strict["s3"].put_object(Bucket=BUCKET, Key=key, Body=s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    requests.post(f"{strict['url']}/_emulator/delays", json={"step_seconds": 30}, timeout=10)
    try:
        sm.create_training_job(**training_request("hostile-first", dataset))
        with pytest.raises(ClientError) as error:
            sm.create_training_job(**training_request("hostile-second", dataset))
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error.value.response["Error"]["Code"] == "ResourceLimitExceeded"
        assert "SAGEMAKER_EMULATOR_MAX_TRAINING_JOBS" in error.value.response["Error"]["Message"]
    finally:
        sm.stop_training_job(TrainingJobName="hostile-first")
        requests.post(f"{strict['url']}/_emulator/delays", json={"step_seconds": 0.2}, timeout=10)
    assert wait_for_job(sm, "hostile-first")["TrainingJobStatus"] == "Stopped"
    still_serving(sm, strict["s3"])


# ---- state machines: everything ends --------------------------------------------------------------


def test_create_model_without_an_image_is_refused(sm, s3, emulator_url):
    response = sagemaker_call(
        emulator_url,
        "CreateModel",
        json.dumps({"ModelName": "hostile-noimage", "ExecutionRoleArn": ROLE_ARN, "Containers": [{}]}),
    )
    assert response.status_code == 400
    assert response.json() == {
        "__type": "ValidationException",
        "message": "Container 1: Image must be specified (or ModelPackageName).",
    }
    still_serving(sm, s3)


def test_a_crashing_deployment_thread_fails_the_endpoint(sm, s3, control):
    assert control("POST", "faults", {"crash_next_endpoint": "injected bug"}).status_code == 200
    endpoint = deploy(sm, s3, "hostile-crash", model_archive())
    assert endpoint["EndpointStatus"] == "Failed"
    assert endpoint["FailureReason"] == "InternalServerError: RuntimeError: injected bug"
    sm.delete_endpoint(EndpointName="hostile-crash")
    sm.get_waiter("endpoint_deleted").wait(EndpointName="hostile-crash", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    still_serving(sm, s3)


def test_missing_output_bucket_fails_the_job_at_once_with_the_s3_error(sm, s3, dataset):
    sm.create_training_job(
        **training_request(
            "hostile-nobucket", dataset, OutputDataConfig={"S3OutputPath": "s3://no-such-output-bucket/out"}
        )
    )
    job = wait_for_job(sm, "hostile-nobucket")
    assert job["TrainingJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(
        "ClientError: Cannot write to S3OutputPath s3://no-such-output-bucket/out: NoSuchBucket"
    )
    assert "Training" not in [t["Status"] for t in job["SecondaryStatusTransitions"]]  # before training, not after
    still_serving(sm, s3)


# ---- serving: nobody starves the others ----------------------------------------------------------


def test_an_invocation_past_the_deadline_is_a_model_error(strict, control):
    sm, runtime = strict["sagemaker"], strict["sagemaker-runtime"]
    assert deploy(sm, strict["s3"], "hostile-slow", model_archive())["EndpointStatus"] == "InService"
    armed = requests.post(
        f"{strict['url']}/_emulator/faults", json={"invocation_latency": {"seconds": 30, "count": 1}}, timeout=10
    )
    assert armed.status_code == 200
    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName="hostile-slow", ContentType="text/csv", Body=ROWS)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error.value.response["Error"]["Code"] == "ModelError"
    assert error.value.response["OriginalStatusCode"] == 0
    assert error.value.response["OriginalMessage"].startswith("Your invocation timed out while waiting for a response")
    answer = runtime.invoke_endpoint(EndpointName="hostile-slow", ContentType="text/csv", Body=ROWS)
    assert len(answer["Body"].read().split()) == 2
    still_serving(sm, strict["s3"])


def test_wide_rows_of_commas_are_answered_without_starving_other_clients(sm, s3, runtime, endpoint):
    commas = b"," * (1024 * 1024)
    results: dict[str, Any] = {}

    def hostile(index: int) -> None:
        try:
            runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=commas)
        except ClientError as error:
            results[f"hostile-{index}"] = error.response

    threads = [threading.Thread(target=hostile, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    normal = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=ROWS)
    for thread in threads:
        thread.join(timeout=120)
    assert len(normal["Body"].read().split()) == 2
    assert len(results) == 8
    for response in results.values():
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert response["Error"]["Code"] == "ModelError" and response["OriginalStatusCode"] == 400
        assert "Number of columns does not match number of features in booster" in response["OriginalMessage"]
    still_serving(sm, s3)


# ---- every bad request is a 4xx in the service's own shape ----------------------------------------


def test_deeply_nested_json_is_a_serialization_exception(sm, s3, emulator_url):
    nested = "[" * 100_000 + "]" * 100_000
    response = sagemaker_call(emulator_url, "ListModels", '{"NameContains": ' + nested + "}")
    assert response.status_code == 400 and response.json()["__type"] == "SerializationException"
    control = requests.post(f"{emulator_url}/_emulator/faults", data="[" * 30_000 + "]" * 30_000, timeout=10)
    assert control.status_code == 400 and "nested too deeply" in control.json()["error"]
    still_serving(sm, s3)


@pytest.mark.parametrize("value", ["yesterday", "2026-13-45T00:00:00Z"])
def test_unparseable_timestamp_is_a_serialization_exception(sm, s3, emulator_url, value):
    response = sagemaker_call(emulator_url, "ListModels", json.dumps({"CreationTimeAfter": value}))
    assert response.status_code == 400
    assert response.json()["__type"] == "SerializationException"
    assert "at 'creationTimeAfter' as a timestamp" in response.json()["message"]
    still_serving(sm, s3)


def test_iso_8601_timestamp_strings_are_read(sm, s3, emulator_url):
    response = sagemaker_call(emulator_url, "ListModels", json.dumps({"CreationTimeAfter": "2000-01-01T00:00:00Z"}))
    assert response.status_code == 200 and "Models" in response.json()


def test_invalid_utf8_body_is_a_serialization_exception(sm, s3, emulator_url):
    response = sagemaker_call(emulator_url, "ListModels", b'{"NameContains": "\xff\xfe"}')
    assert response.status_code == 400 and response.json()["__type"] == "SerializationException"
    still_serving(sm, s3)


def test_validation_exception_does_not_echo_a_huge_input(sm, s3, emulator_url):
    huge = "_" * (50 * 1024 * 1024)
    response = sagemaker_call(emulator_url, "DescribeModel", json.dumps({"ModelName": huge}))
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"
    assert len(response.content) < 4096
    assert "...(truncated)" in response.json()["message"]
    still_serving(sm, s3)


@pytest.mark.parametrize("authorization", ["garbage", "AWS4-HMAC-SHA256 Credential=nope", "Bearer abc"])
def test_garbage_authorization_header_is_refused_in_each_services_shape(sm, s3, emulator_url, authorization):
    json_service = sagemaker_call(emulator_url, "ListModels", "{}", {"Authorization": authorization})
    assert json_service.status_code == 400
    assert json_service.json()["__type"] == "IncompleteSignatureException"
    s3_answer = requests.get(f"{emulator_url}/{BUCKET}", headers={"Authorization": authorization}, timeout=10)
    assert s3_answer.status_code == 400 and "<Code>AuthorizationHeaderMalformed</Code>" in s3_answer.text
    still_serving(sm, s3)


def test_unsigned_requests_are_refused_like_aws_refuses_them(sm, s3, emulator_url, endpoint):
    control_plane = requests.post(
        emulator_url,
        data="{}",
        timeout=10,
        headers={"X-Amz-Target": "SageMaker.ListModels", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert control_plane.status_code == 400  # it used to be a 200 with S3's ListBuckets XML
    assert control_plane.json() == {
        "__type": "MissingAuthenticationTokenException",
        "message": "Missing Authentication Token",
    }
    invoke = requests.post(
        f"{emulator_url}/endpoints/{endpoint}/invocations", data=ROWS, timeout=10, headers={"Content-Type": "text/csv"}
    )
    assert invoke.status_code == 403
    assert invoke.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    list_buckets = requests.get(emulator_url, timeout=10)
    assert list_buckets.status_code == 403 and "<Code>AccessDenied</Code>" in list_buckets.text
    sts = requests.post(
        emulator_url,
        data="Action=GetCallerIdentity&Version=2011-06-15",
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert sts.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in sts.text
    forged = requests.get(f"{emulator_url}/{BUCKET}?X-Amz-Credential=nonsense&X-Amz-Signature=x", timeout=10)
    assert forged.status_code == 400 and "<Code>AuthorizationHeaderMalformed</Code>" in forged.text
    still_serving(sm, s3)


def test_presigned_urls_still_work(s3):
    s3.put_object(Bucket=BUCKET, Key="hostile/presigned.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "hostile/presigned.txt"})
    assert requests.get(url, timeout=10).content == b"hello"
    v4 = emulator_client(s3.meta.endpoint_url, "s3", config=Config(signature_version="s3v4"))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "hostile/presigned.txt"})
    assert "X-Amz-Credential" in url and requests.get(url, timeout=10).content == b"hello"


# ---- browsers: no cross-origin access unless allowed -----------------------------------------------


def test_a_web_page_cannot_upload_to_s3_or_start_a_job(sm, s3, emulator_url):
    origin = {"Origin": "http://evil.example"}
    form = requests.post(
        f"{emulator_url}/{BUCKET}",
        timeout=10,
        headers=origin,
        files={"key": (None, "hostile/form.csv"), "file": ("x.csv", b"1,2\n")},
    )
    assert form.status_code == 403 and "<Code>AccessDenied</Code>" in form.text
    assert "Access-Control-Allow-Origin" not in form.headers
    preflight = requests.options(
        f"{emulator_url}/{BUCKET}/x", timeout=10, headers={**origin, "Access-Control-Request-Method": "PUT"}
    )
    assert preflight.status_code == 403 and "Access-Control-Allow-Origin" not in preflight.headers
    job = sagemaker_call(emulator_url, "CreateTrainingJob", "{}", origin)
    assert job.status_code == 400 and job.json()["__type"] == "AccessDeniedException"
    fetch = requests.get(f"{emulator_url}/{BUCKET}", timeout=10, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch.status_code == 403
    control = requests.post(
        f"{emulator_url}/_emulator/faults", json={"fail_next_endpoint": "x"}, headers=origin, timeout=10
    )
    assert control.status_code == 403 and "cross-origin" in control.json()["error"]
    assert requests.get(f"{emulator_url}/_emulator/faults", timeout=10).json()["fail_next_endpoint"] is None
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="hostile/form.csv")
    still_serving(sm, s3)


def test_an_allowed_origin_gets_in(strict):
    strict["s3"].put_object(Bucket=BUCKET, Key="cors.txt", Body=b"ok")
    url = strict["s3"].generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "cors.txt"})
    allowed = requests.get(url, headers={"Origin": "http://allowed.example"}, timeout=10)
    assert allowed.status_code == 200 and allowed.content == b"ok"
    refused = requests.get(url, headers={"Origin": "http://other.example"}, timeout=10)
    assert refused.status_code == 403


# ---- the control API validates against its one spec ----------------------------------------------


@pytest.mark.parametrize(
    "body, where",
    [
        ({"request_errors": {"service": "s3", "count": 1, "method": 5}}, "request_errors/method"),
        ({"request_errors": {"service": "sagemaker", "count": 1}}, "request_errors/service"),
        ({"invocation_latency": {"seconds": "5", "count": 1}}, "invocation_latency/seconds"),
        ({"invocation_errors": {"count": 1, "status": 200}}, "invocation_errors/status"),
        ({"fail_next_endpoint": ""}, "fail_next_endpoint"),
        ({"method": 5}, "body"),
    ],
)
def test_malformed_faults_are_refused_and_break_nothing(sm, s3, control, body, where):
    response = control("POST", "faults", body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{where}: ")
    assert control("GET", "faults").json()["request_errors"] is None
    still_serving(sm, s3)


def test_control_api_serves_its_spec(control):
    spec = control("GET", "spec").json()
    assert spec["faults"]["additionalProperties"] is False
    assert set(spec["faults"]["properties"]) >= {"request_errors", "invocation_latency", "crash_next_endpoint"}
    assert control("POST", "delays", {"step_seconds": "fast"}).status_code == 400


# ---- filters moto lacks -----------------------------------------------------------------------------


def test_list_training_jobs_and_endpoints_honour_last_modified_time(sm, endpoint, dataset):
    future, past = time.time() + 3600, time.time() - 3600 * 24
    for listing, key in ((sm.list_training_jobs, "TrainingJobSummaries"), (sm.list_endpoints, "Endpoints")):
        assert listing(LastModifiedTimeAfter=future)[key] == []
        assert listing(LastModifiedTimeBefore=past)[key] == []
        assert listing(LastModifiedTimeAfter=past, LastModifiedTimeBefore=future, MaxResults=100)[key] != []
    assert [
        e["EndpointName"]
        for e in sm.list_endpoints(LastModifiedTimeAfter=past, MaxResults=100)["Endpoints"]
        if e["EndpointName"] == endpoint
    ] == [endpoint]


def test_filter_log_events_honours_the_stream_prefix(logs, sm, s3):
    group = "/hostile/prefix"
    logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000)
    for stream in ("job-a/algo-1", "job-b/algo-1"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": stream}])
    found = logs.filter_log_events(logGroupName=group, logStreamNamePrefix="job-a/")
    assert [e["message"] for e in found["events"]] == ["job-a/algo-1"]
    assert logs.filter_log_events(logGroupName=group, logStreamNamePrefix="none/")["events"] == []
    assert len(logs.filter_log_events(logGroupName=group)["events"]) == 2
    with pytest.raises(ClientError) as error:
        logs.filter_log_events(logGroupName=group, logStreamNamePrefix="job-a/", logStreamNames=["job-a/algo-1"])
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    still_serving(sm, s3)
