"""Deployment settings, read from the environment so the same DAG runs locally and on AWS.

Only the Airflow connection and these variables differ between the emulator and real
SageMaker; the DAG itself has no "if local" branch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_BUCKET = "bankml-local"
DEFAULT_ROLE_ARN = "arn:aws:iam::123456789012:role/bankml-sagemaker-execution"


@dataclass(frozen=True)
class Settings:
    """Where the pipeline keeps its data and which identity SageMaker runs as."""

    aws_conn_id: str
    bucket: str
    prefix: str
    role_arn: str
    schedule: str | None
    poll_seconds: int
    task_retries: int
    retry_delay_seconds: int
    evaluate_timeout_seconds: int
    endpoint_wait_seconds: int

    @classmethod
    def from_env(cls) -> Settings:
        """Cheap to call at DAG parse time: environment lookups only."""
        env = os.environ
        schedule = env.get("BANKML_SCHEDULE", "@weekly")
        return cls(
            aws_conn_id=env.get("BANKML_AWS_CONN_ID", "aws_default"),
            bucket=env.get("BANKML_BUCKET", DEFAULT_BUCKET),
            prefix=env.get("BANKML_S3_PREFIX", "bankml").strip("/"),
            role_arn=env.get("BANKML_SAGEMAKER_ROLE_ARN", DEFAULT_ROLE_ARN),
            schedule=None if schedule.lower() in ("", "none", "off") else schedule,
            poll_seconds=int(env.get("BANKML_POLL_SECONDS", "30")),
            task_retries=int(env.get("BANKML_TASK_RETRIES", "1")),
            retry_delay_seconds=int(env.get("BANKML_RETRY_DELAY_SECONDS", "30")),
            evaluate_timeout_seconds=int(env.get("BANKML_EVALUATE_TIMEOUT_SECONDS", "1800")),
            endpoint_wait_seconds=int(env.get("BANKML_ENDPOINT_WAIT_SECONDS", "1800")),
        )
