"""The Airflow Amazon provider's SageMakerTransformOperator and SageMakerTransformSensor, unmodified."""

from __future__ import annotations

import pytest

from .conftest import BUCKET, IMAGES, ROLE_ARN
from .test_airflow_provider import airflow_env, run_deferred  # noqa: F401  (airflow_env is an autouse fixture)

pytest.importorskip("airflow.providers.amazon")


@pytest.fixture(scope="module")
def features(s3) -> str:
    s3.put_object(Bucket=BUCKET, Key="af-transform/in/rows.csv", Body=b"0.1,0.2,0.3,0.4,0.5\n-1,-2,-3,-4,-5\n")
    s3.put_object(Bucket=BUCKET, Key="af-transform/wide/rows.csv", Body=b"1,1,1,1,1,1,1,1,1\n")
    return f"s3://{BUCKET}/af-transform/in"


def transform_config(name: str, model_data_url: str, source: str) -> dict:
    return {
        "Model": {
            "ModelName": name,
            "ExecutionRoleArn": ROLE_ARN,
            "PrimaryContainer": {"Image": IMAGES["3.0-5"], "ModelDataUrl": model_data_url},
        },
        "Transform": {
            "TransformJobName": name,
            "ModelName": name,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/af-transform/out/{name}", "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": "1"},
            "MaxPayloadInMB": "1",
        },
    }


def test_transform_operator_creates_the_model_and_waits(s3, trained_models, features):
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTransformOperator
    from airflow.providers.amazon.aws.sensors.sagemaker import SageMakerTransformSensor

    operator = SageMakerTransformOperator(
        task_id="transform",
        config=transform_config("af-transform", trained_models["3.0-5"], features),
        check_interval=1,
    )
    result = operator.execute({})
    assert result["Transform"]["TransformJobStatus"] == "Completed"
    assert result["Model"]["ModelName"] == "af-transform" and result["Transform"]["MaxPayloadInMB"] == 1
    body = s3.get_object(Bucket=BUCKET, Key="af-transform/out/af-transform/rows.csv.out")["Body"].read().decode()
    assert len(body.splitlines()) == 2 and all(0 <= float(score) <= 1 for score in body.splitlines())
    assert SageMakerTransformSensor(task_id="sensor", job_name="af-transform", poke_interval=1).poke({})
    # Running it again renames both the job and the model (the operator's "timestamp" default).
    again = SageMakerTransformOperator(
        task_id="again", config=transform_config("af-transform", trained_models["3.0-5"], features), check_interval=1
    ).execute({})
    assert (
        again["Transform"]["TransformJobName"].startswith("af-transform-")
        and again["Model"]["ModelName"] != "af-transform"
    )


def test_transform_operator_and_sensor_fail_on_a_failed_job(trained_models, features):
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTransformOperator
    from airflow.providers.amazon.aws.sensors.sagemaker import SageMakerTransformSensor

    config = transform_config("af-transform-fails", trained_models["3.0-5"], f"s3://{BUCKET}/af-transform/wide")
    with pytest.raises(Exception, match="ClientError: See job logs for more information"):
        SageMakerTransformOperator(task_id="transform", config=config, check_interval=1).execute({})
    with pytest.raises(Exception, match="ClientError: See job logs for more information"):
        SageMakerTransformSensor(task_id="sensor", job_name="af-transform-fails", poke_interval=1).poke({})


def test_transform_operator_deferrable(trained_models, features):
    pytest.importorskip("aiobotocore", reason="the provider's triggers need aiobotocore")
    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTransformOperator

    operator = SageMakerTransformOperator(
        task_id="transform",
        config=transform_config("af-transform-deferred", trained_models["3.0-5"], features),
        check_interval=1,
        deferrable=True,
    )
    assert run_deferred(operator)["Transform"]["TransformJobStatus"] == "Completed"
