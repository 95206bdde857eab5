"""The hooks' session factory: one botocore loader per process, each connection's own credentials."""

from __future__ import annotations

import json
import subprocess
import sys

from airflow.models.connection import Connection
from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

from bankml.aws_session import SharedModelsSessionFactory
from tools.airflow_home import ROOT, SESSION_FACTORY, airflow_env


def _session(key: str, region: str):  # noqa: ANN202 - a boto3 session
    connection = Connection(conn_id=f"aws_{key}", conn_type="aws", login=key, password=f"{key}-secret")
    connection.set_extra(json.dumps({"region_name": region}))
    return SharedModelsSessionFactory(conn=AwsConnectionWrapper(connection)).create_session()


def test_sessions_share_the_loader_but_keep_their_own_credentials_and_region() -> None:
    first, second = _session("AKIAFIRST", "eu-west-1"), _session("AKIASECOND", "us-east-1")
    assert first._session.get_component("data_loader") is second._session.get_component("data_loader")
    assert first.get_credentials().access_key == "AKIAFIRST" and first.region_name == "eu-west-1"
    assert second.get_credentials().access_key == "AKIASECOND" and second.region_name == "us-east-1"


def test_a_service_model_is_parsed_once_for_every_client() -> None:
    models = [
        _session(f"AKIA{n}", "us-east-1").client("sagemaker", endpoint_url="http://127.0.0.1:9").meta.service_model
        for n in range(3)
    ]
    assert models[0]._service_description is models[2]._service_description


def test_the_loader_search_paths_do_not_grow_with_sessions() -> None:
    loader = _session("AKIA0", "us-east-1")._session.get_component("data_loader")
    before = list(loader.search_paths)
    for n in range(5):
        _session(f"AKIA{n}", "us-east-1")
    assert loader.search_paths == before


def test_the_provider_uses_it_in_every_airflow_process_this_project_starts(tmp_path) -> None:  # noqa: ANN001
    """The setting is read when the provider's hook module is imported: check it in a fresh interpreter."""
    env = airflow_env(tmp_path, None)
    assert env["AIRFLOW__AWS__SESSION_FACTORY"] == SESSION_FACTORY
    code = (
        "from airflow.providers.amazon.aws.hooks.base_aws import SessionFactory\n"
        "print(f'{SessionFactory.__module__}.{SessionFactory.__qualname__}')"
    )
    found = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == SESSION_FACTORY
    compose = (ROOT / "docker-compose.yaml").read_text()
    assert f"AIRFLOW__AWS__SESSION_FACTORY: {SESSION_FACTORY}" in compose
