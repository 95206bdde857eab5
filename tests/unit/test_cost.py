import pytest

from bankml.cost import HOSTING_USD_PER_HOUR, TRAINING_USD_PER_HOUR, estimate_cost


def test_cost_of_training_and_an_endpoint_hour():
    cost = estimate_cost(training_instance_type="ml.m5.xlarge", training_billable_seconds=3600,
                         training_instance_count=2, endpoint_instance_type="ml.m5.large",
                         endpoint_instance_count=1, endpoint_lifetime_seconds=1800)
    assert cost.training_usd == pytest.approx(2 * TRAINING_USD_PER_HOUR["ml.m5.xlarge"])
    assert cost.endpoint_usd == pytest.approx(HOSTING_USD_PER_HOUR["ml.m5.large"] / 2)
    assert cost.total_usd == pytest.approx(cost.training_usd + cost.endpoint_usd)
    assert "as of" in cost.summary()


def test_unknown_instance_type_gives_unknown_total():
    cost = estimate_cost(training_instance_type="ml.p5.48xlarge", training_billable_seconds=60,
                         endpoint_instance_type="ml.m5.large", endpoint_instance_count=1,
                         endpoint_lifetime_seconds=60)
    assert cost.training_usd is None and cost.total_usd is None
    assert "unknown" in cost.summary()


def test_no_endpoint_costs_nothing():
    cost = estimate_cost(training_instance_type="ml.m5.xlarge", training_billable_seconds=0,
                         endpoint_instance_type=None, endpoint_instance_count=0, endpoint_lifetime_seconds=0)
    assert cost.total_usd == 0.0


def test_transform_evaluation_is_priced_like_hosting_and_counted_in_the_total():
    cost = estimate_cost(training_instance_type="ml.m5.xlarge", training_billable_seconds=3600,
                         endpoint_instance_type=None, endpoint_instance_count=0, endpoint_lifetime_seconds=0,
                         transform_instance_type="ml.m5.large", transform_instance_count=2, transform_seconds=900)
    assert cost.endpoint_usd == 0.0
    assert cost.transform_usd == pytest.approx(2 * HOSTING_USD_PER_HOUR["ml.m5.large"] / 4)
    assert cost.total_usd == pytest.approx(cost.training_usd + cost.transform_usd)
    assert "transform 900 s on 2 x ml.m5.large" in cost.summary()
    unknown = estimate_cost(training_instance_type="ml.m5.xlarge", training_billable_seconds=60,
                            endpoint_instance_type=None, endpoint_instance_count=0, endpoint_lifetime_seconds=0,
                            transform_instance_type="ml.p5.48xlarge", transform_instance_count=1, transform_seconds=60)
    assert unknown.transform_usd is None and unknown.total_usd is None
