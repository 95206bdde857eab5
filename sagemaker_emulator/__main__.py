"""Command line: run the emulator, or drive a running one's control API.

    python -m sagemaker_emulator [--host H] [--port P] [--create-bucket NAME ...] [--create-role NAME ...]
    python -m sagemaker_emulator faults show|clear
    python -m sagemaker_emulator faults KIND REASON                      (fail-next-training-job, ...)
    python -m sagemaker_emulator faults KIND --count N [--after N] ...   (invocation-errors, throttle, ...)
    python -m sagemaker_emulator delays [--step-seconds X] [--training-seconds X] [--endpoint-creating-seconds X] ...
    python -m sagemaker_emulator reset | health
Client commands talk to --url (default $SAGEMAKER_EMULATOR_URL or http://127.0.0.1:4566).
There is one `faults` subcommand per kind in faults.FAULT_KINDS, its options made from the kind's spec.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import MISSING, fields
from typing import Any

from botocore.exceptions import ClientError

from .faults import FAULT_KINDS, FaultKind
from .settings import DEFAULT_HOST, DEFAULT_PORT, Delays, Settings

CLIENT_COMMANDS = ("faults", "delays", "reset", "health")
SAGEMAKER_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


# ---- server ----------------------------------------------------------------------------------


def server_parser() -> argparse.ArgumentParser:
    env = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m sagemaker_emulator", description="Run the SageMaker emulator.")
    parser.add_argument(
        "--host", default=env.host, help=f"address to bind (default {DEFAULT_HOST}; env SAGEMAKER_EMULATOR_HOST)"
    )
    parser.add_argument(
        "--port", type=int, default=env.port, help=f"port (default {DEFAULT_PORT}; env SAGEMAKER_EMULATOR_PORT)"
    )
    parser.add_argument(
        "--create-bucket",
        action="append",
        default=env.create_buckets,
        metavar="NAME",
        help="S3 bucket to create at start (repeatable; env SAGEMAKER_EMULATOR_CREATE_BUCKETS, comma-separated)",
    )
    parser.add_argument(
        "--create-role",
        action="append",
        default=env.create_roles,
        metavar="NAME",
        help="IAM role SageMaker may assume, created at start (repeatable; env SAGEMAKER_EMULATOR_CREATE_ROLES)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=env.allow_origins,
        metavar="ORIGIN",
        help="browser origin (e.g. http://localhost:3000, or * for any) allowed to call the "
        "emulator; none by default (repeatable; env SAGEMAKER_EMULATOR_ALLOW_ORIGINS)",
    )
    return parser  # fmt: skip


def seed_resources(settings: Settings) -> None:
    """Create the requested buckets and roles through the emulator itself, as a user would."""
    from .aws_clients import client

    s3 = client("s3", settings.internal_url, settings.region)
    for bucket in settings.create_buckets:
        s3.create_bucket(Bucket=bucket)
    iam = client("iam", settings.internal_url, settings.region)
    for role in settings.create_roles:
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=SAGEMAKER_TRUST_POLICY)["Role"]["Arn"]
        print(f"created role {arn}", file=sys.stderr)


def serve(settings: Settings) -> int:
    import uvicorn

    from .app import EmulatorApp
    from .sagemaker.hosting import preload_serving

    server = uvicorn.Server(
        uvicorn.Config(EmulatorApp(settings), host=settings.host, port=settings.port, log_level="warning")
    )

    async def run() -> int:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                await serving
                return 1
            await asyncio.sleep(0.05)
        try:
            await asyncio.to_thread(seed_resources, settings)
        except ClientError as error:
            print(f"sagemaker-emulator: cannot create the requested resources: {error}", file=sys.stderr)
            server.should_exit = True
            await serving
            return 2
        print(f"sagemaker-emulator listening on http://{settings.host}:{settings.port}", flush=True)
        preload_serving()
        await serving
        return 0

    return asyncio.run(run())


# ---- client commands -------------------------------------------------------------------------


def client_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sagemaker_emulator", description="Control a running emulator.")
    parser.add_argument(
        "--url", default=os.environ.get("SAGEMAKER_EMULATOR_URL", f"http://{DEFAULT_HOST}:{DEFAULT_PORT}")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    faults = commands.add_parser("faults", help="show, clear or arm injected faults").add_subparsers(
        dest="fault", required=True
    )
    faults.add_parser("show")
    faults.add_parser("clear")
    for kind in FAULT_KINDS:
        add_fault_arguments(faults.add_parser(kind.cli_command, help=kind.effect), kind)
    delays = commands.add_parser("delays", help="show or set state-transition delays")
    for f in fields(Delays):
        delays.add_argument("--" + f.name.replace("_", "-"), type=float, dest=f.name)
    commands.add_parser("reset", help="forget all SageMaker resources (S3/Logs/IAM state is kept)")
    commands.add_parser("health")
    return parser


_ARGUMENT_TYPES = {"integer": int, "number": float}


def add_fault_arguments(parser: argparse.ArgumentParser, kind: FaultKind) -> None:
    """A string kind takes its value as one argument; an object kind one --option per member of its spec."""
    if kind.record is None:
        parser.add_argument("value", metavar="REASON", help="the FailureReason (or message) to use")
        return
    defaults = {f.name: f.default for f in fields(kind.record) if f.default is not MISSING}
    for name, schema in kind.schema["properties"].items():
        required = name in kind.schema["required"]
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            required=required,
            type=_ARGUMENT_TYPES.get(schema.get("type"), str),
            choices=schema.get("enum"),
            help=None if required or name not in defaults else _default_help(defaults[name]),
        )


def _default_help(default: Any) -> str:
    return "default: any" if default is None else f"default {default!r}"


def fault_body(kind: FaultKind, args: argparse.Namespace) -> dict[str, Any]:
    if kind.record is None:
        return {kind.name: args.value}
    given = {name: getattr(args, name) for name in kind.schema["properties"] if getattr(args, name) is not None}
    return {kind.name: given}


def control_request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    if args.command == "faults":
        if args.fault == "show":
            return "GET", "/_emulator/faults", None
        if args.fault == "clear":
            return "DELETE", "/_emulator/faults", None
        kind = next(kind for kind in FAULT_KINDS if kind.cli_command == args.fault)
        return "POST", "/_emulator/faults", fault_body(kind, args)
    if args.command == "delays":
        changes = {f.name: getattr(args, f.name) for f in fields(Delays) if getattr(args, f.name) is not None}
        return ("POST", "/_emulator/delays", changes) if changes else ("GET", "/_emulator/delays", None)
    if args.command == "reset":
        return "POST", "/_emulator/reset", None
    return "GET", "/_emulator/health", None


def run_client(argv: list[str]) -> int:
    args = client_parser().parse_args(argv)
    method, path, body = control_request(args)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        args.url.rstrip("/") + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(json.dumps(json.loads(response.read()), indent=2))
            return 0
    except urllib.error.HTTPError as error:
        print(f"error {error.code}: {error.read().decode()}", file=sys.stderr)
    except urllib.error.URLError as error:
        print(f"cannot reach the emulator at {args.url}: {error.reason}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and (argv[0] in CLIENT_COMMANDS or argv[0] == "--url"):
        return run_client(argv)
    args = server_parser().parse_args(argv)
    settings = Settings.from_env()
    settings.host, settings.port = args.host, args.port
    settings.create_buckets, settings.create_roles = args.create_bucket, args.create_role
    settings.allow_origins = args.allow_origin
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
