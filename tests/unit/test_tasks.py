"""Task bodies against moto's SageMaker and S3, without Airflow running: the clients are swapped in
where bankml.aws would build them from the connection."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bankml import aws, tasks
from bankml.janitor import sweep_task
from bankml.run_plan import plan_run
from bankml.settings import Settings

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/bankml"
SETTINGS = Settings(
    aws_conn_id="aws_default",
    bucket="bkt",
    prefix="p",
    role_arn=ROLE,
    schedule=None,
    poll_seconds=1,
    training_describe_seconds=1,
    task_retries=0,
    retry_delay_seconds=0,
    evaluate_timeout_seconds=60,
    endpoint_wait_seconds=5,
)
RUN = plan_run(
    dag_id="bank_marketing_xgboost", run_id="manual__1", run_after=T0, bucket="bkt", prefix="p", created_at=T0
)


@pytest.fixture
def clients(monkeypatch) -> Iterator[SimpleNamespace]:
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        monkeypatch.setattr(aws, "sagemaker", lambda settings: sm)
        monkeypatch.setattr(aws, "s3", lambda settings: s3)
        yield SimpleNamespace(sm=sm, s3=s3)


def leave_a_deploy(sm: Any, base: str, tags: list[dict[str, str]] | None = None) -> None:
    """What a deploy that failed before its endpoint leaves: a model and its endpoint config."""
    sm.create_model(
        ModelName=f"{base}-model-1",
        ExecutionRoleArn=ROLE,
        Tags=tags or [],
        PrimaryContainer={"Image": "xgboost", "ModelDataUrl": "s3://bkt/model.tar.gz"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{base}-config-1",
        Tags=tags or [],
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{base}-model-1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )


def train(sm: Any, name: str) -> None:
    sm.create_training_job(
        TrainingJobName=name,
        RoleArn=ROLE,
        AlgorithmSpecification={"TrainingImage": "xgboost", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://bkt/out"},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
    )


def test_teardown_deletes_the_run_and_saves_its_cost(clients, caplog) -> None:
    leave_a_deploy(clients.sm, RUN.base_name)
    leave_a_deploy(clients.sm, "bankml-another-run")
    train(clients.sm, RUN.training_job_name)
    with caplog.at_level(logging.INFO):
        result = tasks.teardown(SETTINGS, RUN.to_dict())
    assert result["deleted"] == [f"endpoint-config/{RUN.base_name}-config-1", f"model/{RUN.base_name}-model-1"]
    assert result["stopped_training_jobs"] == result["stopped_transform_jobs"] == []
    assert result["cost"]["training_instance_type"] == "ml.m5.xlarge" and result["cost"]["total_usd"] == 0.0
    saved = json.loads(clients.s3.get_object(Bucket="bkt", Key=RUN.key("evaluation", "cost.json"))["Body"].read())
    assert saved == result["cost"]
    assert "Estimated cost: training 0 s on ml.m5.xlarge" in caplog.text
    assert [m["ModelName"] for m in clients.sm.list_models()["Models"]] == ["bankml-another-run-model-1"]


def test_a_teardown_of_nothing_says_so(clients, caplog) -> None:
    with caplog.at_level(logging.INFO):
        assert tasks.teardown(SETTINGS, RUN.to_dict())["deleted"] == []
    assert "Deleted: nothing (nothing of this run existed)" in caplog.text


def test_verify_cleanup_fails_on_leftovers_and_passes_after_the_teardown(clients, caplog) -> None:
    leave_a_deploy(clients.sm, RUN.base_name)
    with pytest.raises(RuntimeError, match="Still on SageMaker after the teardown"):
        tasks.verify_cleanup(SETTINGS, RUN.to_dict())
    tasks.teardown(SETTINGS, RUN.to_dict())
    with caplog.at_level(logging.INFO):
        tasks.verify_cleanup(SETTINGS, RUN.to_dict())
        tasks.verify_cleanup(SETTINGS, None)
    assert "Verified: nothing of run manual__1 is left on SageMaker" in caplog.text
    assert "The run made no plan, so it created nothing: nothing to verify" in caplog.text


def test_the_janitor_task_deletes_the_runs_that_are_over_and_keeps_the_running(clients, caplog) -> None:
    old = plan_run(
        dag_id="bank_marketing_xgboost", run_id="manual__old", run_after=T0, bucket="bkt", prefix="p", created_at=T0
    )
    now = datetime.now(UTC)
    alive = plan_run(
        dag_id="bank_marketing_xgboost", run_id="manual__alive", run_after=now, bucket="bkt", prefix="p", created_at=now
    )
    leave_a_deploy(clients.sm, old.base_name, old.tags())
    leave_a_deploy(clients.sm, alive.base_name, alive.tags())
    states = {"manual__old": "failed", "manual__alive": "running"}

    def get_dagrun_state(dag_id: str, run_id: str) -> str:
        if run_id not in states:
            raise KeyError(run_id)
        return states[run_id]

    with caplog.at_level(logging.INFO):
        result = sweep_task(SETTINGS, {"ttl_minutes": 240}, SimpleNamespace(get_dagrun_state=get_dagrun_state))
    assert result == {
        "deleted": [f"endpoint-config/{old.base_name}-config-1", f"model/{old.base_name}-model-1"],
        "kept": [alive.base_name],
    }
    assert "Janitor: deleted 2 resources, kept 1 runs' resources" in caplog.text


def test_training_trains_the_image_preflight_resolved(clients, monkeypatch) -> None:
    """Preflight resolves the region's XGBoost image once (the SageMaker SDK takes seconds to import);
    training_config builds the job with that same image."""
    from bankml.dag_params import dag_params

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    boto3.client("iam").create_role(RoleName="bankml", AssumeRolePolicyDocument=json.dumps(trust))
    monkeypatch.setattr(aws, "client", lambda settings, name, config=None: boto3.client(name, region_name="us-east-1"))
    monkeypatch.setattr(aws, "region", lambda settings: "us-east-1")
    params = {name: param.value for name, param in dag_params().items()}

    checked = tasks.preflight(SETTINGS, {**params, "xgboost_version": "1.7-1"})

    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    assert checked == {"xgboost_image": image}
    channels = {name: {"uri": RUN.uri("data", name)} for name in ("train", "validation", "test")}
    config = tasks.training_config(SETTINGS, RUN.to_dict(), checked, {"channels": channels}, params)
    assert config["AlgorithmSpecification"]["TrainingImage"] == image
    assert [c["ChannelName"] for c in config["InputDataConfig"]] == ["train", "validation"]


def test_a_task_runs_with_the_heap_it_started_with_frozen() -> None:
    import gc

    gc.unfreeze()
    try:
        frozen_while_running = tasks.heap_frozen(gc.get_freeze_count)()
        assert frozen_while_running > 1000  # at least this test process's modules
        assert tasks.prepare.__name__ == "prepare" and tasks.prepare.__wrapped__.__name__ == "prepare"
    finally:
        gc.unfreeze()
