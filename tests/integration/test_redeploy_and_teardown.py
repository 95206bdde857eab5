"""Clearing and re-running deploy or teardown within one run, against the emulator (no DAG run).

Airflow gives a cleared or retried task a new try number; the deploy operator must then
neither collide with its own earlier model nor create a second endpoint, and the teardown
must be safe to run again.
"""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest
import xgboost as xgb

from bankml.operators import RunEndpointOperator
from bankml.run_plan import plan_run
from bankml.settings import Wait
from bankml.teardown import run_resources, teardown_run
from tests.emulator_harness import emulator_client
from tools.emulator_process import EmulatorProcess
from tools.local_setup import BUCKET, ROLE_ARN

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"


def model_artifact(s3, key: str) -> str:
    """A real (tiny) XGBoost model in a model.tar.gz, as a training job would leave it."""
    rng = np.random.default_rng(0)
    booster = xgb.train(
        {"objective": "binary:logistic"}, xgb.DMatrix(rng.random((50, 3)), label=rng.random(50) > 0.5), 3
    )
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        raw = booster.save_raw("ubj")
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(bytes(raw)))
    s3.put_object(Bucket=BUCKET, Key=key, Body=archive.getvalue())
    return f"s3://{BUCKET}/{key}"


def deploy(plan, url: str, try_number: int) -> dict:
    operator = RunEndpointOperator(
        task_id="deploy",
        plan=plan.to_dict(),
        role_arn=ROLE_ARN,
        instance_type="ml.m5.large",
        training={
            "Training": {
                "AlgorithmSpecification": {"TrainingImage": IMAGE},
                "ModelArtifacts": {"S3ModelArtifacts": url},
            }
        },
        wait=Wait(delay=1, max_attempts=120),
    )
    return operator.execute({"ti": SimpleNamespace(try_number=try_number)})


def make_plan(name: str):
    now = datetime.now(UTC)
    return plan_run(
        dag_id="bank_marketing_xgboost", run_id=name, run_after=now, bucket=BUCKET, prefix="it", created_at=now
    )


def test_cleared_deploy_updates_the_one_endpoint_and_teardown_is_rerunnable(aws: dict) -> None:
    plan = make_plan("manual__redeploy")
    url = model_artifact(aws["s3"], "it/model.tar.gz")
    first = deploy(plan, url, try_number=1)
    second = deploy(plan, url, try_number=2)  # cleared: a new try of the same run
    assert first["Endpoint"]["EndpointName"] == second["Endpoint"]["EndpointName"] == plan.endpoint_name
    assert second["Endpoint"]["EndpointConfigName"] == plan.endpoint_config_name(2)
    assert second["Endpoint"]["EndpointStatus"] == "InService"
    found = run_resources(aws["sagemaker"], plan.base_name)
    assert found["endpoints"] == [plan.endpoint_name]
    assert sorted(found["models"]) == [plan.model_name(1), plan.model_name(2)]
    body = (
        aws["sagemaker-runtime"]
        .invoke_endpoint(EndpointName=plan.endpoint_name, ContentType="text/csv", Body=b"0.1,0.2,0.3\n")["Body"]
        .read()
    )
    assert 0 <= float(body) <= 1

    report = teardown_run(aws["sagemaker"], plan.base_name, Wait(delay=1, max_attempts=60))
    assert f"endpoint/{plan.endpoint_name}" in report.deleted
    assert report.endpoint_lifetime_seconds and report.endpoint_lifetime_seconds > 0
    assert run_resources(aws["sagemaker"], plan.base_name) == {"endpoints": [], "endpoint_configs": [], "models": []}
    again = teardown_run(aws["sagemaker"], plan.base_name, Wait(delay=1, max_attempts=60))  # cleared teardown
    assert again.deleted == []


def test_deploy_retry_replaces_a_failed_endpoint(aws: dict, emulator: EmulatorProcess) -> None:
    plan = make_plan("manual__failed-then-retried")
    url = model_artifact(aws["s3"], "it/model-2.tar.gz")
    emulator.control("POST", "faults", {"fail_next_endpoint": "injected: did not pass the ping health check"})
    with pytest.raises(RuntimeError, match="is Failed: injected: did not pass the ping health check"):
        deploy(plan, url, try_number=1)
    retried = deploy(plan, url, try_number=2)
    assert retried["Endpoint"]["EndpointStatus"] == "InService"
    assert run_resources(aws["sagemaker"], plan.base_name)["endpoints"] == [plan.endpoint_name]
    teardown_run(aws["sagemaker"], plan.base_name, Wait(delay=1, max_attempts=60))
    assert run_resources(aws["sagemaker"], plan.base_name) == {"endpoints": [], "endpoint_configs": [], "models": []}


def test_teardown_of_a_run_that_created_nothing(aws: dict) -> None:
    report = teardown_run(aws["sagemaker"], make_plan("manual__nothing").base_name, Wait(delay=1, max_attempts=5))
    assert report.deleted == [] and report.endpoint_lifetime_seconds is None


def test_evaluation_rides_out_throttling_and_fails_fast_on_model_errors(aws: dict, emulator: EmulatorProcess) -> None:
    """evaluate's client: botocore standard retries absorb throttling; a model error is not retried."""
    from botocore.config import Config

    from bankml.evaluation.endpoint_scoring import EndpointInvocationError, endpoint_invoker, score, split_labelled_csv

    plan = make_plan("manual__throttled")
    deploy(plan, model_artifact(aws["s3"], "it/model-3.tar.gz"), try_number=1)
    runtime = emulator_client(
        emulator.url, "sagemaker-runtime", config=Config(retries={"mode": "standard", "max_attempts": 8})
    )
    rows = split_labelled_csv(b"".join(b"%d,0.1,0.2,0.3\n" % (i % 2) for i in range(40)), max_rows=10)
    try:
        emulator.control("POST", "faults", {"throttle_invocations": {"count": 3}})
        scores = score(rows, endpoint_invoker(runtime, plan.endpoint_name), workers=2)
        assert scores.shape == (40,) and ((0 <= scores) & (scores <= 1)).all()
        assert emulator.control("GET", "faults")["throttle_invocations"] is None  # all 3 were hit

        emulator.control(
            "POST", "faults", {"invocation_errors": {"count": 1, "after": 1, "status": 500, "message": "model crashed"}}
        )
        with pytest.raises(EndpointInvocationError, match="model answered 500: model crashed"):
            score(rows, endpoint_invoker(runtime, plan.endpoint_name), workers=1)
    finally:
        emulator.control("DELETE", "faults")
        teardown_run(aws["sagemaker"], plan.base_name, Wait(delay=1, max_attempts=60))
