import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from bankml.cost import (
    HOSTING_USD_PER_HOUR,
    TRAINING_USD_PER_HOUR,
    Usage,
    estimate_cost,
    run_cost,
    save_cost,
    training_usage,
    transform_usage,
)
from bankml.run_plan import plan_run


def test_cost_of_training_and_an_endpoint_hour():
    cost = estimate_cost(
        training_instance_type="ml.m5.xlarge",
        training_billable_seconds=3600,
        training_instance_count=2,
        endpoint_instance_type="ml.m5.large",
        endpoint_instance_count=1,
        endpoint_lifetime_seconds=1800,
    )
    assert cost.training_usd == pytest.approx(2 * TRAINING_USD_PER_HOUR["ml.m5.xlarge"])
    assert cost.endpoint_usd == pytest.approx(HOSTING_USD_PER_HOUR["ml.m5.large"] / 2)
    assert cost.total_usd == pytest.approx(cost.training_usd + cost.endpoint_usd)
    assert "as of" in cost.summary()


def test_unknown_instance_type_gives_unknown_total():
    cost = estimate_cost(
        training_instance_type="ml.p5.48xlarge",
        training_billable_seconds=60,
        endpoint_instance_type="ml.m5.large",
        endpoint_instance_count=1,
        endpoint_lifetime_seconds=60,
    )
    assert cost.training_usd is None and cost.total_usd is None
    assert "unknown" in cost.summary()


def test_no_endpoint_costs_nothing():
    cost = estimate_cost(
        training_instance_type="ml.m5.xlarge",
        training_billable_seconds=0,
        endpoint_instance_type=None,
        endpoint_instance_count=0,
        endpoint_lifetime_seconds=0,
    )
    assert cost.total_usd == 0.0


def test_transform_evaluation_is_priced_like_hosting_and_counted_in_the_total():
    cost = estimate_cost(
        training_instance_type="ml.m5.xlarge",
        training_billable_seconds=3600,
        endpoint_instance_type=None,
        endpoint_instance_count=0,
        endpoint_lifetime_seconds=0,
        transform_instance_type="ml.m5.large",
        transform_instance_count=2,
        transform_seconds=900,
    )
    assert cost.endpoint_usd == 0.0
    assert cost.transform_usd == pytest.approx(2 * HOSTING_USD_PER_HOUR["ml.m5.large"] / 4)
    assert cost.total_usd == pytest.approx(cost.training_usd + cost.transform_usd)
    assert "transform 900 s on 2 x ml.m5.large" in cost.summary()
    unknown = estimate_cost(
        training_instance_type="ml.m5.xlarge",
        training_billable_seconds=60,
        endpoint_instance_type=None,
        endpoint_instance_count=0,
        endpoint_lifetime_seconds=0,
        transform_instance_type="ml.p5.48xlarge",
        transform_instance_count=1,
        transform_seconds=60,
    )
    assert unknown.transform_usd is None and unknown.total_usd is None


T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_training_usage_sums_the_billable_time_of_every_try():
    jobs = [
        {"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}, "BillableTimeInSeconds": 40},
        {"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}},
    ]  # failed before billing
    assert training_usage(jobs) == Usage("ml.m5.xlarge", 2, 40.0)
    assert training_usage([]) == Usage(None, 1, 0.0)


def test_transform_usage_counts_a_stopping_job_until_now():
    resources = {"TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}
    jobs = [
        {**resources, "TransformStartTime": T0, "TransformEndTime": T0 + timedelta(seconds=90)},
        {**resources, "TransformStartTime": T0},  # still stopping
        {**resources},
    ]  # never started
    assert transform_usage(jobs, now=T0 + timedelta(seconds=30)) == Usage("ml.m5.large", 1, 120.0)
    assert transform_usage([], now=T0) == Usage(None, 0, 0.0)


def test_run_cost_prices_each_usage():
    cost = run_cost(
        training=Usage("ml.m5.xlarge", 1, 3600), endpoint=Usage("ml.m5.large", 1, 1800), transform=Usage(None, 0, 0.0)
    )
    assert cost.training_usd == pytest.approx(TRAINING_USD_PER_HOUR["ml.m5.xlarge"])
    assert cost.endpoint_usd == pytest.approx(HOSTING_USD_PER_HOUR["ml.m5.large"] / 2)
    assert cost.transform_usd == 0.0


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bkt")
        yield client


def _run():
    return plan_run(dag_id="d", run_id="r", run_after=T0, bucket="bkt", prefix="p", created_at=T0)


def _body(s3, key: str) -> dict:
    return json.loads(s3.get_object(Bucket="bkt", Key=key)["Body"].read())


def test_the_cost_joins_the_metrics_document(s3, caplog):
    run = _run()
    s3.put_object(
        Bucket="bkt",
        Key=run.key("evaluation", "metrics.json"),
        Body=json.dumps({"roc_auc": 0.8, "evaluation_seconds": 4.0}).encode(),
    )
    cost = run_cost(
        training=Usage("ml.m5.xlarge", 1, 60), endpoint=Usage("ml.m5.large", 1, 300), transform=Usage(None, 0, 0.0)
    )
    with caplog.at_level("INFO", logger="bankml.cost"):
        save_cost(s3, run, cost)
    document = _body(s3, run.key("evaluation", "metrics.json"))
    assert document["roc_auc"] == 0.8 and document["cost"] == cost.to_dict()
    assert _body(s3, run.key("evaluation", "cost.json")) == cost.to_dict()
    assert "Endpoint lived 300.0 s; evaluation needed 4.0 s of it" in caplog.text


def test_without_metrics_the_cost_is_still_saved(s3, caplog):
    run = _run()
    cost = run_cost(training=Usage(None, 1, 0.0), endpoint=Usage(None, 0, 0.0), transform=Usage(None, 0, 0.0))
    with caplog.at_level("INFO", logger="bankml.cost"):
        save_cost(s3, run, cost)
    assert _body(s3, run.key("evaluation", "cost.json"))["total_usd"] == 0.0
    assert "No metrics.json to add the cost to (NoSuchKey): evaluation did not finish" in caplog.text
