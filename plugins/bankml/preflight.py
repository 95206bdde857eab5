"""Checks that the AWS settings of a run are usable before anything is created.

A wrong bucket, role or region otherwise surfaces minutes later as an opaque
CreateTrainingJob failure, after data has been uploaded.  Every check turns the
AWS error into a sentence that says what is wrong and which setting fixes it,
and `run_preflight` reports all problems at once so one edit fixes them all.

No Airflow import here: callers pass boto3 clients, e.g.
``AwsBaseHook(aws_conn_id=conn_id, client_type="sts").conn`` inside a task, or
``boto3.client("sts")`` in tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

SAGEMAKER_SERVICE_PRINCIPAL = "sagemaker.amazonaws.com"

_ROLE_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/"
    r"(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})$"
)
_BAD_CREDENTIAL_CODES = {
    "InvalidClientTokenId": "AWS does not know the access key ID",
    "SignatureDoesNotMatch": "the secret access key does not match the access key ID",
    "UnrecognizedClientException": "AWS does not know the access key ID",
}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_MISSING_BUCKET_CODES = {"404", "NoSuchBucket", "NotFound"}
_DENIED_CODES = {"403", "AccessDenied", "AllAccessDisabled", "Forbidden"}


@dataclass(frozen=True)
class PreflightResult:
    """The passed checks, one line each, and the image they found: the one the run trains with."""

    checks: list[str]
    xgboost_image: str


class PreflightProblem(Exception):
    """One wrong setting, worded for the person who has to fix it."""


class PreflightError(Exception):
    """Every problem found by `run_preflight`, so they can all be fixed in one go."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"AWS preflight found {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class RoleArn:
    account: str
    name: str


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


def check_credentials(sts: Any) -> str:
    """Return the caller's account id; the role must live in that account."""
    try:
        identity = sts.get_caller_identity()
    except NoCredentialsError as exc:
        raise PreflightProblem(
            "no AWS credentials found: give the Airflow AWS connection a login/password, "
            "or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
            "or run where an instance/task role is available"
        ) from exc
    except EndpointConnectionError as exc:
        raise PreflightProblem(
            f"cannot reach the AWS endpoint ({exc}); if you use the local emulator, is it "
            "running and does the connection's endpoint_url point at it?"
        ) from exc
    except ClientError as exc:
        code = _error_code(exc)
        if code in _BAD_CREDENTIAL_CODES:
            raise PreflightProblem(
                f"AWS rejected the credentials ({code}): {_BAD_CREDENTIAL_CODES[code]}; "
                "check the access key pair in the connection or environment"
            ) from exc
        if code in _EXPIRED_CODES:
            raise PreflightProblem(
                f"the AWS session credentials have expired ({code}); refresh them "
                "(e.g. `aws sso login` or new temporary keys) and retry"
            ) from exc
        raise PreflightProblem(f"sts:GetCallerIdentity failed ({code}): {_error_message(exc)}") from exc
    return str(identity["Account"])


def check_bucket(s3: Any, bucket: str, region: str) -> str:
    """Return the bucket's region, which must be the run's region (SageMaker requires it)."""
    try:
        response = s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = _error_code(exc)
        if code in _MISSING_BUCKET_CODES:
            raise PreflightProblem(
                f"bucket {bucket} does not exist in region {region}; create it or set BANKML_BUCKET"
            ) from exc
        if code in _DENIED_CODES:
            raise PreflightProblem(
                f"no access to bucket {bucket} ({code}): it belongs to another account or the "
                "credentials lack s3:ListBucket on it; grant access (deploy/iam/airflow-policy.json) "
                "or set BANKML_BUCKET to a bucket you own"
            ) from exc
        if code in {"301", "PermanentRedirect"}:
            raise PreflightProblem(
                f"bucket {bucket} is not in region {region}; SageMaker needs the bucket in the "
                "region it runs in: use a bucket there or change the connection's region_name"
            ) from exc
        raise PreflightProblem(f"s3:HeadBucket on {bucket} failed ({code}): {_error_message(exc)}") from exc
    bucket_region = response.get("BucketRegion") or response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
        "x-amz-bucket-region"
    )
    if bucket_region and bucket_region != region:
        raise PreflightProblem(
            f"bucket {bucket} is in region {bucket_region} but the pipeline runs in {region}; "
            "SageMaker needs the bucket in the same region: use a bucket there or change the "
            "connection's region_name"
        )
    return bucket_region or region


def parse_role_arn(role_arn: str) -> RoleArn:
    """Split an IAM role ARN; SageMaker rejects anything else as RoleArn."""
    match = _ROLE_ARN.match(role_arn or "")
    if not match:
        raise PreflightProblem(
            f"role ARN {role_arn!r} is not of the form arn:aws:iam::<12-digit account>:role/<name>; "
            "set BANKML_SAGEMAKER_ROLE_ARN to the SageMaker execution role's ARN"
        )
    return RoleArn(match["account"], match["name"])


def _trusts_sagemaker(trust_policy: dict[str, Any]) -> bool:
    statements = trust_policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        principal = statement.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else [principal]
        services = [services] if isinstance(services, str) else services
        if (
            statement.get("Effect") == "Allow"
            and any(action in {"sts:AssumeRole", "sts:*", "*"} for action in actions)
            and (SAGEMAKER_SERVICE_PRINCIPAL in services or "*" in services)
        ):
            return True
    return False


def check_role(iam: Any, role: RoleArn, caller_account: str) -> str:
    """Return the role's ARN; it must be in the caller's account, exist and trust SageMaker."""
    if role.account != caller_account:
        raise PreflightProblem(
            f"role {role.name} is in account {role.account} but the credentials belong to "
            f"account {caller_account}; SageMaker can only be passed a role of the same account: "
            "fix BANKML_SAGEMAKER_ROLE_ARN"
        )
    try:
        found = iam.get_role(RoleName=role.name)["Role"]
    except ClientError as exc:
        code = _error_code(exc)
        if code == "NoSuchEntity":
            raise PreflightProblem(
                f"role {role.name} does not exist in account {role.account}; create it "
                "(deploy/iam/sagemaker-execution-role-*.json) or fix BANKML_SAGEMAKER_ROLE_ARN"
            ) from exc
        if code in _DENIED_CODES:
            raise PreflightProblem(
                f"cannot read role {role.name} ({code}): grant iam:GetRole on it (deploy/iam/airflow-policy.json)"
            ) from exc
        raise PreflightProblem(f"iam:GetRole on {role.name} failed ({code}): {_error_message(exc)}") from exc
    if not _trusts_sagemaker(found.get("AssumeRolePolicyDocument") or {}):
        raise PreflightProblem(
            f"role {role.name} does not let {SAGEMAKER_SERVICE_PRINCIPAL} assume it, so training "
            "would fail; use deploy/iam/sagemaker-execution-role-trust.json as its trust policy"
        )
    return str(found["Arn"])


def check_xgboost_image(region: str, xgboost_version: str) -> str:
    """Resolve the built-in XGBoost image URI for the region, offline."""
    # Imported here: the SDK takes seconds to import and must stay out of DAG parsing.
    from sagemaker.core import image_uris

    try:
        return image_uris.retrieve("xgboost", region, xgboost_version)
    except ValueError as exc:
        raise PreflightProblem(
            f"no SageMaker XGBoost image for version {xgboost_version!r} in region {region!r}: {exc}"
        ) from exc


def run_preflight(
    *,
    sts: Any,
    s3: Any,
    iam: Any,
    bucket: str,
    role_arn: str,
    region: str,
    xgboost_version: str,
) -> PreflightResult:
    """Run every check; return the passed ones and the image, or raise PreflightError listing all failures.

    When the credentials are unusable the bucket and role lookups are skipped, as
    they would only repeat the credentials error; the offline checks still run.
    """
    passed: list[str] = []
    problems: list[str] = []

    def attempt(template: str, check: Callable[..., str], *args: Any) -> str | None:
        try:
            value = check(*args)
        except PreflightProblem as exc:
            problems.append(str(exc))
            return None
        passed.append(template.format(value))
        return value

    account = attempt("credentials: account {}", check_credentials, sts)
    role: RoleArn | None = None
    try:
        role = parse_role_arn(role_arn)
    except PreflightProblem as exc:
        problems.append(str(exc))
    if account is not None:
        attempt(f"bucket: s3://{bucket} in {{}}", check_bucket, s3, bucket, region)
        if role is not None:
            attempt("role: {}", check_role, iam, role, account)
    image = attempt("xgboost image: {}", check_xgboost_image, region, xgboost_version)

    if problems or image is None:
        raise PreflightError(problems)
    return PreflightResult(passed, image)
