"""Models, endpoint configs, endpoints and InvokeEndpoint over boto3."""

from __future__ import annotations

import io
import json
import tarfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, WaiterError

from tests.emulator_harness import emulator_client

from .conftest import BUCKET, IMAGES, ROLE_ARN

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def create_endpoint(sm, name, model_data_url, image=IMAGES["3.0-5"], wait=True):
    sm.create_model(
        ModelName=name, PrimaryContainer={"Image": image, "ModelDataUrl": model_data_url}, ExecutionRoleArn=ROLE_ARN
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    if wait:
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})


def delete_endpoint(sm, name):
    sm.delete_endpoint(EndpointName=name)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})
    sm.delete_endpoint_config(EndpointConfigName=name)
    sm.delete_model(ModelName=name)


@pytest.fixture(scope="module")
def endpoint(sm, trained_models):
    create_endpoint(sm, "Serving-Endpoint", trained_models["3.0-5"])
    yield "Serving-Endpoint"
    delete_endpoint(sm, "Serving-Endpoint")


@pytest.mark.parametrize("tag", sorted(IMAGES))
def test_full_cycle_per_image(sm, runtime, dataset, trained_models, tag):
    name = f"cycle-{tag.replace('.', '-')}"
    create_endpoint(sm, name, trained_models[tag], image=IMAGES[tag])
    description = sm.describe_endpoint(EndpointName=name)
    assert description["EndpointStatus"] == "InService" and description["EndpointConfigName"] == name
    assert description["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"] == IMAGES[tag]
    response = runtime.invoke_endpoint(EndpointName=name, Body=dataset["rows"], ContentType="text/csv")
    scores = response["Body"].read().decode().splitlines()
    assert len(scores) == 5 and all(0 <= float(s) <= 1 for s in scores)
    assert response["InvokedProductionVariant"] == "AllTraffic"
    delete_endpoint(sm, name)
    with pytest.raises(ClientError) as error:
        sm.describe_endpoint(EndpointName=name)
    assert error.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": f'Could not find endpoint "{ARN}:endpoint/{name}".',
    }


def test_resource_descriptions_and_lower_cased_arns(sm, endpoint, trained_models):
    model = sm.describe_model(ModelName=endpoint)
    assert model["ModelArn"] == f"{ARN}:model/serving-endpoint"
    assert model["PrimaryContainer"]["ModelDataUrl"] == trained_models["3.0-5"]
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint)
    assert config["EndpointConfigArn"] == f"{ARN}:endpoint-config/serving-endpoint"
    assert config["ProductionVariants"][0]["ModelName"] == endpoint
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointArn"] == f"{ARN}:endpoint/serving-endpoint"
    variant = described["ProductionVariants"][0]
    assert (variant["VariantName"], variant["CurrentWeight"], variant["CurrentInstanceCount"]) == ("AllTraffic", 1.0, 1)
    assert endpoint in [
        e["EndpointName"] for e in sm.list_endpoints(StatusEquals="InService", MaxResults=100)["Endpoints"]
    ]
    assert endpoint in [m["ModelName"] for m in sm.list_models(NameContains="Serving")["Models"]]
    assert endpoint in [
        c["EndpointConfigName"] for c in sm.list_endpoint_configs(NameContains="Serving")["EndpointConfigs"]
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda sm: sm.describe_model(ModelName="Nope"), f'Could not find model "{ARN}:model/nope".'),
        (lambda sm: sm.delete_model(ModelName="Nope"), f'Could not find model "{ARN}:model/nope".'),
        (
            lambda sm: sm.describe_endpoint_config(EndpointConfigName="Nope"),
            f'Could not find endpoint configuration "{ARN}:endpoint-config/nope".',
        ),
        (
            lambda sm: sm.delete_endpoint_config(EndpointConfigName="Nope"),
            f'Could not find endpoint configuration "{ARN}:endpoint-config/nope".',
        ),
        (lambda sm: sm.describe_endpoint(EndpointName="Nope"), f'Could not find endpoint "{ARN}:endpoint/nope".'),
        (lambda sm: sm.delete_endpoint(EndpointName="Nope"), f'Could not find endpoint "{ARN}:endpoint/nope".'),
        (
            lambda sm: sm.create_endpoint(EndpointName="x", EndpointConfigName="Nope"),
            f'Could not find endpoint configuration "{ARN}:endpoint-config/nope".',
        ),
        (
            lambda sm: sm.create_endpoint_config(
                EndpointConfigName="x",
                ProductionVariants=[
                    {"VariantName": "v", "ModelName": "Nope", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
                ],
            ),
            f'Could not find model "{ARN}:model/nope".',
        ),
        (
            lambda sm: sm.create_model(ModelName="bad_model", PrimaryContainer={"Image": IMAGES["3.0-5"]}),
            "Value 'bad_model' at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?",
        ),
    ],
)
def test_missing_resources_are_validation_exceptions(sm, call, message):
    with pytest.raises(ClientError) as error:
        call(sm)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["Error"]["Message"].endswith(message)


def test_duplicates_are_refused(sm, endpoint, trained_models):
    with pytest.raises(ClientError) as error:
        sm.create_model(
            ModelName=endpoint, PrimaryContainer={"Image": IMAGES["3.0-5"], "ModelDataUrl": trained_models["3.0-5"]}
        )
    assert (
        error.value.response["Error"]["Message"]
        == f'Cannot create already existing model "{ARN}:model/serving-endpoint".'
    )
    with pytest.raises(ClientError) as error:
        sm.create_endpoint_config(
            EndpointConfigName=endpoint,
            ProductionVariants=[
                {"VariantName": "v", "ModelName": endpoint, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
            ],
        )
    assert (
        error.value.response["Error"]["Message"]
        == f'Cannot create already existing endpoint configuration "{ARN}:endpoint-config/serving-endpoint".'
    )
    with pytest.raises(ClientError) as error:
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    assert error.value.response["Error"]["Message"].startswith("Cannot create already existing endpoint")


def _failed_endpoint(sm, name, model_data_url, image=IMAGES["3.0-5"]):
    create_endpoint(sm, name, model_data_url, image=image, wait=False)
    with pytest.raises(WaiterError):
        sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})
    description = sm.describe_endpoint(EndpointName=name)
    delete_endpoint(sm, name)
    assert description["EndpointStatus"] == "Failed"
    return description["FailureReason"]


def test_endpoint_fails_when_model_data_is_missing(sm):
    reason = _failed_endpoint(sm, "no-model-data", f"s3://{BUCKET}/missing/model.tar.gz")
    assert reason.startswith(
        f'Failed to download model data for container "container_1" from URL: "s3://{BUCKET}/missing/model.tar.gz"'
    )


def test_endpoint_fails_when_archive_is_not_a_tarball(sm, s3):
    s3.put_object(Bucket=BUCKET, Key="broken/model.tar.gz", Body=b"not a tarball")
    assert _failed_endpoint(sm, "broken-archive", f"s3://{BUCKET}/broken/model.tar.gz").startswith(
        "Failed to extract model data archive"
    )


def test_endpoint_fails_when_the_model_cannot_load(sm, s3, logs):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("README")
        tar.addfile(info, io.BytesIO(b""))
    s3.put_object(Bucket=BUCKET, Key="nomodel/model.tar.gz", Body=buffer.getvalue())
    reason = _failed_endpoint(sm, "no-xgboost-model", f"s3://{BUCKET}/nomodel/model.tar.gz")
    assert "did not pass the ping health check" in reason
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/no-xgboost-model")["logStreams"]
    assert streams[0]["logStreamName"].startswith("AllTraffic/i-")


def test_endpoint_fails_for_an_unsupported_image(sm, trained_models):
    reason = _failed_endpoint(
        sm,
        "old-image",
        trained_models["3.0-5"],
        image="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1",
    )
    assert "3.0-5" in reason


def test_injected_endpoint_failure(sm, control, trained_models):
    control("POST", "faults", {"fail_next_endpoint": "Injected: capacity unavailable"})
    assert _failed_endpoint(sm, "injected-endpoint", trained_models["3.0-5"]) == "Injected: capacity unavailable"


def test_update_keeps_serving_until_the_new_config_is_in_service(sm, runtime, dataset, trained_models, control):
    create_endpoint(sm, "updated", trained_models["3.0-5"])
    sm.create_model(
        ModelName="updated-v2", PrimaryContainer={"Image": IMAGES["1.7-1"], "ModelDataUrl": trained_models["1.7-1"]}
    )
    sm.create_endpoint_config(
        EndpointConfigName="updated-v2",
        ProductionVariants=[
            {"VariantName": "Blue", "ModelName": "updated-v2", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    control("POST", "delays", {"endpoint_updating_seconds": 2})
    try:
        sm.update_endpoint(EndpointName="updated", EndpointConfigName="updated-v2")
        updating = sm.describe_endpoint(EndpointName="updated")
        assert (updating["EndpointStatus"], updating["EndpointConfigName"]) == ("Updating", "updated")
        served = runtime.invoke_endpoint(EndpointName="updated", Body=dataset["rows"], ContentType="text/csv")
        assert served["InvokedProductionVariant"] == "AllTraffic"
        with pytest.raises(ClientError) as error:
            sm.update_endpoint(EndpointName="updated", EndpointConfigName="updated-v2")
        assert error.value.response["Error"]["Message"].startswith("Cannot update in-progress endpoint")
        sm.get_waiter("endpoint_in_service").wait(
            EndpointName="updated", WaiterConfig={"Delay": 0.5, "MaxAttempts": 120}
        )
    finally:
        control("POST", "delays", {"endpoint_updating_seconds": 0.3})
    assert sm.describe_endpoint(EndpointName="updated")["EndpointConfigName"] == "updated-v2"
    served = runtime.invoke_endpoint(EndpointName="updated", Body=dataset["rows"], ContentType="text/csv")
    assert served["InvokedProductionVariant"] == "Blue"
    sm.delete_endpoint_config(EndpointConfigName="updated-v2")
    sm.delete_model(ModelName="updated-v2")
    delete_endpoint(sm, "updated")


def test_invoke_wraps_container_errors_as_model_error(runtime, logs, endpoint):
    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b'{"a": 1}', ContentType="application/json")
    response = error.value.response
    assert response["Error"]["Code"] == "ModelError" and response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 415
    assert response["Error"]["Message"].startswith("Received client error (415) from primary with message")
    assert (
        response["LogStreamArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/{endpoint}"
    )
    [stream] = logs.describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}")["logStreams"]
    events = logs.get_log_events(
        logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}", logStreamName=stream["logStreamName"], startFromHead=True
    )
    assert any("415" in e["message"] for e in events["events"])


def test_invoke_answers_in_each_accept_type(runtime, endpoint, dataset):
    def invoke(accept):
        response = runtime.invoke_endpoint(
            EndpointName=endpoint, Body=dataset["rows"], ContentType="text/csv", Accept=accept
        )
        return response["ContentType"], response["Body"].read().decode()

    content_type, text = invoke("text/csv")
    assert content_type == "text/csv; charset=utf-8"
    scores = [float(line) for line in text.splitlines()]
    content_type, text = invoke("application/json")
    assert content_type == "application/json"
    assert json.loads(text) == {"predictions": [{"score": s} for s in scores]}
    content_type, text = invoke("application/jsonlines")
    assert content_type == "application/jsonlines"
    assert [json.loads(line) for line in text.splitlines()] == [{"score": s} for s in scores]
    with pytest.raises(ClientError) as error:
        invoke("text/plain")
    assert error.value.response["OriginalStatusCode"] == 406


def test_invoke_unknown_endpoint(runtime):
    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName="missing", Body=b"1,2", ContentType="text/csv")
    assert error.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": "Endpoint missing of account 123456789012 not found.",
    }


def test_invoke_rejects_bodies_over_6_mib(runtime, endpoint):
    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1" * (6 * 1024 * 1024 + 1), ContentType="text/csv")
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error.value.response["Error"]["Message"] == "HTTP content length exceeded 6291456 bytes."


def test_invoke_unknown_target_variant(runtime, endpoint, dataset):
    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(
            EndpointName=endpoint, Body=dataset["rows"], ContentType="text/csv", TargetVariant="Nope"
        )
    assert error.value.response["Error"]["Code"] == "ValidationError"


def test_injected_invocation_errors_and_throttling(emulator_url, endpoint, dataset, control):
    runtime = emulator_client(
        emulator_url, "sagemaker-runtime", config=Config(retries={"total_max_attempts": 1})
    )  # botocore retries throttling
    control("POST", "faults", {"invocation_errors": {"status": 503, "count": 2, "after": 1, "message": "overloaded"}})

    def outcome():
        try:
            runtime.invoke_endpoint(EndpointName=endpoint, Body=dataset["rows"], ContentType="text/csv")
            return "ok"
        except ClientError as error:
            return f"{error.response['Error']['Code']}:{error.response.get('OriginalStatusCode')}:{error.response.get('OriginalMessage')}"

    assert [outcome() for _ in range(4)] == ["ok", "ModelError:503:overloaded", "ModelError:503:overloaded", "ok"]
    control("POST", "faults", {"throttle_invocations": {"count": 1}})
    assert outcome().startswith("ThrottlingException")
    assert outcome() == "ok"


def test_injected_invocation_latency(runtime, endpoint, dataset, control):
    import time

    control("POST", "faults", {"invocation_latency": {"seconds": 0.5, "count": 1, "after": 1}})
    timings = []
    for _ in range(3):
        started = time.monotonic()
        runtime.invoke_endpoint(EndpointName=endpoint, Body=dataset["rows"], ContentType="text/csv")
        timings.append(time.monotonic() - started)
    assert timings[1] >= 0.5 and timings[0] < 0.5 and timings[2] < 0.5  # only the second one is slowed
    assert control("GET", "faults").json()["invocation_latency"] is None


def test_many_concurrent_invocations_are_all_correct(emulator_url, endpoint, dataset):
    client = emulator_client(emulator_url, "sagemaker-runtime", config=Config(max_pool_connections=50))
    expected = client.invoke_endpoint(EndpointName=endpoint, Body=dataset["rows"], ContentType="text/csv")[
        "Body"
    ].read()

    def invoke(_):
        return client.invoke_endpoint(EndpointName=endpoint, Body=dataset["rows"], ContentType="text/csv")[
            "Body"
        ].read()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(invoke, range(200)))
    assert results == [expected] * 200


def test_endpoint_waiters_and_deleting_state(sm, trained_models, control):
    control("POST", "delays", {"endpoint_deleting_seconds": 1.5})
    try:
        create_endpoint(sm, "deleting", trained_models["3.0-5"])
        sm.delete_endpoint(EndpointName="deleting")
        assert sm.describe_endpoint(EndpointName="deleting")["EndpointStatus"] == "Deleting"
        sm.get_waiter("endpoint_deleted").wait(EndpointName="deleting", WaiterConfig={"Delay": 0.5, "MaxAttempts": 60})
    finally:
        control("POST", "delays", {"endpoint_deleting_seconds": 0.3})
    sm.delete_endpoint_config(EndpointConfigName="deleting")
    sm.delete_model(ModelName="deleting")
    with pytest.raises(WaiterError):
        sm.get_waiter("endpoint_in_service").wait(
            EndpointName="deleting", WaiterConfig={"Delay": 0.5, "MaxAttempts": 2}
        )


def test_describe_endpoint_right_after_create(sm, trained_models):
    create_endpoint(sm, "just-created", trained_models["3.0-5"], wait=False)
    description = sm.describe_endpoint(EndpointName="just-created")
    assert (description["EndpointStatus"], description["EndpointConfigName"]) == ("Creating", "just-created")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="just-created", WaiterConfig={"Delay": 0.5, "MaxAttempts": 120}
    )
    delete_endpoint(sm, "just-created")
