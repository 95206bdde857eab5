"""The trigger form of the bank-marketing DAG (Airflow Params), cheap to import at parse time."""

from __future__ import annotations

import json

from airflow.sdk import Param

from bankml.data.source import DEFAULT_URL, EXPECTED_SHA256
from bankml.sagemaker_config import (
    DEFAULT_XGBOOST_VERSION,
    ECONOMIC_HYPERPARAMETERS,
    TUTORIAL_HYPERPARAMETERS,
    XGBOOST_VERSIONS,
)

FEATURE_SETS = ("economic", "tutorial")
EVALUATIONS = ("endpoint", "transform")
INSTANCE_TYPE = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"


def evaluation_path(params: dict) -> str:
    """The first task of the chosen evaluation: exactly one of the two paths runs."""
    return {"endpoint": "deploy", "transform": "transform"}[params["evaluation"]]


def dag_params() -> dict[str, Param]:
    return {
        "feature_set": Param(
            "economic",
            type="string",
            enum=list(FEATURE_SETS),
            title="Feature set",
            description=(
                "'tutorial': the AWS tutorial's 59 features and 70/30 split (parity check). "
                "'economic': those plus the five economic indicators, with a validation channel. "
                "'duration' is never used: it leaks the label."
            ),
        ),
        "hyperparameters": Param(
            {},
            type="object",
            title="XGBoost hyperparameter overrides",
            description=(
                'Only the keys to change, e.g. {"num_round": "50"}; a key set to null removes a '
                f"default. Defaults of 'economic' (early stopping on its validation channel's logloss; "
                f"num_round is a ceiling): {json.dumps(ECONOMIC_HYPERPARAMETERS)}. Defaults of 'tutorial' "
                f"(the tutorial's, without 'silent', which containers 1.2-1 and later refuse): "
                f"{json.dumps(TUTORIAL_HYPERPARAMETERS)}. Values are passed as strings; "
                "the train task logs the effective set."
            ),
        ),
        "xgboost_version": Param(
            DEFAULT_XGBOOST_VERSION,
            type="string",
            enum=list(XGBOOST_VERSIONS),
            title="XGBoost container version",
        ),
        "training_instance_type": Param(
            "ml.m5.xlarge", type="string", pattern=INSTANCE_TYPE, title="Training instance type"
        ),
        "endpoint_instance_type": Param(
            "ml.m5.large", type="string", pattern=INSTANCE_TYPE, title="Endpoint instance type"
        ),
        "max_training_seconds": Param(
            3600,
            type="integer",
            minimum=60,
            maximum=86400,
            title="Training time limit (seconds)",
            description="StoppingCondition.MaxRuntimeInSeconds",
        ),
        "min_auc": Param(
            0.75,
            type="number",
            minimum=0,
            maximum=1,
            title="Quality gate: minimum test ROC AUC",
            description="The evaluate task fails, after saving its metrics, below this value.",
        ),
        "evaluation": Param(
            "endpoint",
            type="string",
            enum=list(EVALUATIONS),
            title="Evaluate through",
            description=(
                "'endpoint': deploy a real-time endpoint and score the test set through it. 'transform': "
                "score it with a Batch Transform job instead (no endpoint; billed for the job's time only), "
                "on the endpoint instance type. Both save the same metrics, report and plots."
            ),
        ),
        "champion_tolerance": Param(
            0.005,
            type="number",
            minimum=0,
            maximum=1,
            title="Champion/challenger: ROC AUC tolerance",
            description=(
                "This run's model is registered Approved when it passes min_auc and its test ROC AUC is at "
                "least the champion's (the latest Approved version of the feature set's model package "
                "group) minus this; Rejected otherwise, with the reason in its metadata."
            ),
        ),
        "evaluation_workers": Param(
            4, type="integer", minimum=1, maximum=32, title="Concurrent InvokeEndpoint calls during evaluation"
        ),
        "data_url": Param(
            DEFAULT_URL,
            type="string",
            title="Dataset URL",
            description="UCI archive (zip), bank-additional.zip, or the CSV; the shipped copy is used offline.",
        ),
        "data_sha256": Param(
            EXPECTED_SHA256,
            type="string",
            pattern="^[0-9a-fA-F]{64}$",
            title="sha256 of bank-additional-full.csv",
            description="The pinned UCI file by default; set another to use your own export (its schema is checked).",
        ),
    }
