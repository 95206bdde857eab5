"""Deployment settings, read from the environment so the same DAG runs locally and on AWS.

Only the Airflow connection and these variables differ between the emulator and real
SageMaker; the DAG itself has no "if local" branch.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

# What the local emulator creates (tools/local_setup.py; the pipeline never imports tools, so
# tests/deploy/test_compose.py checks they agree).
DEFAULT_BUCKET = "bankml-local"
DEFAULT_ROLE_ARN = "arn:aws:iam::123456789012:role/bankml-sagemaker-execution"
# Polls of SageMaker may be sub-second (the emulator changes state in fractions of a second), never a spin.
MIN_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Wait:
    """A botocore waiter's polling: people bound a wait in seconds, the waiter counts attempts."""

    delay: float
    max_attempts: int

    def __post_init__(self) -> None:
        if self.delay < MIN_POLL_SECONDS or self.max_attempts < 1:
            raise ValueError(
                f"a wait needs delay >= {MIN_POLL_SECONDS} and max_attempts >= 1, got {self.delay} and {self.max_attempts}"
            )

    def waiter_config(self) -> dict[str, float]:
        return {"Delay": self.delay, "MaxAttempts": self.max_attempts}


@dataclass(frozen=True)
class Settings:
    """Where the pipeline keeps its data and which identity SageMaker runs as."""

    aws_conn_id: str
    bucket: str
    prefix: str
    role_arn: str
    schedule: str | None
    poll_seconds: float
    training_describe_seconds: float
    task_retries: int
    retry_delay_seconds: int
    evaluate_timeout_seconds: int
    endpoint_wait_seconds: int

    @classmethod
    def from_env(cls) -> Settings:
        """Cheap to call at DAG parse time: environment lookups only."""
        env = os.environ
        schedule = env.get("BANKML_SCHEDULE", "@weekly")
        poll_seconds = _seconds_env("BANKML_POLL_SECONDS", 30)
        return cls(
            aws_conn_id=env.get("BANKML_AWS_CONN_ID", "aws_default"),
            bucket=env.get("BANKML_BUCKET", DEFAULT_BUCKET),
            prefix=env.get("BANKML_S3_PREFIX", "bankml").strip("/"),
            role_arn=env.get("BANKML_SAGEMAKER_ROLE_ARN", DEFAULT_ROLE_ARN),
            schedule=None if schedule.lower() in ("", "none", "off") else schedule,
            poll_seconds=poll_seconds,
            training_describe_seconds=_seconds_env("BANKML_TRAINING_DESCRIBE_SECONDS", poll_seconds),
            task_retries=_int_env("BANKML_TASK_RETRIES", 1, minimum=0),
            retry_delay_seconds=_int_env("BANKML_RETRY_DELAY_SECONDS", 30, minimum=0),
            evaluate_timeout_seconds=_int_env("BANKML_EVALUATE_TIMEOUT_SECONDS", 1800, minimum=1),
            endpoint_wait_seconds=_int_env("BANKML_ENDPOINT_WAIT_SECONDS", 1800, minimum=1),
        )

    def endpoint_wait(self) -> Wait:
        """Every wait on an endpoint (InService, deleted): polls every poll_seconds that fit in
        endpoint_wait_seconds, at least one, so a wait never exceeds the seconds it was given."""
        return Wait(delay=self.poll_seconds, max_attempts=max(1, int(self.endpoint_wait_seconds // self.poll_seconds)))


def _seconds_env(name: str, default: float) -> float:
    """A poll interval in seconds, fractions allowed; below MIN_POLL_SECONDS (0 would spin) is refused by name."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds of at least {MIN_POLL_SECONDS}, got {raw!r}") from None
    if not MIN_POLL_SECONDS <= value < math.inf:  # also refuses nan
        raise ValueError(f"{name} must be at least {MIN_POLL_SECONDS} seconds, got {raw}")
    return value


def _int_env(name: str, default: int, *, minimum: int) -> int:
    """An integer setting; a value below `minimum` (a 0 s wait or timeout) is refused by name."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value
