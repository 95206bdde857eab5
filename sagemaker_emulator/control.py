"""The emulator's own control API under /_emulator/: health, reset, delays, faults and their spec.

It talks to the SageMaker backend only through `ControlledBackend` (health and reset); fault
state lives in faults.py and the delays in settings.py.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .faults import FAULTS_SPEC, Faults
from .schema import checker
from .settings import Delays

MAX_CONTROL_BODY_BYTES = 64 * 1024

DELAYS_SPEC: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {f.name: {"type": "number", "minimum": 0, "maximum": 3600} for f in fields(Delays)},
}
# Served at GET /_emulator/spec: everything POST /_emulator/faults and /_emulator/delays accept.
CONTROL_SPEC = {"faults": FAULTS_SPEC, "delays": DELAYS_SPEC}
check_delays = checker(DELAYS_SPEC)


class ControlledBackend(Protocol):
    """What the control API needs of the SageMaker backend."""

    def health(self) -> dict[str, Any]:
        """Identity and resource counts, for GET /_emulator/health."""
        ...

    def reset(self) -> None:
        """Forget every SageMaker resource."""
        ...


def control_routes(backend: ControlledBackend, faults: Faults, delays: Delays) -> list[Route]:
    """The /_emulator/* routes."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "running", **backend.health()})

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
                check_delays(changes)
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
