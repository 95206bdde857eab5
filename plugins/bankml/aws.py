"""AWS clients from the Airflow connection: the same code talks to the emulator or to AWS
depending only on that connection. The provider's hooks import lazily (DAG files import the
task modules at parse time)."""

from __future__ import annotations

from typing import Any

from bankml.settings import Settings


def client(settings: Settings, name: str, config: Any = None) -> Any:
    """Any boto3 client (sts, iam, sagemaker-runtime, ...) with the connection's credentials."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=settings.aws_conn_id, client_type=name, config=config).conn


def sagemaker(settings: Settings) -> Any:
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    return SageMakerHook(aws_conn_id=settings.aws_conn_id).conn


def s3(settings: Settings) -> Any:
    """S3Hook's client, which also applies the connection's S3-specific extra settings."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=settings.aws_conn_id).conn


def sagemaker_runtime(settings: Settings) -> Any:
    """For scoring: a throttled or slow invocation is retried; the read timeout outlasts the
    endpoint's 60 s invocation limit, so a slow reply is seen as SageMaker's own error."""
    from botocore.config import Config

    return client(
        settings, "sagemaker-runtime", Config(retries={"mode": "standard", "max_attempts": 8}, read_timeout=70)
    )


def region(settings: Settings) -> str:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    name = AwsBaseHook(aws_conn_id=settings.aws_conn_id, client_type="sts").conn_region_name
    if not name:
        raise ValueError(f"connection {settings.aws_conn_id!r} sets no region: add region_name to its extra")
    return name
