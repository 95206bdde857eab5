"""Request bodies for the SageMaker operators, built from a RunPlan.

Plain functions returning the provider operators' `config` dicts, so they are tested
without Airflow and read like the CreateTrainingJob / CreateModel / CreateEndpointConfig /
CreateEndpoint API references.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bankml.run_plan import RunPlan

# The tutorial's hyperparameters, minus `silent=0`: the built-in algorithm rejects
# `silent` from container 1.2-1 on ("Extraneous hyperparameter found: silent").
TUTORIAL_HYPERPARAMETERS: dict[str, str] = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "binary:logistic",
    "num_round": "100",
}
# The economic feature set's default: the tutorial's trees at half its eta, with early stopping on
# the validation channel. The built-in algorithm stops on the LAST eval_metric (here logloss,
# minimized: steadier than auc on 4,119 rows) once it has not improved for early_stopping_rounds
# rounds, and saves the best round's model; num_round is only a ceiling. Measured with
# `python -m bench.default_model` (docs/results.md): test ROC AUC over seeds 0-4.
ECONOMIC_HYPERPARAMETERS: dict[str, str] = {
    "max_depth": "5",
    "eta": "0.05",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.8",
    "objective": "binary:logistic",
    "eval_metric": "auc,logloss",
    "early_stopping_rounds": "20",
    "num_round": "1000",
}
DEFAULT_HYPERPARAMETERS: dict[str, dict[str, str]] = {
    "tutorial": TUTORIAL_HYPERPARAMETERS,
    "economic": ECONOMIC_HYPERPARAMETERS,
}
"""Per feature set: the tutorial's own values for its parity check, the measured best for economic."""
XGBOOST_VERSIONS = ("1.7-1", "3.0-5")
DEFAULT_XGBOOST_VERSION = "3.0-5"
CSV = "text/csv"


# evaluate scores the test set as probabilities: any other objective would train, deploy and
# bill before evaluate could refuse its scores.
REQUIRED_OBJECTIVE = "binary:logistic"


def default_hyperparameters(feature_set: str) -> dict[str, str]:
    """A copy of the default hyperparameters of ``feature_set``."""
    if feature_set not in DEFAULT_HYPERPARAMETERS:
        raise ValueError(f"no default hyperparameters for feature set {feature_set!r}")
    return dict(DEFAULT_HYPERPARAMETERS[feature_set])


def effective_hyperparameters(overrides: Mapping[str, Any] | None, feature_set: str) -> dict[str, Any]:
    """The feature set's default hyperparameters with the trigger's overrides: a key given
    replaces its default, a key set to null removes it, every other default stays."""
    merged: dict[str, Any] = default_hyperparameters(feature_set)
    for name, value in (overrides or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    objective = merged.get("objective")
    if objective != REQUIRED_OBJECTIVE:
        raise ValueError(
            f"hyperparameter objective must stay {REQUIRED_OBJECTIVE!r} (evaluate needs probabilities), "
            f"got {objective!r}: leave 'objective' out of the hyperparameters Param to keep the default"
        )
    return merged


def hyperparameter_strings(hyperparameters: Mapping[str, Any]) -> dict[str, str]:
    """SageMaker requires every value to be a string; booleans as xgboost spells them."""
    if len(hyperparameters) > 100:
        raise ValueError(f"SageMaker accepts at most 100 hyperparameters, got {len(hyperparameters)}")
    out: dict[str, str] = {}
    for name, value in hyperparameters.items():
        if isinstance(value, (dict, list)) or value is None:
            raise ValueError(f"hyperparameter {name!r} must be a number or a string, got {value!r}")
        out[str(name)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def training_job_config(
    plan: RunPlan,
    *,
    image_uri: str,
    role_arn: str,
    channels: Mapping[str, str],
    hyperparameters: Mapping[str, Any],
    instance_type: str,
    instance_count: int = 1,
    volume_size_gb: int = 10,
    max_runtime_seconds: int = 3600,
    created_at: str,
) -> dict[str, Any]:
    """CreateTrainingJob request: CSV channels (label first, no header), File mode."""
    return {
        "TrainingJobName": plan.training_job_name,
        "AlgorithmSpecification": {"TrainingImage": image_uri, "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "InputDataConfig": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": CSV,
                "CompressionType": "None",
            }
            for name, uri in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": plan.uri("output")},
        "ResourceConfig": {
            "InstanceType": instance_type,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
        "HyperParameters": hyperparameter_strings(hyperparameters),
        "Tags": plan.tags(created_at),
    }


def _model(name: str, image_uri: str, model_data_url: str, role_arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    """CreateModel request of the trained model in the built-in XGBoost image."""
    return {
        "ModelName": name,
        "PrimaryContainer": {"Image": image_uri, "ModelDataUrl": model_data_url},
        "ExecutionRoleArn": role_arn,
        "Tags": tags,
    }


def endpoint_config(
    plan: RunPlan,
    *,
    try_number: int,
    image_uri: str,
    model_data_url: str,
    role_arn: str,
    instance_type: str,
    instance_count: int = 1,
    created_at: str,
) -> dict[str, Any]:
    """SageMakerEndpointOperator config: Model, EndpointConfig and Endpoint of one deploy try."""
    tags = plan.tags(created_at)
    model_name = plan.model_name(try_number)
    config_name = plan.endpoint_config_name(try_number)
    return {
        "Model": _model(model_name, image_uri, model_data_url, role_arn, tags),
        "EndpointConfig": {
            "EndpointConfigName": config_name,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model_name,
                    "InitialInstanceCount": instance_count,
                    "InstanceType": instance_type,
                    "InitialVariantWeight": 1.0,
                }
            ],
            "Tags": tags,
        },
        "Endpoint": {
            "EndpointName": plan.endpoint_name,
            "EndpointConfigName": config_name,
            "Tags": tags,
        },
    }


# Batch Transform scores the labelled test channel as it is: the label column is cut off before the
# model sees a row (InputFilter), joined back to the row's score, and only (label, score) is kept.
TRANSFORM_DATA_PROCESSING = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}


def transform_job_config(
    plan: RunPlan,
    *,
    try_number: int,
    image_uri: str,
    model_data_url: str,
    role_arn: str,
    instance_type: str,
    test_uri: str,
    created_at: str,
) -> dict[str, Any]:
    """SageMakerTransformOperator config: the Model and the TransformJob of one evaluation try."""
    tags = plan.tags(created_at)
    model_name = plan.model_name(try_number)
    return {
        "Model": _model(model_name, image_uri, model_data_url, role_arn, tags),
        "Transform": {
            "TransformJobName": plan.transform_job_name,
            "ModelName": model_name,
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": test_uri}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": plan.uri("transform"), "Accept": "text/csv", "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": instance_type, "InstanceCount": 1},
            "BatchStrategy": "MultiRecord",
            "MaxPayloadInMB": 6,
            "DataProcessing": dict(TRANSFORM_DATA_PROCESSING),
            "Tags": tags,
        },
    }
