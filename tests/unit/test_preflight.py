"""Each wrong AWS setting gives its own actionable message, and all are reported at once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from bankml.preflight import (
    PreflightError,
    PreflightProblem,
    RoleArn,
    check_credentials,
    parse_role_arn,
    run_preflight,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
BUCKET = "bankml-preflight-test"
ROLE_NAME = "bankml-sagemaker-execution"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
VERSION = "3.0-5"
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Fake credentials only; never the developer's profile or a real endpoint."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_IAM",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def session(aws_env: None) -> Iterator[boto3.Session]:
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def create_bucket(session: boto3.Session, name: str = BUCKET, region: str = REGION) -> None:
    s3 = session.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def create_role(session: boto3.Session, trust: dict = SAGEMAKER_TRUST, path: str = "/") -> None:
    session.client("iam").create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust), Path=path)


def clients(session: boto3.Session) -> dict[str, object]:
    return {name: session.client(name) for name in ("sts", "s3", "iam")}


def problems_of(session: boto3.Session, **overrides: str) -> list[str]:
    settings = {"bucket": BUCKET, "role_arn": ROLE_ARN, "region": REGION, "xgboost_version": VERSION}
    settings.update(overrides)
    with pytest.raises(PreflightError) as caught:
        run_preflight(**clients(session), **settings)
    assert str(caught.value).startswith(f"AWS preflight found {len(caught.value.problems)} problem(s):")
    for problem in caught.value.problems:
        assert f"  - {problem}" in str(caught.value)
    return caught.value.problems


def test_happy_path_reports_every_check(session: boto3.Session) -> None:
    create_bucket(session)
    create_role(session)

    result = run_preflight(**clients(session), bucket=BUCKET, role_arn=ROLE_ARN, region=REGION, xgboost_version=VERSION)

    image = f"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:{VERSION}"
    assert result.xgboost_image == image
    assert result.checks == [
        f"credentials: account {ACCOUNT}",
        f"bucket: s3://{BUCKET} in {REGION}",
        f"role: {ROLE_ARN}",
        f"xgboost image: {image}",
    ]


def test_role_with_a_path_is_accepted(session: boto3.Session) -> None:
    create_bucket(session)
    create_role(session, path="/service-role/")
    arn = f"arn:aws:iam::{ACCOUNT}:role/service-role/{ROLE_NAME}"

    assert (
        f"role: {arn}"
        in run_preflight(**clients(session), bucket=BUCKET, role_arn=arn, region=REGION, xgboost_version=VERSION).checks
    )


def test_missing_bucket(session: boto3.Session) -> None:
    create_role(session)

    assert problems_of(session, bucket="bankml-nowhere") == [
        f"bucket bankml-nowhere does not exist in region {REGION}; create it or set BANKML_BUCKET"
    ]


def test_bucket_in_another_region(session: boto3.Session) -> None:
    create_bucket(session, region="eu-west-1")
    create_role(session)

    [problem] = problems_of(session)

    assert f"bucket {BUCKET} is in region eu-west-1 but the pipeline runs in {REGION}" in problem


@pytest.mark.parametrize(
    "bad_arn",
    [
        "bankml-sagemaker-execution",
        "arn:aws:iam::12345:role/bankml-sagemaker-execution",
        f"arn:aws:iam::{ACCOUNT}:user/bankml-sagemaker-execution",
        f"arn:aws:iam::{ACCOUNT}:role/",
        "",
    ],
)
def test_bad_role_arn_format(session: boto3.Session, bad_arn: str) -> None:
    create_bucket(session)

    assert problems_of(session, role_arn=bad_arn) == [
        f"role ARN {bad_arn!r} is not of the form arn:aws:iam::<12-digit account>:role/<name>; "
        "set BANKML_SAGEMAKER_ROLE_ARN to the SageMaker execution role's ARN"
    ]


def test_parse_role_arn_keeps_account_and_name_without_path() -> None:
    arn = "arn:aws-cn:iam::210987654321:role/team/bankml-exec"

    assert parse_role_arn(arn) == RoleArn(account="210987654321", name="bankml-exec")


def test_role_in_another_account(session: boto3.Session) -> None:
    create_bucket(session)

    [problem] = problems_of(session, role_arn=f"arn:aws:iam::210987654321:role/{ROLE_NAME}")

    assert problem.startswith(
        f"role {ROLE_NAME} is in account 210987654321 but the credentials belong to account {ACCOUNT}"
    )
    assert "BANKML_SAGEMAKER_ROLE_ARN" in problem


def test_missing_role(session: boto3.Session) -> None:
    create_bucket(session)

    [problem] = problems_of(session)

    assert problem.startswith(f"role {ROLE_NAME} does not exist in account {ACCOUNT}; create it")


def test_role_that_sagemaker_cannot_assume(session: boto3.Session) -> None:
    create_bucket(session)
    ec2_trust = json.loads(json.dumps(SAGEMAKER_TRUST))
    ec2_trust["Statement"][0]["Principal"]["Service"] = "ec2.amazonaws.com"
    create_role(session, trust=ec2_trust)

    [problem] = problems_of(session)

    assert problem.startswith(f"role {ROLE_NAME} does not let sagemaker.amazonaws.com assume it")


def test_unknown_xgboost_version_lists_supported_versions(session: boto3.Session) -> None:
    create_bucket(session)
    create_role(session)

    [problem] = problems_of(session, xgboost_version="9.9-9")

    assert problem.startswith(f"no SageMaker XGBoost image for version '9.9-9' in region '{REGION}'")
    assert "1.7-1" in problem and "3.0-5" in problem


def test_unknown_region(session: boto3.Session) -> None:
    create_bucket(session)
    create_role(session)

    bucket_problem, image_problem = problems_of(session, region="mars-north-1")

    assert bucket_problem.startswith(f"bucket {BUCKET} is in region us-east-1 but the pipeline runs in mars-north-1")
    assert image_problem.startswith("no SageMaker XGBoost image for version '3.0-5' in region 'mars-north-1'")
    assert "us-east-1" in image_problem


def test_every_problem_is_reported_not_only_the_first(session: boto3.Session) -> None:
    problems = problems_of(
        session,
        bucket="bankml-nowhere",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/nobody",
        xgboost_version="0.1-0",
    )

    assert [p.split(" ")[0:2] for p in problems] == [
        ["bucket", "bankml-nowhere"],
        ["role", "nobody"],
        ["no", "SageMaker"],
    ]


def test_no_credentials_skips_lookups_but_still_runs_offline_checks(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    # No mock_aws here: it would supply fake credentials. Signing fails before any request.
    problems = problems_of(boto3.Session(region_name=REGION), role_arn="not-an-arn", xgboost_version="0.1-0")

    assert len(problems) == 3
    assert problems[0].startswith("no AWS credentials found:")
    assert problems[1].startswith("role ARN 'not-an-arn' is not of the form")
    assert problems[2].startswith("no SageMaker XGBoost image for version '0.1-0'")


@set_initial_no_auth_action_count(0)
def test_unknown_access_key_is_rejected(aws_env: None) -> None:
    with mock_aws():
        session = boto3.Session(region_name=REGION, aws_access_key_id="AKIAUNKNOWNKEY000000", aws_secret_access_key="x")
        [problem] = problems_of(session)

    assert problem.startswith("AWS rejected the credentials (InvalidClientTokenId)")


@set_initial_no_auth_action_count(3)
def test_credentials_without_access_to_bucket_and_role(aws_env: None) -> None:
    with mock_aws():
        admin = boto3.Session(region_name=REGION)
        create_bucket(admin)
        admin.client("iam").create_user(UserName="powerless")
        key = admin.client("iam").create_access_key(UserName="powerless")["AccessKey"]
        powerless = boto3.Session(
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        problems = problems_of(powerless)

    assert problems[0].startswith(f"no access to bucket {BUCKET} (AccessDenied)")
    assert problems[1] == (
        f"cannot read role {ROLE_NAME} (AccessDenied): grant iam:GetRole on it (deploy/iam/airflow-policy.json)"
    )


def test_expired_session_token(aws_env: None) -> None:
    sts = boto3.client("sts", region_name=REGION)
    with Stubber(sts) as stubber:
        stubber.add_client_error(
            "get_caller_identity",
            service_error_code="ExpiredToken",
            service_message="The security token included in the request is expired",
        )
        with pytest.raises(PreflightProblem, match=r"have expired \(ExpiredToken\); refresh them"):
            check_credentials(sts)


def test_unreachable_endpoint_points_at_the_emulator(aws_env: None) -> None:
    sts = boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )

    with pytest.raises(PreflightProblem, match="cannot reach the AWS endpoint .*is it running"):
        check_credentials(sts)
