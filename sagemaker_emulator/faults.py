"""Fault injection for testing pipelines (off by default) and the /_emulator/* control API.

Like LocalStack's chaos API: a test arms a fault over HTTP, the next matching call fails in
the way the real service fails. Counters make multi-call scenarios deterministic.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from .sagemaker.models import SageMakerBackend


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
            self.invocation_errors: CountedFault | None = None
            self.throttle: CountedFault | None = None
            self.latency: LatencyFault | None = None
            self.request_errors: RequestFault | None = None

    def arm(self, body: dict[str, Any]) -> None:
        """Apply a POST /_emulator/faults body; raises ValueError on anything unknown or malformed."""
        known = {"fail_next_training_job", "fail_next_endpoint", "invocation_errors", "throttle_invocations",
                 "invocation_latency", "request_errors"}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {sorted(known)}")
        parsed = {key: _parse(key, value) for key, value in body.items()}
        with self._lock:
            if "fail_next_training_job" in parsed:
                self.training_failure = parsed["fail_next_training_job"]
            if "fail_next_endpoint" in parsed:
                self.endpoint_failure = parsed["fail_next_endpoint"]
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


def _parse(key: str, value: Any) -> Any:
    if key == "invocation_latency":
        return _parse_latency(value)
    if key == "request_errors":
        return _parse_request_errors(value)
    if key in ("fail_next_training_job", "fail_next_endpoint"):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} must be a non-empty string (the FailureReason)")
        return value
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object like {{\"count\": 3, \"after\": 0}}")
    allowed = {"count", "after"} | ({"status", "message"} if key == "invocation_errors" else set())
    if set(value) - allowed or "count" not in value:
        raise ValueError(f"{key} needs count and accepts only {sorted(allowed)}")
    fault = CountedFault(**value)
    _check_counts(key, fault.count, fault.after)
    if isinstance(fault.status, bool) or not isinstance(fault.status, int) or fault.status < 0:
        raise ValueError(f"{key}.status must be an integer >= 0")
    if key == "invocation_errors" and not 400 <= fault.status <= 599:
        raise ValueError("invocation_errors.status must be an HTTP error status (400-599)")
    if not isinstance(fault.message, str):
        raise ValueError(f"{key}.message must be a string")
    return fault


def _parse_latency(value: Any) -> LatencyFault:
    if not isinstance(value, dict) or set(value) - {"seconds", "count", "after"} or not {"seconds", "count"} <= set(value):
        raise ValueError('invocation_latency must be like {"seconds": 2, "count": 10, "after": 0}')
    fault = LatencyFault(**value)
    if isinstance(fault.seconds, bool) or not isinstance(fault.seconds, (int, float)) or not 0 < fault.seconds <= 300:
        raise ValueError("invocation_latency.seconds must be a number in (0, 300]")
    _check_counts("invocation_latency", fault.count, fault.after)
    return fault


def _parse_request_errors(value: Any) -> RequestFault:
    allowed = {"service", "method", "path_contains", "count", "after", "status", "code", "message"}
    if not isinstance(value, dict) or set(value) - allowed or not {"service", "count"} <= set(value):
        raise ValueError(f"request_errors needs service and count and accepts only {sorted(allowed)}")
    fault = RequestFault(**value)
    if fault.service in ("sagemaker", ""):
        raise ValueError("request_errors is for the moto-served services (s3, logs, sts, iam); "
                         "use the SageMaker faults for SageMaker")
    if not isinstance(fault.status, int) or not 400 <= fault.status <= 599:
        raise ValueError("request_errors.status must be an HTTP error status (400-599)")
    _check_counts("request_errors", fault.count, fault.after)
    return fault


def _check_counts(key: str, count: Any, after: Any) -> None:
    for name, number in (("count", count), ("after", after)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{key}.{name} must be an integer >= 0")
    if count < 1:
        raise ValueError(f"{key}.count must be >= 1")


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
                delays.update(await _json_object(request))
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(delays.as_dict())

    async def reset(request: Request) -> JSONResponse:
        backend.reset()
        return JSONResponse({"status": "reset"})

    return [
        Route("/_emulator/health", health, methods=["GET"]),
        Route("/_emulator/faults", faults_api, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/delays", delays_api, methods=["GET", "POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body
