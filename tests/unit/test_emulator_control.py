"""The emulator's fault kinds are declared once (faults.FAULT_KINDS): the README table, the CLI and
the control API's spec follow them; and its modules import one way only."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from sagemaker_emulator.__main__ import client_parser, control_request
from sagemaker_emulator.control import CONTROL_SPEC
from sagemaker_emulator.faults import FAULT_KINDS, FaultKind, Faults

PACKAGE = Path(__file__).resolve().parents[2] / "sagemaker_emulator"
SAMPLE_VALUES = {"count": "2", "service": "s3", "seconds": "0.5"}


def _readme_fault_rows() -> list[list[str]]:
    readme = (PACKAGE / "README.md").read_text()
    section = readme.split("## Control API and fault injection", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows[0].startswith("| fault |") and set(rows[1]) <= {"|", "-"}, "the fault table's header moved"
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_readme_table_lists_exactly_the_declared_kinds() -> None:
    rows = _readme_fault_rows()
    assert [row[0] for row in rows] == [f"`{kind.name}`" for kind in FAULT_KINDS]
    for row, kind in zip(rows, FAULT_KINDS):
        assert row[-1].startswith(f"`{kind.cli_command} "), (
            f"{kind.name}: CLI column should start with {kind.cli_command}"
        )


def test_the_spec_is_made_of_the_declared_kinds() -> None:
    assert list(CONTROL_SPEC["faults"]["properties"]) == [kind.name for kind in FAULT_KINDS]
    assert CONTROL_SPEC["faults"]["additionalProperties"] is False


def _sample_argv(kind: FaultKind) -> list[str]:
    if kind.record is None:
        return [kind.cli_command, "injected"]
    required = kind.schema["required"]
    return [
        kind.cli_command,
        *[arg for name in required for arg in (f"--{name.replace('_', '-')}", SAMPLE_VALUES[name])],
    ]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction)).choices


def test_cli_has_one_subcommand_per_kind() -> None:
    commands = _subcommands(_subcommands(client_parser())["faults"])
    assert set(commands) == {"show", "clear", *(kind.cli_command for kind in FAULT_KINDS)}


@pytest.mark.parametrize("kind", FAULT_KINDS, ids=lambda kind: kind.name)
def test_cli_arms_every_kind(kind: FaultKind) -> None:
    method, path, body = control_request(client_parser().parse_args(["faults", *_sample_argv(kind)]))
    assert (method, path, list(body or {})) == ("POST", "/_emulator/faults", [kind.name])
    faults = Faults()
    faults.arm(body or {})
    assert faults.as_dict()[kind.name] is not None
    assert [name for name, armed in faults.as_dict().items() if armed is not None] == [kind.name]


def test_cli_options_fill_the_fault_like_the_http_body() -> None:
    argv = [
        "faults",
        "request-errors",
        "--service",
        "s3",
        "--method",
        "PUT",
        "--path-contains",
        "/data/",
        "--count",
        "3",
        "--status",
        "503",
        "--code",
        "SlowDown",
    ]
    _, _, body = control_request(client_parser().parse_args(argv))
    assert body == {
        "request_errors": {
            "count": 3,
            "service": "s3",
            "method": "PUT",
            "path_contains": "/data/",
            "status": 503,
            "code": "SlowDown",
        }
    }
    _, _, body = control_request(
        client_parser().parse_args(["faults", "invocation-errors", "--count", "3", "--after", "1"])
    )
    faults = Faults()
    faults.arm(body or {})
    assert faults.as_dict()["invocation_errors"] == {"count": 3, "after": 1, "status": 500, "message": "Injected fault"}


def test_counted_faults_let_calls_pass_then_hit_then_disarm() -> None:
    faults = Faults()
    faults.arm({"throttle_invocations": {"count": 1, "after": 1}, "invocation_errors": {"count": 1, "status": 503}})
    assert faults.take_invocation_fault().kind == "model_error"  # throttle lets this one pass  # type: ignore[union-attr]
    assert faults.take_invocation_fault().kind == "throttle"  # type: ignore[union-attr]
    assert faults.take_invocation_fault() is None
    assert faults.as_dict()["throttle_invocations"] is None and faults.as_dict()["invocation_errors"] is None
    faults.arm({"fail_next_endpoint": "x"})
    assert (faults.take_endpoint_failure(), faults.take_endpoint_failure()) == ("x", None)
    with pytest.raises(ValueError, match="^body: Additional properties are not allowed"):
        faults.arm({"explode": True})


# ---- layers --------------------------------------------------------------------------------------------


def _imports() -> dict[str, set[str]]:
    """Module -> the sagemaker_emulator modules it imports (anywhere, TYPE_CHECKING blocks included)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sagemaker_emulator"):
                found.add(node.module or "")
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("sagemaker_emulator")}
        graph[module] = found
    return graph


def _short(module: str) -> str:
    return re.sub(r"^sagemaker_emulator\.?", "", module)


def test_lower_layers_do_not_import_higher_ones() -> None:
    graph = {_short(module): {_short(target) for target in targets} for module, targets in _imports().items()}
    entry_points = {"app", "__main__"}
    routes = {"control", "sagemaker.responses", "sagemaker.runtime"}
    for module, targets in graph.items():
        if module not in entry_points:
            assert not targets & entry_points, f"{module} imports the app"
        if module not in entry_points | routes:
            assert not targets & routes, f"{module} imports HTTP routes: {targets & routes}"
    for module in ("faults", "schema", "settings", "control"):
        assert not {t for t in graph[module] if t.startswith("sagemaker")}, f"{module} reaches into the backend"
    # The backend (models) builds these and hands them narrow handles (TrainingHost, JobHost): never the reverse.
    below_the_backend = ("job_supervisor", "jobs", "processing", "transform", "hosting", "resources", "registry")
    for module in below_the_backend:
        assert "sagemaker.models" not in graph[f"sagemaker.{module}"], f"sagemaker.{module} imports the backend"
