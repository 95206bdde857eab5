"""Fault injection for testing pipelines (off by default): the declared fault kinds and the armed state.

Like LocalStack's chaos API: a test arms a fault (POST /_emulator/faults, see control.py), the
next matching call fails in the way the real service fails. Counters make multi-call scenarios
deterministic. FAULT_KINDS is the one list of kinds: the control API's spec, the CLI and the
README table are all made from (or checked against) it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .schema import checker

MOTO_SERVICES = ("s3", "logs", "sts", "iam")


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
        return {
            "service": self.service,
            "method": self.method,
            "path_contains": self.path_contains,
            "count": self.count,
            "after": self.after,
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class InvocationFault:
    kind: str  # "throttle" or "model_error"
    status: int
    message: str


@dataclass(frozen=True)
class FaultKind:
    """One fault a test can arm: its member of POST /_emulator/faults and what it does."""

    name: str
    schema: dict[str, Any]  # JSON Schema of the member's value
    effect: str  # one line (CLI help; the README table says the same at more length)
    record: type[CountedFault | LatencyFault | RequestFault] | None = None  # built from an object value
    command: str | None = None  # CLI subcommand; default: the name with dashes

    @property
    def cli_command(self) -> str:
        return self.command or self.name.replace("_", "-")

    def build(self, value: Any) -> Any:
        return value if self.record is None else self.record(**value)


def _counted(extra: dict[str, Any] | None = None, required: tuple[str, ...] = ("count",)) -> dict[str, Any]:
    """A fault object: `count` (>= 1) and `after` (>= 0) plus its own members; nothing else."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "properties": {
            "count": {"type": "integer", "minimum": 1},
            "after": {"type": "integer", "minimum": 0},
            **(extra or {}),
        },
    }


_REASON = {"type": "string", "minLength": 1, "maxLength": 1024}
_MESSAGE = {"type": "string", "maxLength": 1024}
_ERROR_STATUS = {"type": "integer", "minimum": 400, "maximum": 599}

FAULT_KINDS: tuple[FaultKind, ...] = (
    FaultKind("fail_next_training_job", _REASON, "the next training job fails with this FailureReason"),
    FaultKind("fail_next_endpoint", _REASON, "the next endpoint deployment fails with this FailureReason"),
    FaultKind("crash_next_endpoint", _REASON, "the next deployment thread raises this message (an emulator bug)"),
    FaultKind("fail_next_transform_job", _REASON, "the next transform job fails with this FailureReason"),
    FaultKind(
        "invocation_errors",
        _counted({"status": _ERROR_STATUS, "message": _MESSAGE}),
        "invocations fail as ModelError with this OriginalStatusCode and OriginalMessage",
        record=CountedFault,
    ),
    FaultKind(
        "throttle_invocations",
        _counted(),
        "invocations are answered with ThrottlingException",
        record=CountedFault,
        command="throttle",
    ),
    FaultKind(
        "invocation_latency",
        _counted({"seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300}}, required=("seconds", "count")),
        "invocations wait this many seconds before they are served",
        record=LatencyFault,
    ),
    FaultKind(
        "request_errors",
        _counted(
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
        "requests to a moto-served service matching method and path answer this error",
        record=RequestFault,
    ),
)
KINDS = {kind.name: kind for kind in FAULT_KINDS}

# The one declared spec of POST /_emulator/faults (served at GET /_emulator/spec); nothing else is accepted.
FAULTS_SPEC: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {kind.name: kind.schema for kind in FAULT_KINDS},
}
check_faults = checker(FAULTS_SPEC)


class Faults:
    """Armed faults, by kind name; every `take_*` consumes what it returns, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, Any] = {}

    def clear(self) -> None:
        with self._lock:
            self._armed = {}

    def arm(self, body: dict[str, Any]) -> None:
        """Apply a POST /_emulator/faults body; raises ValueError on anything unknown or malformed."""
        check_faults(body)
        parsed = {name: KINDS[name].build(value) for name, value in body.items()}
        with self._lock:
            self._armed.update(parsed)

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {kind.name: _shown(self._armed.get(kind.name)) for kind in FAULT_KINDS}

    def take_training_failure(self) -> str | None:
        return self._take("fail_next_training_job")

    def take_endpoint_failure(self) -> str | None:
        return self._take("fail_next_endpoint")

    def take_endpoint_crash(self) -> str | None:
        """A message the next deployment thread raises as an unexpected exception (an emulator bug)."""
        return self._take("crash_next_endpoint")

    def take_transform_failure(self) -> str | None:
        return self._take("fail_next_transform_job")

    def take_invocation_fault(self) -> InvocationFault | None:
        """Count this invocation against the armed faults; throttling is checked first."""
        with self._lock:
            if self._count("throttle_invocations"):
                return InvocationFault("throttle", 400, "Rate exceeded")
            fault = self._count("invocation_errors")
            return InvocationFault("model_error", fault.status, fault.message) if fault else None

    def take_invocation_latency(self) -> float:
        """Seconds this invocation must wait before it is served (0 when no latency is armed)."""
        with self._lock:
            fault = self._count("invocation_latency")
            return fault.seconds if fault else 0.0

    def take_request_error(self, service: str | None, method: str, path: str) -> RequestFault | None:
        """The fault this moto-bound request must get, if it matches the armed one."""
        with self._lock:
            return self._count("request_errors", lambda fault: fault.matches(service, method, path))

    def _take(self, name: str) -> Any:
        with self._lock:
            return self._armed.pop(name, None)

    def _count(self, name: str, matches: Callable[[Any], bool] | None = None) -> Any:
        """The armed counted fault `name` if this call hits it (caller holds the lock); spent ones are disarmed."""
        fault = self._armed.get(name)
        if fault is None or (matches is not None and not matches(fault)) or not _hit(fault):
            return None
        if fault.count == 0:
            del self._armed[name]
        return fault


def _hit(fault: CountedFault | LatencyFault | RequestFault) -> bool:
    if fault.after > 0:
        fault.after -= 1
        return False
    fault.count -= 1
    return True


def _shown(armed: Any) -> Any:
    return armed.as_dict() if hasattr(armed, "as_dict") else armed
