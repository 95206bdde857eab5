"""Static checks of the Dockerfile: pinned base, requirements baked in as the airflow user, COPYs that resolve."""

from __future__ import annotations

import re
import shlex
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a continuation line"
    return result


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def copies(steps: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY, without --flags."""
    result = []
    for keyword, arguments in steps:
        if keyword == "COPY":
            words = [w for w in shlex.split(arguments) if not w.startswith("--")]
            result.append((words[:-1], words[-1]))
    return result


def test_parser_joins_continuations_and_skips_comments() -> None:
    text = "# c\nFROM x:1\nRUN a \\\n    b\n\nUSER y\n"

    assert instructions(text) == [("FROM", "x:1"), ("RUN", "a b"), ("USER", "y")]


def test_base_image_is_the_pinned_airflow_release(steps: list[tuple[str, str]]) -> None:
    bases = [arguments for keyword, arguments in steps if keyword == "FROM"]
    pin = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)

    assert len(bases) == 1
    image, _, tag = bases[0].partition(":")
    assert image == "apache/airflow"
    assert pin and tag == f"{pin[1]}-python{sys.version_info.major}.{sys.version_info.minor}"
    assert tag.startswith("3.3.2")


def test_requirements_are_installed_with_pip_as_the_airflow_user(steps: list[tuple[str, str]]) -> None:
    [(_, requirements_in_image)] = [(s, d) for s, d in copies(steps) if s == ["requirements.txt"]]
    user = None
    pip_runs = []
    for keyword, arguments in steps:
        if keyword == "USER":
            user = arguments
        elif keyword == "RUN" and "pip install" in arguments:
            pip_runs.append((user, shlex.split(arguments)))

    [(pip_user, words)] = pip_runs
    assert pip_user == "airflow"
    assert words[words.index("-r") + 1] == requirements_in_image
    assert "apache-airflow==${AIRFLOW_VERSION}" in words
    assert "--no-cache-dir" in words


@pytest.mark.parametrize("path", ["Dockerfile", "docker-compose.yaml", "deploy/local.env", "deploy/aws.env.example"])
def test_no_pip_install_at_container_start(path: str) -> None:
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in (ROOT / path).read_text()


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_copy_sources_exist_and_are_in_the_build_context(steps: list[tuple[str, str]]) -> None:
    patterns = dockerignore_patterns()
    sources = [source for found, _ in copies(steps) for source in found]

    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY source {source} is not in the repository"
        parents = [str(Path(*Path(source).parts[: i + 1])) for i in range(len(Path(source).parts))]
        assert not [p for p in patterns for part in parents if fnmatchcase(part, p)], (
            f"COPY source {source} is excluded by .dockerignore"
        )


def test_emulator_is_copied_where_the_compose_service_runs_it(steps: list[tuple[str, str]]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    working_dir = compose["services"]["sagemaker-emulator"]["working_dir"]

    assert (["sagemaker_emulator"], f"{working_dir}/sagemaker_emulator") in copies(steps)


@pytest.mark.parametrize("secret_or_bulk", [".git", ".venv", "deploy/aws.env", ".env"])
def test_dockerignore_keeps_secrets_and_bulk_out_of_the_context(secret_or_bulk: str) -> None:
    assert secret_or_bulk in dockerignore_patterns()
