"""The local setup, written once: what the emulator creates at start and how Airflow reaches it.

`make demo`, `make up`, the tests and the benchmarks take these values from here. What cannot
import Python (the Makefile's `emulator` target, docker-compose.yaml, deploy/local.env) is checked
against them by tests/deploy/test_compose.py, and so are the pipeline's own defaults
(bankml.settings): the pipeline never imports tools.
"""

from __future__ import annotations

import json

from sagemaker_emulator.settings import ACCOUNT_ID, DEFAULT_REGION

BUCKET = "bankml-local"
ROLE_NAME = "bankml-sagemaker-execution"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{ROLE_NAME}"
REGION = DEFAULT_REGION  # the emulator is started without --region
# Fake keys: the emulator wants SigV4-signed requests but checks no signature (any key works).
ACCESS_KEY = "test"
SECRET_KEY = "test"
# BANKML_POLL_SECONDS: the emulator changes state within a second (the pipeline's AWS default is 30 s).
# 0.5 s for the processes tools/airflow_home.py starts (make demo, make up, tests): each wait ends
# ~0.5 s sooner on average than at 1 s, for a DescribeEndpoint or two more a second; 5 s in the compose
# stack (deploy/local.env), where two Celery workers and five Airflow services share the machine.
POLL_SECONDS = 0.5
COMPOSE_POLL_SECONDS = 5


def emulator_args() -> list[str]:
    """The emulator's command-line options that create the bucket and role the pipeline uses."""
    return ["--create-bucket", BUCKET, "--create-role", ROLE_NAME]


def connection_uri(endpoint_url: str | None, region: str = REGION) -> str:
    """The `aws_default` connection as Airflow reads it from AIRFLOW_CONN_AWS_DEFAULT (JSON);
    without an endpoint URL it is plain AWS with the default credential chain."""
    extra: dict[str, str] = {"region_name": region}
    if endpoint_url:
        extra["endpoint_url"] = endpoint_url
        return json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY, "extra": extra})
    return json.dumps({"conn_type": "aws", "extra": extra})


def client_kwargs(endpoint_url: str) -> dict[str, str]:
    """boto3.client(service, **client_kwargs(url)): a client of the emulator at `url`."""
    return {
        "endpoint_url": endpoint_url,
        "region_name": REGION,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
    }
