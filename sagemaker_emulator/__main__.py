"""Command line: run the emulator, or drive a running one's control API.

    python -m sagemaker_emulator [--host H] [--port P] [--create-bucket NAME ...] [--create-role NAME ...]
    python -m sagemaker_emulator faults show|clear
    python -m sagemaker_emulator faults fail-next-training-job REASON
    python -m sagemaker_emulator faults fail-next-endpoint REASON
    python -m sagemaker_emulator faults invocation-errors --count N [--after N] [--status S] [--message M]
    python -m sagemaker_emulator faults throttle --count N [--after N]
    python -m sagemaker_emulator delays [--step-seconds X] [--training-seconds X] [--endpoint-creating-seconds X] ...
    python -m sagemaker_emulator reset | health
Client commands talk to --url (default $SAGEMAKER_EMULATOR_URL or http://127.0.0.1:4566).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import fields
from typing import Any

from botocore.exceptions import ClientError

from .settings import DEFAULT_HOST, DEFAULT_PORT, Delays, Settings

CLIENT_COMMANDS = ("faults", "delays", "reset", "health")
SAGEMAKER_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


# ---- server ----------------------------------------------------------------------------------


def server_parser() -> argparse.ArgumentParser:
    env = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m sagemaker_emulator", description="Run the SageMaker emulator.")
    parser.add_argument("--host", default=env.host, help=f"address to bind (default {DEFAULT_HOST}; env SAGEMAKER_EMULATOR_HOST)")
    parser.add_argument("--port", type=int, default=env.port, help=f"port (default {DEFAULT_PORT}; env SAGEMAKER_EMULATOR_PORT)")
    parser.add_argument("--create-bucket", action="append", default=env.create_buckets, metavar="NAME",
                        help="S3 bucket to create at start (repeatable; env SAGEMAKER_EMULATOR_CREATE_BUCKETS, comma-separated)")
    parser.add_argument("--create-role", action="append", default=env.create_roles, metavar="NAME",
                        help="IAM role SageMaker may assume, created at start (repeatable; env SAGEMAKER_EMULATOR_CREATE_ROLES)")
    parser.add_argument("--allow-origin", action="append", default=env.allow_origins, metavar="ORIGIN",
                        help="browser origin (e.g. http://localhost:3000, or * for any) allowed to call the "
                             "emulator; none by default (repeatable; env SAGEMAKER_EMULATOR_ALLOW_ORIGINS)")
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

    server = uvicorn.Server(uvicorn.Config(EmulatorApp(settings), host=settings.host, port=settings.port, log_level="warning"))

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
    parser.add_argument("--url", default=os.environ.get("SAGEMAKER_EMULATOR_URL", f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"))
    commands = parser.add_subparsers(dest="command", required=True)
    faults = commands.add_parser("faults", help="show, clear or arm injected faults").add_subparsers(dest="fault", required=True)
    faults.add_parser("show")
    faults.add_parser("clear")
    for name in ("fail-next-training-job", "fail-next-endpoint"):
        faults.add_parser(name).add_argument("reason", help="the FailureReason to report")
    errors = faults.add_parser("invocation-errors", help="make invocations fail as ModelError")
    errors.add_argument("--status", type=int, default=500, help="OriginalStatusCode (default 500)")
    errors.add_argument("--message", default="Injected fault", help="OriginalMessage")
    throttle = faults.add_parser("throttle", help="answer invocations with ThrottlingException")
    for sub in (errors, throttle):
        sub.add_argument("--count", type=int, required=True, help="how many invocations fail")
        sub.add_argument("--after", type=int, default=0, help="successful invocations to let through first")
    delays = commands.add_parser("delays", help="show or set state-transition delays")
    for f in fields(Delays):
        delays.add_argument("--" + f.name.replace("_", "-"), type=float, dest=f.name)
    commands.add_parser("reset", help="forget all SageMaker resources (S3/Logs/IAM state is kept)")
    commands.add_parser("health")
    return parser


def control_request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    if args.command == "faults":
        if args.fault == "show":
            return "GET", "/_emulator/faults", None
        if args.fault == "clear":
            return "DELETE", "/_emulator/faults", None
        if args.fault in ("fail-next-training-job", "fail-next-endpoint"):
            return "POST", "/_emulator/faults", {args.fault.replace("-", "_"): args.reason}
        if args.fault == "invocation-errors":
            spec = {"count": args.count, "after": args.after, "status": args.status, "message": args.message}
            return "POST", "/_emulator/faults", {"invocation_errors": spec}
        return "POST", "/_emulator/faults", {"throttle_invocations": {"count": args.count, "after": args.after}}
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
    request = urllib.request.Request(args.url.rstrip("/") + path, data=data, method=method, headers={"Content-Type": "application/json"})
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
