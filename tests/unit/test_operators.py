"""The endpoint operator waits as Settings.endpoint_wait says, in attempts derived from seconds."""

from __future__ import annotations

import pytest

from bankml.operators import RunEndpointOperator
from bankml.settings import Wait


def operator(**kwargs) -> RunEndpointOperator:
    return RunEndpointOperator(
        task_id="deploy", plan={}, training={}, role_arn="arn:role", instance_type="ml.m5.large", **kwargs
    )


def test_the_wait_becomes_the_providers_poll_interval_and_attempt_count() -> None:
    deploy = operator(wait=Wait(delay=30, max_attempts=60))
    assert (deploy.check_interval, deploy.max_ingestion_time) == (30, 60)


@pytest.mark.parametrize("extra", [{"max_ingestion_time": 1800}, {"check_interval": 30}])
def test_the_providers_own_wait_arguments_are_refused(extra) -> None:
    with pytest.raises(TypeError, match="takes wait"):
        operator(wait=Wait(delay=30, max_attempts=60), **extra)
