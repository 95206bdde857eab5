"""Static checks of docker-compose.yaml and its env files (tests/compose runs the stack itself).

The Compose Specification's JSON schema catches structural mistakes; the tests below
check what a schema cannot: the services and their wiring, health checks, published
ports, one image built once, a migration that can fail, and that the default AWS
connection really points at the emulator service. The local setup's values (bucket, role,
region, connection, poll interval) are written once, in tools/local_setup.py; the last tests
check that the files which cannot import it (compose, deploy/local.env, the Makefile) and the
pipeline's own defaults say the same.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from airflow.providers_manager import ProvidersManager
from dotenv import dotenv_values
from jsonschema import Draft7Validator

from bankml.preflight import parse_role_arn
from bankml.settings import Settings
from tests.paths import COMPOSE_SCHEMA
from tools import local_setup

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
LOCAL_ENV = ROOT / "deploy" / "local.env"
AWS_ENV_EXAMPLE = ROOT / "deploy" / "aws.env.example"

AIRFLOW_SERVERS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
AIRFLOW_SERVICES = [*AIRFLOW_SERVERS, "airflow-init", "airflow-cli", "flower"]
EMULATOR = "sagemaker-emulator"
DEFAULT_ENV_FILE = "${BANKML_ENV_FILE:-deploy/local.env}"
_DEFAULTED = re.compile(r"\$\{(?P<name>\w+):-(?P<default>[^}]*)\}")


def resolve_defaults(value: str) -> str:
    """What compose substitutes when none of the variables is set."""
    return _DEFAULTED.sub(lambda m: m["default"], value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def option_value(command: list[str], option: str) -> str:
    return command[command.index(option) + 1]


def test_matches_the_compose_specification_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft7Validator(schema).iter_errors(compose)]

    assert errors == []


def test_services_are_celery_executor_airflow_plus_emulator(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "redis", EMULATOR, *AIRFLOW_SERVICES}
    assert services["airflow-cli"]["profiles"] == ["debug"]
    assert services["flower"]["profiles"] == ["flower"]
    assert services["flower"]["command"] == "celery flower"
    for name in AIRFLOW_SERVICES:
        environment = services[name]["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert urlsplit(environment["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
        assert environment["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
        assert urlsplit(environment["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == "postgres"


def test_workers_scale(services: dict[str, Any]) -> None:
    """`--scale airflow-worker=N` needs replicas that claim no fixed name and no host port."""
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker
    assert resolve_defaults(str(worker["environment"]["AIRFLOW__CELERY__WORKER_CONCURRENCY"])) == "1"
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown under dumb-init


@pytest.mark.parametrize(("name", "command"), AIRFLOW_SERVERS.items())
def test_airflow_servers_run_their_component(services: dict[str, Any], name: str, command: str) -> None:
    assert services[name]["command"] == command
    assert services[name]["restart"] == "always"


@pytest.mark.parametrize(
    ("name", "probe"),
    [
        ("postgres", "pg_isready"),
        ("redis", "redis-cli ping"),
        ("airflow-worker", 'inspect ping -d "celery@$${HOSTNAME}"'),
        ("flower", "http://localhost:5555/"),
        ("airflow-apiserver", "http://localhost:8080/api/v2/version"),
        ("airflow-scheduler", "http://localhost:8974/health"),
        ("airflow-dag-processor", "--job-type DagProcessorJob"),
        ("airflow-triggerer", "--job-type TriggererJob"),
        (EMULATOR, "http://localhost:4566/_emulator/health"),
    ],
)
def test_long_running_services_have_healthchecks(services: dict[str, Any], name: str, probe: str) -> None:
    healthcheck = services[name]["healthcheck"]

    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert probe in " ".join(healthcheck["test"][1:])
    assert healthcheck["retries"] >= 3


def test_scheduler_health_server_is_enabled(services: dict[str, Any]) -> None:
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    long_running = [name for name, s in services.items() if name not in ("airflow-init", "airflow-cli")]
    assert [name for name in long_running if "healthcheck" not in services[name]] == []


@pytest.mark.parametrize("name", [*AIRFLOW_SERVERS, "flower"])
def test_airflow_servers_wait_for_database_broker_emulator_and_init(services: dict[str, Any], name: str) -> None:
    expected = {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        EMULATOR: {"condition": "service_healthy"},
        "airflow-init": {"condition": "service_completed_successfully"},
    }
    if name == "airflow-worker":  # tasks talk to the execution API: workers start once it answers
        expected["airflow-apiserver"] = {"condition": "service_healthy"}
    assert services[name]["depends_on"] == expected


def test_init_migrates_database_and_writes_the_login(services: dict[str, Any]) -> None:
    init = services["airflow-init"]
    script = init["command"][1]
    passwords_file = init["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]

    assert init["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert init["user"] == "0:0"
    assert "/entrypoint airflow version" in script
    assert f"> {passwords_file}" in script


def test_init_fails_loudly_when_the_migration_fails(services: dict[str, Any]) -> None:
    """The image's _AIRFLOW_DB_MIGRATE runs `airflow db migrate || true`; init migrates itself."""
    init = services["airflow-init"]
    script = init["command"][1]

    assert script.startswith("set -euo pipefail\n")
    assert "\n/entrypoint airflow db migrate\n" in script
    assert "_AIRFLOW_DB_MIGRATE" not in init["environment"] and "_AIRFLOW_DB_UPGRADE" not in init["environment"]
    assert "|| true" not in script and "/dev/null" not in script
    assert "_AIRFLOW_WWW_USER_CREATE" not in init["environment"]  # needs the FAB auth manager


def test_login_user_matches_simple_auth_manager_users(services: dict[str, Any]) -> None:
    environment = services["airflow-init"]["environment"]
    user, role = resolve_defaults(environment["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"]).split(":")

    assert user == resolve_defaults(environment["_AIRFLOW_WWW_USER_USERNAME"])
    assert role == "admin"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_dags_and_plugins_are_mounted(services: dict[str, Any], name: str) -> None:
    mounts = dict(volume.split(":", 1)[::-1] for volume in services[name]["volumes"])

    for folder in ("dags", "plugins"):
        host = mounts[f"/opt/airflow/{folder}"]
        assert (ROOT / host).resolve() == ROOT / folder
    assert "/opt/airflow/config" in mounts and "/opt/airflow/logs" in mounts


def test_airflow_environment_names_real_config_options(services: dict[str, Any]) -> None:
    """A misspelt AIRFLOW__SECTION__KEY is silently ignored by Airflow; catch it here.

    Core options are in Airflow's config.yml, a provider's (e.g. [aws]) in its provider info.
    The [celery] options belong to the Celery provider, which is in the image but not in the
    project's virtualenv: tests/compose reads them back from a running worker instead.
    """
    spec = importlib.util.find_spec("airflow")
    config = yaml.safe_load(Path(spec.submodule_search_locations[0], "config_templates", "config.yml").read_text())
    for _, sections in ProvidersManager().provider_configs:  # e.g. the Amazon provider's [aws]
        for section, spec in sections.items():  # merged: a provider may add options to a core section
            config.setdefault(section, {}).setdefault("options", {}).update(spec.get("options", {}))
    names = {key for name in AIRFLOW_SERVICES for key in services[name]["environment"]}
    options = [name.split("__")[1:] for name in names if name.startswith("AIRFLOW__") and "__CELERY__" not in name]

    unknown = [
        f"{section}.{key}"
        for section, key in options
        if key.lower() not in config.get(section.lower(), {}).get("options", {})
    ]

    assert options and unknown == []


def published_ports(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host ip, container port) of each published port, short or long syntax."""
    result = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            result.append((port.get("host_ip", ""), str(port["target"])))
        else:
            parts = resolve_defaults(str(port)).split(":")
            result.append((parts[0] if len(parts) == 3 else "", parts[-1]))
    return result


def test_every_published_port_is_bound_to_loopback(services: dict[str, Any]) -> None:
    ports = {name: published_ports(service) for name, service in services.items()}

    assert ports["airflow-apiserver"] == [("127.0.0.1", "8080")]
    assert ports[EMULATOR] == [("127.0.0.1", "4566")]
    assert ports["flower"] == [("127.0.0.1", "5555")]
    assert {ip for bound in ports.values() for ip, _ in bound} == {"127.0.0.1"}


def test_emulator_listens_on_all_interfaces_inside_the_network_only(services: dict[str, Any]) -> None:
    emulator = services[EMULATOR]
    command = emulator["command"]

    assert command[:3] == ["python", "-m", "sagemaker_emulator"]
    assert option_value(command, "--host") == "0.0.0.0"
    assert published_ports(emulator) == [("127.0.0.1", option_value(command, "--port"))]
    assert emulator["working_dir"] == "/opt/bankml"
    assert emulator["environment"]["CONNECTION_CHECK_MAX_COUNT"] == "0"
    assert "env_file" not in emulator


def test_one_service_builds_the_image_the_others_reuse(services: dict[str, Any]) -> None:
    built = {name: s for name, s in services.items() if "build" in s}

    assert set(built) == {"airflow-init"}
    assert built["airflow-init"]["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    for name in (EMULATOR, *AIRFLOW_SERVICES):
        assert services[name]["image"] == "${BANKML_IMAGE:-bankml-airflow:local}", name
    assert (ROOT / "Dockerfile").is_file()


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_settings_come_from_the_switchable_env_file(services: dict[str, Any], name: str) -> None:
    service = services[name]

    assert service["env_file"] == [DEFAULT_ENV_FILE]
    assert (ROOT / resolve_defaults(DEFAULT_ENV_FILE)) == LOCAL_ENV
    # `environment` wins over env_file in compose: these must come from the env file only.
    assert not [k for k in service["environment"] if k.startswith(("AIRFLOW_CONN_", "BANKML_", "AWS_"))]


def aws_connection(env_file: Path) -> dict[str, Any]:
    return json.loads(dotenv_values(env_file)["AIRFLOW_CONN_AWS_DEFAULT"])


def test_local_connection_points_at_the_emulator_service(services: dict[str, Any]) -> None:
    connection = aws_connection(LOCAL_ENV)
    endpoint = urlsplit(connection["extra"]["endpoint_url"])
    emulator_command = services[EMULATOR]["command"]

    assert (endpoint.scheme, endpoint.hostname) == ("http", EMULATOR)
    assert str(endpoint.port) == option_value(emulator_command, "--port")
    assert connection == json.loads(local_setup.connection_uri(connection["extra"]["endpoint_url"]))


def test_local_settings_use_what_the_emulator_creates(services: dict[str, Any]) -> None:
    settings = dotenv_values(LOCAL_ENV)
    command = services[EMULATOR]["command"]

    assert [command[command.index("--create-bucket") + i] for i in range(4)] == local_setup.emulator_args()
    assert settings["BANKML_BUCKET"] == local_setup.BUCKET
    assert settings["BANKML_SAGEMAKER_ROLE_ARN"] == local_setup.ROLE_ARN
    assert settings["BANKML_AWS_CONN_ID"] == "aws_default"
    assert settings["AWS_DEFAULT_REGION"] == local_setup.REGION
    assert settings["BANKML_POLL_SECONDS"] == str(local_setup.COMPOSE_POLL_SECONDS)


def test_make_emulator_creates_what_the_local_setup_names() -> None:
    """`make emulator` spells the bucket and role out: a Makefile cannot import them."""
    recipe = (ROOT / "Makefile").read_text().split("\nemulator:", 1)[1].split("\n\n", 1)[0]
    [command] = [shlex.split(line) for line in recipe.splitlines() if "-m sagemaker_emulator" in line]
    start = command.index("--create-bucket")

    assert command[start : start + 4] == local_setup.emulator_args()


def test_pipeline_defaults_are_the_local_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DAG run with no BANKML_* settings uses the bucket and role the local emulator creates."""
    for name in ("BANKML_BUCKET", "BANKML_SAGEMAKER_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()

    assert (settings.bucket, settings.role_arn) == (local_setup.BUCKET, local_setup.ROLE_ARN)


def test_aws_example_uses_real_endpoints_and_the_default_credential_chain() -> None:
    settings = dotenv_values(AWS_ENV_EXAMPLE)
    connection = aws_connection(AWS_ENV_EXAMPLE)

    assert connection["conn_type"] == "aws"
    assert "endpoint_url" not in connection["extra"] and "service_config" not in connection["extra"]
    assert "login" not in connection and "password" not in connection
    assert settings["AWS_DEFAULT_REGION"] == connection["extra"]["region_name"]
    assert parse_role_arn(settings["BANKML_SAGEMAKER_ROLE_ARN"]).name == local_setup.ROLE_NAME
    assert {k for k in settings if k.startswith("BANKML_")} == {
        k for k in dotenv_values(LOCAL_ENV) if k.startswith("BANKML_")
    }
    assert "BANKML_ENV_FILE=deploy/aws.env docker compose up" in AWS_ENV_EXAMPLE.read_text()


def test_workers_wait_for_a_busy_api_server_as_the_local_stack_does(services: dict[str, Any], tmp_path: Path) -> None:
    """A task whose supervisor cannot reach the api-server fails unretried; 5 s (Airflow's default) failed in CI."""
    from tools.local_airflow import Stack, stack_env

    option = "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT"
    local = stack_env(Stack(home=tmp_path, port=8080, emulator_port=4566), "http://127.0.0.1:4566")[option]
    assert float(services["airflow-worker"]["environment"][option]) == float(local) >= 30
