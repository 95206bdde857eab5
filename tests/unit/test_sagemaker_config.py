from datetime import UTC, datetime

import pytest

from bankml.run_plan import plan_run
from bankml.sagemaker_config import (
    ECONOMIC_HYPERPARAMETERS,
    TUTORIAL_HYPERPARAMETERS,
    default_hyperparameters,
    effective_hyperparameters,
    endpoint_config,
    hyperparameter_strings,
    training_job_config,
    transform_job_config,
)

PLAN = plan_run(
    dag_id="d",
    run_id="r",
    run_after=datetime(2026, 1, 2, tzinfo=UTC),
    bucket="bkt",
    prefix="p",
    created_at=datetime(2026, 1, 2, tzinfo=UTC),
)
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def test_tutorial_hyperparameters_drop_silent():
    assert "silent" not in TUTORIAL_HYPERPARAMETERS
    assert TUTORIAL_HYPERPARAMETERS["num_round"] == "100"


def test_hyperparameters_become_strings():
    assert hyperparameter_strings({"num_round": 10, "eta": 0.2, "flag": True}) == {
        "num_round": "10",
        "eta": "0.2",
        "flag": "true",
    }


@pytest.mark.parametrize("bad", [{"eta": [1]}, {"eta": None}, {"x": {"y": 1}}])
def test_structured_hyperparameter_values_are_refused(bad):
    with pytest.raises(ValueError, match="must be a number or a string"):
        hyperparameter_strings(bad)


def test_at_most_100_hyperparameters():
    with pytest.raises(ValueError, match="at most 100"):
        hyperparameter_strings({f"h{i}": 1 for i in range(101)})


def test_training_config_matches_create_training_job():
    config = training_job_config(
        PLAN,
        image_uri=IMAGE,
        role_arn="arn:aws:iam::123456789012:role/r",
        channels={"train": "s3://bkt/p/k/data/train/", "validation": "s3://bkt/p/k/data/validation/"},
        hyperparameters=TUTORIAL_HYPERPARAMETERS,
        instance_type="ml.m5.xlarge",
        created_at="t",
    )
    assert config["TrainingJobName"] == PLAN.training_job_name
    assert [c["ChannelName"] for c in config["InputDataConfig"]] == ["train", "validation"]
    assert all(c["ContentType"] == "text/csv" for c in config["InputDataConfig"])
    assert config["OutputDataConfig"]["S3OutputPath"] == PLAN.uri("output")
    assert config["HyperParameters"] == TUTORIAL_HYPERPARAMETERS
    assert {"Key": "project", "Value": "bankml"} in config["Tags"]


def test_training_config_validates_with_botocore():
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateTrainingJob").input_shape
    config = training_job_config(
        PLAN,
        image_uri=IMAGE,
        role_arn="arn:aws:iam::123456789012:role/r",
        channels={"train": "s3://b/t/"},
        hyperparameters={"num_round": 1},
        instance_type="ml.m5.xlarge",
        created_at="t",
    )
    report = ParamValidator().validate(config, shape)
    assert not report.has_errors(), report.generate_report()


def test_endpoint_config_names_carry_the_try_number():
    config = endpoint_config(
        PLAN,
        try_number=3,
        image_uri=IMAGE,
        model_data_url="s3://b/m.tar.gz",
        role_arn="arn:aws:iam::123456789012:role/r",
        instance_type="ml.m5.large",
        created_at="t",
    )
    assert config["Model"]["ModelName"] == PLAN.model_name(3)
    assert config["EndpointConfig"]["ProductionVariants"][0]["ModelName"] == PLAN.model_name(3)
    assert config["Endpoint"] == {
        "EndpointName": PLAN.endpoint_name,
        "EndpointConfigName": PLAN.endpoint_config_name(3),
        "Tags": PLAN.tags("t"),
    }


def test_no_overrides_keep_the_feature_sets_defaults() -> None:
    assert effective_hyperparameters({}, "tutorial") == TUTORIAL_HYPERPARAMETERS
    assert effective_hyperparameters(None, "tutorial") == TUTORIAL_HYPERPARAMETERS
    assert effective_hyperparameters({}, "economic") == ECONOMIC_HYPERPARAMETERS
    assert default_hyperparameters("economic") is not ECONOMIC_HYPERPARAMETERS  # a copy


def test_economic_defaults_stop_early_on_the_validation_logloss() -> None:
    assert ECONOMIC_HYPERPARAMETERS == {
        "max_depth": "5", "eta": "0.05", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
        "objective": "binary:logistic", "eval_metric": "auc,logloss", "early_stopping_rounds": "20",
        "num_round": "1000"}  # fmt: skip
    assert ECONOMIC_HYPERPARAMETERS["eval_metric"].split(",")[-1] == "logloss"  # the container stops on the last one


def test_economic_defaults_pass_the_containers_validation() -> None:
    from sagemaker_emulator.xgboost_container.hyperparameters import validate
    from sagemaker_emulator.xgboost_container.versions import VERSIONS

    for version in VERSIONS.values():
        assert validate(ECONOMIC_HYPERPARAMETERS, version)["early_stopping_rounds"] == 20


def test_unknown_feature_set_has_no_defaults() -> None:
    with pytest.raises(ValueError, match="no default hyperparameters for feature set 'x'"):
        effective_hyperparameters({}, "x")


@pytest.mark.parametrize("feature_set", ["tutorial", "economic"])
def test_a_partial_override_changes_only_its_keys(feature_set: str) -> None:
    merged = effective_hyperparameters({"num_round": "10", "colsample_bytree": 0.5}, feature_set)
    assert merged == {**default_hyperparameters(feature_set), "num_round": "10", "colsample_bytree": 0.5}
    assert merged["objective"] == "binary:logistic"


def test_null_removes_a_default_and_ignores_unknown_keys() -> None:
    merged = effective_hyperparameters({"gamma": None, "not_a_default": None}, "tutorial")
    assert "gamma" not in merged and "not_a_default" not in merged
    assert set(merged) == set(TUTORIAL_HYPERPARAMETERS) - {"gamma"}
    assert "early_stopping_rounds" not in effective_hyperparameters({"early_stopping_rounds": None}, "economic")


@pytest.mark.parametrize("overrides", [{"objective": None}, {"objective": "reg:squarederror"}])
def test_an_objective_without_probabilities_fails_before_training(overrides: dict) -> None:
    with pytest.raises(ValueError, match="objective must stay 'binary:logistic'.*leave 'objective' out"):
        effective_hyperparameters(overrides, "economic")


def test_the_trigger_form_shows_the_defaults_and_starts_without_overrides() -> None:
    import json

    from bankml.dag_params import dag_params

    param = dag_params()["hyperparameters"]
    assert param.value == {}
    assert json.dumps(ECONOMIC_HYPERPARAMETERS) in param.description
    assert json.dumps(TUTORIAL_HYPERPARAMETERS) in param.description
    assert "null removes" in param.description


def test_transform_config_validates_with_botocore_and_keeps_label_and_score():
    import botocore.session
    from botocore.validate import ParamValidator

    config = transform_job_config(
        PLAN,
        try_number=2,
        image_uri=IMAGE,
        model_data_url="s3://b/m.tar.gz",
        role_arn="arn:aws:iam::123456789012:role/r",
        instance_type="ml.m5.large",
        test_uri="s3://bkt/p/test/",
        created_at="t",
    )
    model = botocore.session.get_session().get_service_model("sagemaker")
    for operation, request in (("CreateModel", config["Model"]), ("CreateTransformJob", config["Transform"])):
        report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
        assert not report.has_errors(), report.generate_report()
    transform = config["Transform"]
    assert transform["ModelName"] == config["Model"]["ModelName"] == PLAN.model_name(2)
    assert transform["TransformJobName"] == PLAN.transform_job_name
    assert transform["TransformOutput"]["S3OutputPath"] == PLAN.uri("transform")
    assert transform["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
    assert transform["Tags"] == PLAN.tags("t")
