"""Fault injection for testing pipelines (off by default) and the /_emulator/* control API.

Like LocalStack's chaos API: a test arms a fault over HTTP, the next matching call fails in
the way the real service fails. Counters make multi-call scenarios deterministic.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .settings import Delays

if TYPE_CHECKING:
    from .sagemaker.models import SageMakerBackend


MOTO_SERVICES = ("s3", "logs", "sts", "iam")
MAX_CONTROL_BODY_BYTES = 64 * 1024


@dataclass
class CountedFault:
    """Let `after` more calls pass, then hit the next `count` calls."""

    count: int
    after: int = 0
    status: int = 500
    message: str = "Injected fault"

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "after": self.after, "status": self.status, "message": self.message}


@dataclass
class LatencyFault:
    """Slow the next `count` invocations down by `seconds` each (a model that got slow)."""

    seconds: float
    count: int
    after: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "count": self.count, "after": self.after}


@dataclass
class RequestFault:
    """Fail requests to a moto-served service (S3, Logs, ...), e.g. S3 PutObject under a prefix."""

    service: str
    count: int
    method: str | None = None
    path_contains: str = ""
    after: int = 0
    status: int = 500
    code: str = "InternalError"
    message: str = "We encountered an internal error. Please try again."

    def matches(self, service: str | None, method: str, path: str) -> bool:
        return (
            service == self.service
            and (self.method is None or method == self.method.upper())
            and self.path_contains in path
        )

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "method": self.method, "path_contains": self.path_contains,
                "count": self.count, "after": self.after, "status": self.status, "code": self.code,
                "message": self.message}


@dataclass(frozen=True)
class InvocationFault:
    kind: str  # "throttle" or "model_error"
    status: int
    message: str


class Faults:
    """Armed faults; every `take_*` consumes what it returns, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.training_failure: str | None = None
            self.endpoint_failure: str | None = None
            self.endpoint_crash: str | None = None
            self.transform_failure: str | None = None
            self.invocation_errors: CountedFault | None = None
            self.throttle: CountedFault | None = None
            self.latency: LatencyFault | None = None
            self.request_errors: RequestFault | None = None

    def arm(self, body: dict[str, Any]) -> None:
        """Apply a POST /_emulator/faults body; raises ValueError on anything unknown or malformed."""
        parsed = _parse(body)
        with self._lock:
            if "fail_next_training_job" in parsed:
                self.training_failure = parsed["fail_next_training_job"]
            if "fail_next_endpoint" in parsed:
                self.endpoint_failure = parsed["fail_next_endpoint"]
            if "crash_next_endpoint" in parsed:
                self.endpoint_crash = parsed["crash_next_endpoint"]
            if "fail_next_transform_job" in parsed:
                self.transform_failure = parsed["fail_next_transform_job"]
            if "invocation_errors" in parsed:
                self.invocation_errors = parsed["invocation_errors"]
            if "throttle_invocations" in parsed:
                self.throttle = parsed["throttle_invocations"]
            if "invocation_latency" in parsed:
                self.latency = parsed["invocation_latency"]
            if "request_errors" in parsed:
                self.request_errors = parsed["request_errors"]

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "fail_next_training_job": self.training_failure,
                "fail_next_endpoint": self.endpoint_failure,
                "crash_next_endpoint": self.endpoint_crash,
                "fail_next_transform_job": self.transform_failure,
                "invocation_errors": self.invocation_errors and self.invocation_errors.as_dict(),
                "throttle_invocations": self.throttle and self.throttle.as_dict(),
                "invocation_latency": self.latency and self.latency.as_dict(),
                "request_errors": self.request_errors and self.request_errors.as_dict(),
            }

    def take_training_failure(self) -> str | None:
        with self._lock:
            reason, self.training_failure = self.training_failure, None
            return reason

    def take_endpoint_failure(self) -> str | None:
        with self._lock:
            reason, self.endpoint_failure = self.endpoint_failure, None
            return reason

    def take_endpoint_crash(self) -> str | None:
        """A message the next deployment thread raises as an unexpected exception (an emulator bug)."""
        with self._lock:
            message, self.endpoint_crash = self.endpoint_crash, None
            return message

    def take_transform_failure(self) -> str | None:
        with self._lock:
            reason, self.transform_failure = self.transform_failure, None
            return reason

    def take_invocation_fault(self) -> InvocationFault | None:
        """Count this invocation against the armed faults; throttling is checked first."""
        with self._lock:
            if self.throttle and _hit(self.throttle):
                if self.throttle.count == 0:
                    self.throttle = None
                return InvocationFault("throttle", 400, "Rate exceeded")
            if self.invocation_errors and _hit(self.invocation_errors):
                fault = self.invocation_errors
                if fault.count == 0:
                    self.invocation_errors = None
                return InvocationFault("model_error", fault.status, fault.message)
            return None


    def take_invocation_latency(self) -> float:
        """Seconds this invocation must wait before it is served (0 when no latency is armed)."""
        with self._lock:
            if self.latency is None or not _hit(self.latency):
                return 0.0
            seconds = self.latency.seconds
            if self.latency.count == 0:
                self.latency = None
            return seconds

    def take_request_error(self, service: str | None, method: str, path: str) -> RequestFault | None:
        """The fault this moto-bound request must get, if it matches the armed one."""
        with self._lock:
            fault = self.request_errors
            if fault is None or not fault.matches(service, method, path) or not _hit(fault):
                return None
            if fault.count == 0:
                self.request_errors = None
            return fault


def _hit(fault: CountedFault | LatencyFault | RequestFault) -> bool:
    if fault.after > 0:
        fault.after -= 1
        return False
    fault.count -= 1
    return True


def _counted(extra: dict[str, Any] | None = None, required: tuple[str, ...] = ("count",)) -> dict[str, Any]:
    """A fault object: `count` (>= 1) and `after` (>= 0) plus its own members; nothing else."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "properties": {"count": {"type": "integer", "minimum": 1}, "after": {"type": "integer", "minimum": 0},
                       **(extra or {})},
    }


_REASON = {"type": "string", "minLength": 1, "maxLength": 1024}
_MESSAGE = {"type": "string", "maxLength": 1024}
_ERROR_STATUS = {"type": "integer", "minimum": 400, "maximum": 599}

# The one declared spec of POST /_emulator/faults (served at GET /_emulator/spec); nothing else is accepted.
FAULTS_SPEC: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fail_next_training_job": _REASON,
        "fail_next_endpoint": _REASON,
        "crash_next_endpoint": _REASON,
        "fail_next_transform_job": _REASON,
        "invocation_errors": _counted({"status": _ERROR_STATUS, "message": _MESSAGE}),
        "throttle_invocations": _counted(),
        "invocation_latency": _counted(
            {"seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300}}, required=("seconds", "count")
        ),
        "request_errors": _counted(
            {
                "service": {"enum": list(MOTO_SERVICES)},
                "method": {"enum": ["GET", "HEAD", "PUT", "POST", "DELETE", "get", "head", "put", "post", "delete"]},
                "path_contains": {"type": "string", "maxLength": 1024},
                "status": _ERROR_STATUS,
                "code": {"type": "string", "pattern": "^[A-Za-z0-9.]{1,64}$"},
                "message": _MESSAGE,
            },
            required=("service", "count"),
        ),
    },
}
DELAYS_SPEC: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {f.name: {"type": "number", "minimum": 0, "maximum": 3600} for f in fields(Delays)},
}
CONTROL_SPEC = {"faults": FAULTS_SPEC, "delays": DELAYS_SPEC}
_VALIDATORS = {name: Draft202012Validator(spec) for name, spec in CONTROL_SPEC.items()}


def check_against_spec(name: str, body: Any) -> None:
    """Raise ValueError naming the first member of `body` that CONTROL_SPEC[name] refuses."""
    error = best_match(_VALIDATORS[name].iter_errors(body))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "body"
        raise ValueError(f"{where}: {_short(error.message)}")


def _parse(body: dict[str, Any]) -> dict[str, Any]:
    """Check a POST /_emulator/faults body against FAULTS_SPEC, then build the fault objects."""
    check_against_spec("faults", body)
    builders: dict[str, Any] = {
        "invocation_errors": lambda v: CountedFault(**v),
        "throttle_invocations": lambda v: CountedFault(**v),
        "invocation_latency": lambda v: LatencyFault(**v),
        "request_errors": lambda v: RequestFault(**v),
    }
    return {key: builders.get(key, lambda v: v)(value) for key, value in body.items()}


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + "..."


def control_routes(backend: SageMakerBackend) -> list[Route]:
    """The /_emulator/* API: health, faults, delays, reset."""
    faults, delays = backend.faults, backend.settings.delays

    async def health(request: Request) -> JSONResponse:
        with backend.lock:
            counts = {
                "training_jobs": len(backend.training_jobs),
                "models": len(backend.models),
                "endpoint_configs": len(backend.endpoint_configs),
                "endpoints": len(backend.endpoints),
            }
        return JSONResponse({"status": "running", "region": backend.settings.region, "account": backend.settings.account_id, "resources": counts})

    async def faults_api(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            faults.clear()
        elif request.method == "POST":
            try:
                faults.arm(await _json_object(request))
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(faults.as_dict())

    async def delays_api(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                changes = await _json_object(request)
                check_against_spec("delays", changes)
                delays.update(changes)
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(delays.as_dict())

    async def reset(request: Request) -> JSONResponse:
        backend.reset()
        return JSONResponse({"status": "reset"})

    async def spec(request: Request) -> JSONResponse:
        return JSONResponse(CONTROL_SPEC)

    return [
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/faults", faults_api, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/delays", delays_api, methods=["GET", "POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/spec", spec, methods=["GET"]),
    ]


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_CONTROL_BODY_BYTES:
        raise ValueError(f"body is larger than {MAX_CONTROL_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"body is not JSON: {error}") from None
    except RecursionError:
        raise ValueError("body is not JSON the emulator reads: nested too deeply") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body
