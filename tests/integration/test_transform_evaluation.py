"""Evaluation by Batch Transform against the emulator (no DAG run): the operator, its output, the teardown."""

from __future__ import annotations

import io
import tarfile
from types import SimpleNamespace

import numpy as np
import pytest
import xgboost as xgb

from bankml.evaluation.transform_output import labels_and_scores
from bankml.settings import Wait
from bankml.teardown import run_resources, running_jobs, teardown_run
from bankml.transform_operator import RunTransformOperator
from tools.local_setup import BUCKET, ROLE_ARN

from .test_redeploy_and_teardown import IMAGE, make_plan, model_artifact


def transform(plan, url: str, test_uri: str, try_number: int = 1, **kwargs) -> dict:
    operator = RunTransformOperator(
        task_id="transform",
        plan=plan.to_dict(),
        prepared={"channels": {"test": {"uri": test_uri}}},
        role_arn=ROLE_ARN,
        instance_type="ml.m5.large",
        training={
            "Training": {
                "AlgorithmSpecification": {"TrainingImage": IMAGE},
                "ModelArtifacts": {"S3ModelArtifacts": url},
            }
        },
        check_interval=1,
        wait_seconds=120,
        **kwargs,
    )
    return operator.execute({"ti": SimpleNamespace(try_number=try_number)})


def labelled_test_set(s3, key: str, rows: int = 30) -> tuple[str, np.ndarray]:
    rng = np.random.default_rng(3)
    data = np.column_stack([rng.random(rows) > 0.5, rng.random((rows, 3))]).astype(float)
    s3.put_object(Bucket=BUCKET, Key=key, Body="".join(",".join(f"{v:g}" for v in row) + "\n" for row in data).encode())
    return f"s3://{BUCKET}/{key.rsplit('/', 1)[0]}/", data


def test_transform_scores_the_labelled_test_set_and_keeps_label_and_score(aws: dict) -> None:
    plan = make_plan("manual__transform")
    url = model_artifact(aws["s3"], "it/transform-model.tar.gz")
    test_uri, data = labelled_test_set(aws["s3"], "it/transform-test/test.csv")
    result = transform(plan, url, test_uri)
    job = result["Transform"]
    assert job["TransformJobStatus"] == "Completed" and job["TransformJobName"] == plan.transform_job_name
    assert result["Model"]["ModelName"] == plan.model_name(1)
    output_key = f"{plan.key('transform')}/test.csv.out"
    labels, scores = labels_and_scores(aws["s3"].get_object(Bucket=BUCKET, Key=output_key)["Body"].read())
    np.testing.assert_array_equal(labels, data[:, 0])
    archive = aws["s3"].get_object(Bucket=BUCKET, Key="it/transform-model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:  # the job's scores are the model's own
        booster = xgb.Booster()
        booster.load_model(bytearray(tar.extractfile("xgboost-model").read()))  # type: ignore[union-attr]
    np.testing.assert_allclose(scores, booster.predict(xgb.DMatrix(data[:, 1:])), rtol=1e-5)
    report = teardown_run(aws["sagemaker"], plan.base_name, Wait(delay=1, max_attempts=30))
    assert f"model/{plan.model_name(1)}" in report.deleted and report.stopped_transform_jobs == []


def test_a_failed_transform_job_fails_the_operator_with_its_reason(aws: dict) -> None:
    plan = make_plan("manual__transform-fails")
    url = model_artifact(aws["s3"], "it/transform-model-2.tar.gz")
    aws["s3"].put_object(Bucket=BUCKET, Key="it/transform-wide/test.csv", Body=b"1,1,1,1,1,1,1,1\n")
    with pytest.raises(Exception, match="ClientError: See job logs for more information"):
        transform(plan, url, f"s3://{BUCKET}/it/transform-wide/")
    teardown_run(aws["sagemaker"], plan.base_name, Wait(delay=1, max_attempts=30))
    assert run_resources(aws["sagemaker"], plan.base_name)["models"] == []


def test_teardown_stops_a_running_transform_job(aws: dict, emulator) -> None:
    plan = make_plan("manual__transform-stopped")
    url = model_artifact(aws["s3"], "it/transform-model-3.tar.gz")
    test_uri, _ = labelled_test_set(aws["s3"], "it/transform-test-3/test.csv")
    emulator.control("POST", "delays", {"step_seconds": 30})
    try:
        transform(plan, url, test_uri, wait_for_completion=False)
        assert running_jobs(aws["sagemaker"], plan.base_name) == {"transform": [plan.transform_job_name]}
        report = teardown_run(aws["sagemaker"], plan.base_name, Wait(delay=1, max_attempts=30))
    finally:
        emulator.control("POST", "delays", {"step_seconds": 0.2})
    assert report.stopped_transform_jobs == [plan.transform_job_name]
    aws["sagemaker"].get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName=plan.transform_job_name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 60}
    )
    assert (
        aws["sagemaker"].describe_transform_job(TransformJobName=plan.transform_job_name)["TransformJobStatus"]
        == "Stopped"
    )
    assert running_jobs(aws["sagemaker"], plan.base_name) == {}
