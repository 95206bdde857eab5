"""A person's path through the Airflow UI of `make up`'s stack: log in, find the DAG, trigger it
with a changed Param, and read the confusion matrix in the evaluate task's log once the run has
succeeded (the same steps run against the compose stack in tests/compose)."""

from __future__ import annotations

import boto3
import pytest

from tests.airflow_api import AirflowApi
from tools.local_airflow import Login, Stack

from .ui_flow import CHANGED_PARAMS, trigger_from_the_ui_and_read_the_evaluation

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 600  # the scheduled run goes first (one active run at a time), then ours


@pytest.mark.timeout(900)
def test_trigger_from_the_ui_with_a_changed_param_and_read_the_evaluation_log(
        api: AirflowApi, stack: Stack, credentials: Login, page) -> None:
    s3 = boto3.client("s3", endpoint_url=stack.emulator_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    document = trigger_from_the_ui_and_read_the_evaluation(page, credentials, api, s3, RUN_TIMEOUT)
    # The changed Params reached the tasks: the saved evaluation names them.
    assert {k: document[k] for k in CHANGED_PARAMS} == CHANGED_PARAMS
