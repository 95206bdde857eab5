"""The Airflow Amazon provider's hook, operators and trigger, unmodified, against the emulator.

Operators run via execute(context) with a tiny context (no metadata DB needed). Deferrable
mode: execute() until TaskDeferred, then the trigger's run() to its event, then the
execute_complete() named in the deferral.
"""

from __future__ import annotations

import asyncio
import time
import types
from concurrent.futures import ThreadPoolExecutor

import pytest

from tools.local_setup import connection_uri

from .conftest import BUCKET, IMAGES, ROLE_ARN, channel

pytest.importorskip("airflow.providers.amazon")


@pytest.fixture(autouse=True)
def airflow_env(monkeypatch, tmp_path, emulator_url):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection_uri(emulator_url))


@pytest.fixture
def fast_log_clock(monkeypatch):
    """print_log re-describes the job only every 30 s of wall time; run that clock 100x faster."""
    from airflow.providers.amazon.aws.hooks import sagemaker as hook_module

    fast = types.SimpleNamespace(
        sleep=time.sleep, time=lambda: time.time() * 100, monotonic=lambda: time.monotonic() * 100
    )
    monkeypatch.setattr(hook_module, "time", fast)


def training_config(name, dataset, **overrides):
    config = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGES["3.0-5"], "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "InputDataConfig": [channel("train", dataset["train"]), channel("validation", dataset["validation"])],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/airflow"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": "1", "VolumeSizeInGB": "5"},
        "StoppingCondition": {"MaxRuntimeInSeconds": "300"},
        "HyperParameters": {"num_round": "5", "objective": "binary:logistic"},
    }
    config.update(overrides)
    return config


def run_deferred(operator):
    """execute -> TaskDeferred -> trigger.run() to its first event -> the named completion method.

    The trigger runs in an event loop of its own thread, as in the triggerer: this thread may already
    run one (Playwright's sync API keeps a loop running while a session's browser is open)."""
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({})

    async def first_event():
        async for event in deferred.value.trigger.run():
            return event

    with ThreadPoolExecutor(max_workers=1) as pool:
        event = pool.submit(asyncio.run, first_event()).result()
    return getattr(operator, deferred.value.method_name)({}, event.payload)


def test_training_operator_with_print_log(dataset, fast_log_clock, capsys):
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator

    operator = SageMakerTrainingOperator(
        task_id="train", config=training_config("af-train", dataset), print_log=True, check_interval=1
    )
    result = operator.execute({})
    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert (
        result["Training"]["ModelArtifacts"]["S3ModelArtifacts"]
        == f"s3://{BUCKET}/airflow/af-train/output/model.tar.gz"
    )
    output = "".join(capsys.readouterr())
    assert "train-logloss:" in output and "[4]" in output  # the job's CloudWatch log, tailed by the hook
    assert "Training - Training image download completed" in output and "Billable seconds:" in output


def test_training_operator_renames_an_existing_job_and_fails_on_failed_jobs(dataset):
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
    from airflow.providers.common.compat.sdk import AirflowException

    operator = SageMakerTrainingOperator(
        task_id="again", config=training_config("af-train-2", dataset), print_log=False, check_interval=1
    )
    operator.execute({})
    renamed = SageMakerTrainingOperator(
        task_id="again", config=training_config("af-train-2", dataset), print_log=False, check_interval=1
    )
    assert renamed.execute({})["Training"]["TrainingJobName"].startswith("af-train-2-")
    failing = SageMakerTrainingOperator(
        task_id="fails",
        config=training_config("af-fails", dataset, HyperParameters={"objective": "binary:logistic"}),
        print_log=False,
        check_interval=1,
    )
    with pytest.raises(AirflowException, match="Missing required hyperparameter: num_round"):
        failing.execute({})


def test_training_operator_checks_s3_inputs_first(dataset):
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
    from airflow.providers.common.compat.sdk import AirflowException

    config = training_config("af-no-bucket", dataset, InputDataConfig=[channel("train", "s3://no-such-bucket/train")])
    with pytest.raises(AirflowException, match="The input S3 Bucket no-such-bucket does not exist"):
        SageMakerTrainingOperator(task_id="t", config=config, print_log=False, check_interval=1).execute({})


def test_training_operator_deferrable(dataset, control):
    pytest.importorskip("aiobotocore", reason="the provider's triggers need aiobotocore")
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator

    operator = SageMakerTrainingOperator(
        task_id="train-deferred",
        config=training_config("af-deferred", dataset),
        print_log=True,
        check_interval=1,
        deferrable=True,
    )
    # The operator defers only a job it finds still running: a forked host trains in about a second,
    # and on a loaded machine (seen at load 8) the operator's calls before its status check took 6 s.
    delays = control("GET", "delays").json()
    control("POST", "delays", {**delays, "training_seconds": 20})
    try:
        assert run_deferred(operator)["Training"]["TrainingJobStatus"] == "Completed"
    finally:
        control("POST", "delays", delays)


def endpoint_config(name, model_data_url):
    return {
        "Model": {
            "ModelName": name,
            "PrimaryContainer": {"Image": IMAGES["3.0-5"], "ModelDataUrl": model_data_url},
            "ExecutionRoleArn": ROLE_ARN,
        },
        "EndpointConfig": {
            "EndpointConfigName": name,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": "1",
                    "InstanceType": "ml.m5.large",
                }
            ],
        },
        "Endpoint": {"EndpointName": name, "EndpointConfigName": name},
    }


def teardown_endpoint(name):
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerDeleteModelOperator

    hook = SageMakerHook(aws_conn_id="aws_default")
    hook.conn.delete_endpoint(EndpointName=name)
    hook.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    hook.conn.delete_endpoint_config(EndpointConfigName=name)
    SageMakerDeleteModelOperator(task_id="delete-model", config={"ModelName": name}).execute({})
    with pytest.raises(Exception, match="Could not find model"):
        hook.describe_model(name)


def test_model_config_endpoint_sensor_and_delete_operators(trained_models):
    from airflow.providers.amazon.aws.operators.sagemaker import (
        SageMakerEndpointConfigOperator,
        SageMakerEndpointOperator,
        SageMakerModelOperator,
    )
    from airflow.providers.amazon.aws.sensors.sagemaker import SageMakerEndpointSensor

    config = endpoint_config("af-endpoint", trained_models["3.0-5"])
    assert (
        SageMakerModelOperator(task_id="model", config=config["Model"]).execute({})["Model"]["ModelName"]
        == "af-endpoint"
    )
    described = SageMakerEndpointConfigOperator(task_id="config", config=config["EndpointConfig"]).execute({})
    assert described["EndpointConfig"]["ProductionVariants"][0]["InitialInstanceCount"] == 1
    result = SageMakerEndpointOperator(
        task_id="endpoint", config={"Endpoint": config["Endpoint"]}, check_interval=1
    ).execute({})
    assert result["Endpoint"]["EndpointStatus"] == "InService"
    assert SageMakerEndpointSensor(task_id="sensor", endpoint_name="af-endpoint", poke_interval=1).poke({})
    # Creating an existing endpoint switches to UpdateEndpoint, as the provider intends.
    again = SageMakerEndpointOperator(
        task_id="endpoint-again", config={"Endpoint": config["Endpoint"]}, check_interval=1
    )
    assert again.execute({})["Endpoint"]["EndpointStatus"] == "InService" and again.operation == "update"
    teardown_endpoint("af-endpoint")


def test_endpoint_operator_fails_on_a_failed_endpoint(control):
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerEndpointOperator

    control("POST", "faults", {"fail_next_endpoint": "Injected: no capacity"})
    config = endpoint_config("af-failing", f"s3://{BUCKET}/missing/model.tar.gz")
    with pytest.raises(Exception, match="Failed"):
        SageMakerEndpointOperator(task_id="endpoint", config=config, check_interval=1).execute({})
    teardown_endpoint("af-failing")


def test_endpoint_operator_deferrable(trained_models):
    pytest.importorskip("aiobotocore", reason="the provider's triggers need aiobotocore")
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerEndpointOperator

    operator = SageMakerEndpointOperator(
        task_id="endpoint",
        config=endpoint_config("af-deferred-ep", trained_models["3.0-5"]),
        check_interval=1,
        deferrable=True,
    )
    try:
        assert run_deferred(operator)["Endpoint"]["EndpointStatus"] == "InService"
    finally:
        teardown_endpoint("af-deferred-ep")


def test_register_model_version_operator(sm):
    """The provider creates the group on the first call, treats "already exists" as fine on the next."""
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerRegisterModelVersionOperator
    from airflow.providers.amazon.aws.utils.sagemaker import ApprovalStatus

    def register(approval):
        return SageMakerRegisterModelVersionOperator(
            task_id="register",
            image_uri=IMAGES["3.0-5"],
            model_url=f"s3://{BUCKET}/airflow/model.tar.gz",
            package_group_name="af-registry",
            package_desc="from airflow",
            model_approval=approval,
        ).execute({})

    first = register(ApprovalStatus.PENDING_MANUAL_APPROVAL)
    second = register(ApprovalStatus.APPROVED)
    assert (first, second) == (
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/af-registry/1",
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/af-registry/2",
    )
    described = sm.describe_model_package(ModelPackageName=second)
    assert described["ModelApprovalStatus"] == "Approved" and described["ModelPackageDescription"] == "from airflow"
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == f"s3://{BUCKET}/airflow/model.tar.gz"
