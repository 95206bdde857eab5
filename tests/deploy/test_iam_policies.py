"""The shipped IAM documents are valid, allow what the DAG does and little more.

IAM grammar is checked by moto's implementation of CreatePolicy/CreateRole (the
same validation messages as AWS).  Coverage is checked with a small evaluator of
Action/Resource globs and the three condition operators the policies use; an
unknown operator fails the test rather than being ignored.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest
from dotenv import dotenv_values
from moto import mock_aws

from bankml.preflight import check_role, parse_role_arn
from tools.local_setup import ROLE_ARN, ROLE_NAME

ROOT = Path(__file__).resolve().parents[2]
IAM_DIR = ROOT / "deploy" / "iam"
AIRFLOW_POLICY = IAM_DIR / "airflow-policy.json"
EXECUTION_POLICY = IAM_DIR / "sagemaker-execution-role-policy.json"
EXECUTION_TRUST = IAM_DIR / "sagemaker-execution-role-trust.json"
PERMISSION_POLICIES = [AIRFLOW_POLICY, EXECUTION_POLICY]
ALL_DOCUMENTS = [*PERMISSION_POLICIES, EXECUTION_TRUST]

BUCKET = "YOUR_BANKML_BUCKET"  # the placeholder docs/aws.md tells users to replace
PREFIX = "bankml"
REGION_ACCOUNT = "us-east-1:123456789012"
RUN = f"{PREFIX}/bank-marketing-xgboost-20260101t000000"
TAGGED = {"aws:RequestTag/project": "bankml"}


def sm(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION_ACCOUNT}:{kind}/{name}"


def log_group(name: str, stream: str | None = None) -> str:
    suffix = f":log-stream:{stream}" if stream else ":*"
    return f"arn:aws:logs:{REGION_ACCOUNT}:log-group:{name}{suffix}"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, checks in condition.items():
        for key, expected in checks.items():
            actual = context.get(key)
            if operator == "Null":
                holds = (actual is None) == (str(expected).lower() == "true")
            elif operator == "StringEquals":
                holds = actual is not None and actual in as_list(expected)
            elif operator == "StringLike":
                holds = actual is not None and any(fnmatchcase(actual, p) for p in as_list(expected))
            else:
                raise AssertionError(f"evaluator does not know condition operator {operator}")
            if not holds:
                return False
    return True


def allowed(policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """Allow statements only (the policies have no Deny): does any statement grant the request?"""
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        if (
            any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"]))
            and any(fnmatchcase(resource, r) for r in as_list(statement["Resource"]))
            and condition_holds(statement.get("Condition", {}), context or {})
        ):
            return True
    return False


@pytest.fixture
def iam_client(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_IAM", raising=False)
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


@pytest.mark.parametrize("path", PERMISSION_POLICIES, ids=lambda p: p.name)
def test_permission_policy_is_accepted_by_iam(iam_client, path: Path) -> None:
    iam_client.create_policy(PolicyName=path.stem, PolicyDocument=path.read_text())


def test_trust_policy_is_accepted_by_iam_and_by_preflight(iam_client) -> None:
    iam_client.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=EXECUTION_TRUST.read_text())

    assert check_role(iam_client, parse_role_arn(ROLE_ARN), "123456789012") == ROLE_ARN


@pytest.mark.parametrize("path", ALL_DOCUMENTS, ids=lambda p: p.name)
def test_grammar_basics(path: Path) -> None:
    document = load(path)
    statements = document["Statement"]

    assert document["Version"] == "2012-10-17"
    assert isinstance(statements, list) and statements
    sids = [s["Sid"] for s in statements]
    assert len(sids) == len(set(sids))
    for statement in statements:
        assert statement["Effect"] in {"Allow", "Deny"}
        assert all(isinstance(a, str) and ":" in a for a in as_list(statement["Action"]))
        target = "Principal" if path == EXECUTION_TRUST else "Resource"
        assert statement[target]


@pytest.mark.parametrize("path", ALL_DOCUMENTS, ids=lambda p: p.name)
def test_no_wildcard_actions(path: Path) -> None:
    actions = [a for s in load(path)["Statement"] for a in as_list(s["Action"])]

    assert [a for a in actions if "*" in a] == []


def test_trust_lets_only_sagemaker_assume_the_role() -> None:
    [statement] = load(EXECUTION_TRUST)["Statement"]

    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


AIRFLOW_NEEDS = [
    ("sts:GetCallerIdentity", "*", {}),
    # HeadBucket is authorised as s3:ListBucket without a prefix.
    ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {}),
    ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {"s3:prefix": f"{RUN}/data/train/"}),
    ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/{RUN}/data/train/train.csv", {}),
    ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/{RUN}/output/bankml-train-x/output/model.tar.gz", {}),
    ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/{RUN}/evaluation/metrics.json", {}),
    ("sagemaker:CreateTrainingJob", sm("training-job", "bankml-train-x"), TAGGED),
    ("sagemaker:DescribeTrainingJob", sm("training-job", "bankml-train-x"), {}),
    ("sagemaker:StopTrainingJob", sm("training-job", "bankml-train-x"), {}),
    ("sagemaker:CreateModel", sm("model", "bankml-model-x"), TAGGED),
    ("sagemaker:DescribeModel", sm("model", "bankml-model-x"), {}),
    ("sagemaker:DeleteModel", sm("model", "bankml-model-x"), {}),
    ("sagemaker:ListModels", "*", {}),
    ("sagemaker:CreateEndpointConfig", sm("endpoint-config", "bankml-config-x"), TAGGED),
    ("sagemaker:DescribeEndpointConfig", sm("endpoint-config", "bankml-config-x"), {}),
    ("sagemaker:DeleteEndpointConfig", sm("endpoint-config", "bankml-config-x"), {}),
    ("sagemaker:ListEndpointConfigs", "*", {}),
    ("sagemaker:CreateEndpoint", sm("endpoint", "bankml-endpoint-x"), TAGGED),
    ("sagemaker:CreateEndpoint", sm("endpoint-config", "bankml-config-x"), TAGGED),
    ("sagemaker:DescribeEndpoint", sm("endpoint", "bankml-endpoint-x"), {}),
    ("sagemaker:UpdateEndpoint", sm("endpoint", "bankml-endpoint-x"), {}),
    ("sagemaker:DeleteEndpoint", sm("endpoint", "bankml-endpoint-x"), {}),
    ("sagemaker:ListEndpoints", "*", {}),
    ("sagemaker:AddTags", sm("endpoint", "bankml-endpoint-x"), TAGGED),
    ("sagemaker:ListTags", sm("model", "bankml-model-x"), {}),
    ("sagemaker:InvokeEndpoint", sm("endpoint", "bankml-endpoint-x"), {}),
    ("sagemaker:CreateModelPackageGroup", sm("model-package-group", "bankml-economic"), {}),
    ("sagemaker:CreateModelPackage", sm("model-package", "bankml-economic/3"), {}),
    ("sagemaker:DescribeModelPackage", sm("model-package", "bankml-economic/3"), {}),
    ("sagemaker:ListModelPackages", "*", {}),
    ("logs:DescribeLogStreams", log_group("/aws/sagemaker/TrainingJobs"), {}),
    ("logs:GetLogEvents", log_group("/aws/sagemaker/TrainingJobs", "bankml-train-x/algo-1-1767225600"), {}),
    ("logs:GetLogEvents", log_group("/aws/sagemaker/Endpoints/bankml-endpoint-x", "AllTraffic/i-0"), {}),
    ("iam:PassRole", ROLE_ARN, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
    ("iam:GetRole", ROLE_ARN, {}),
]

AIRFLOW_MUST_NOT = [
    ("untagged create", "sagemaker:CreateTrainingJob", sm("training-job", "bankml-train-x"), {}),
    ("wrong project tag", "sagemaker:CreateEndpoint", sm("endpoint", "bankml-e"), {"aws:RequestTag/project": "other"}),
    ("foreign training job", "sagemaker:StopTrainingJob", sm("training-job", "someone-else"), {}),
    ("foreign endpoint", "sagemaker:DeleteEndpoint", sm("endpoint", "prod-recommender"), {}),
    ("foreign invoke", "sagemaker:InvokeEndpoint", sm("endpoint", "prod-recommender"), {}),
    ("other prefix listing", "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {"s3:prefix": "payroll/"}),
    ("object outside prefix", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/payroll/2026.csv", {}),
    ("other bucket", "s3:GetObject", f"arn:aws:s3:::another-bucket/{RUN}/data/train/train.csv", {}),
    ("delete objects", "s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/{RUN}/data/train/train.csv", {}),
    ("pass role to ec2", "iam:PassRole", ROLE_ARN, {"iam:PassedToService": "ec2.amazonaws.com"}),
    (
        "pass another role",
        "iam:PassRole",
        "arn:aws:iam::123456789012:role/admin",
        {"iam:PassedToService": "sagemaker.amazonaws.com"},
    ),
    ("other log group", "logs:GetLogEvents", log_group("/aws/lambda/payroll", "x"), {}),
    ("foreign registry", "sagemaker:CreateModelPackage", sm("model-package", "fraud-models/7"), {}),
    ("approving by hand", "sagemaker:UpdateModelPackage", sm("model-package", "bankml-economic/3"), {}),
    ("deleting versions", "sagemaker:DeleteModelPackage", sm("model-package", "bankml-economic/3"), {}),
]


@pytest.mark.parametrize(("action", "resource", "context"), AIRFLOW_NEEDS, ids=lambda v: str(v)[:60])
def test_airflow_policy_allows_every_call_the_dag_makes(action: str, resource: str, context: dict) -> None:
    assert allowed(load(AIRFLOW_POLICY), action, resource, context)


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [case[1:] for case in AIRFLOW_MUST_NOT],
    ids=[case[0] for case in AIRFLOW_MUST_NOT],
)
def test_airflow_policy_denies_what_the_dag_does_not_need(action: str, resource: str, context: dict) -> None:
    assert not allowed(load(AIRFLOW_POLICY), action, resource, context)


def test_pass_role_is_scoped_to_the_execution_role_and_sagemaker() -> None:
    [statement] = [s for s in load(AIRFLOW_POLICY)["Statement"] if "iam:PassRole" in as_list(s["Action"])]

    assert as_list(statement["Action"]) == ["iam:PassRole"]
    assert statement["Resource"] == f"arn:aws:iam::*:role/{ROLE_NAME}"
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_only_list_and_identity_actions_use_a_star_resource() -> None:
    star_actions = {
        a for s in load(AIRFLOW_POLICY)["Statement"] if "*" in as_list(s["Resource"]) for a in as_list(s["Action"])
    }

    assert star_actions == {
        "sts:GetCallerIdentity",
        "sagemaker:ListModels",
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListEndpoints",
        "sagemaker:ListModelPackages",
    }


EXECUTION_NEEDS = [
    ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {"s3:prefix": f"{RUN}/data/train/"}),
    ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/{RUN}/data/train/train.csv", {}),
    ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/{RUN}/output/bankml-train-x/output/model.tar.gz", {}),
    ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/{RUN}/output/bankml-train-x/output/model.tar.gz", {}),
    ("logs:CreateLogStream", log_group("/aws/sagemaker/TrainingJobs"), {}),
    ("logs:PutLogEvents", log_group("/aws/sagemaker/TrainingJobs", "bankml-train-x/algo-1-1767225600"), {}),
    ("logs:PutLogEvents", log_group("/aws/sagemaker/Endpoints/bankml-endpoint-x", "AllTraffic/i-0"), {}),
    ("ecr:GetAuthorizationToken", "*", {}),
    ("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost", {}),
    ("ecr:GetDownloadUrlForLayer", "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost", {}),
]

EXECUTION_MUST_NOT = [
    ("overwrite training data", "s3:PutObject", f"arn:aws:s3:::{BUCKET}/{RUN}/data/train/train.csv", {}),
    ("read evaluation", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/{RUN}/evaluation/metrics.json", {}),
    ("read outside prefix", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/payroll/2026.csv", {}),
    ("other image", "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:123456789012:repository/anything", {}),
    ("other log group", "logs:PutLogEvents", log_group("/aws/lambda/payroll", "x"), {}),
]


@pytest.mark.parametrize(("action", "resource", "context"), EXECUTION_NEEDS, ids=lambda v: str(v)[:60])
def test_execution_role_allows_what_training_and_hosting_need(action: str, resource: str, context: dict) -> None:
    assert allowed(load(EXECUTION_POLICY), action, resource, context)


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [case[1:] for case in EXECUTION_MUST_NOT],
    ids=[case[0] for case in EXECUTION_MUST_NOT],
)
def test_execution_role_denies_the_rest(action: str, resource: str, context: dict) -> None:
    assert not allowed(load(EXECUTION_POLICY), action, resource, context)


def test_policies_match_the_default_settings() -> None:
    """Bucket placeholder, prefix and role name must agree with deploy/local.env's defaults."""
    settings = dotenv_values(ROOT / "deploy" / "local.env")
    texts = [p.read_text() for p in PERMISSION_POLICIES]

    assert settings["BANKML_S3_PREFIX"] == PREFIX
    assert settings["BANKML_SAGEMAKER_ROLE_ARN"].endswith(f":role/{ROLE_NAME}")
    assert all(f"arn:aws:s3:::{BUCKET}" in text for text in texts)
    assert all(f"arn:aws:s3:::{BUCKET}/{PREFIX}/" in text for text in texts)
