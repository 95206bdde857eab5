"""One ASGI app on one port for every service the pipeline uses.

Requests are routed by the service in their SigV4 credential scope
(".../<date>/<region>/<service>/aws4_request"): "sagemaker" (which both the control plane and
sagemaker-runtime sign with) is ours, everything else (S3, CloudWatch Logs, STS, IAM) goes to
moto's server app in the same process. /_emulator/* is the emulator's own control API.
Before that, access.py refuses unsigned requests and browser requests from other origins.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from xml.sax.saxutils import escape

from a2wsgi import WSGIMiddleware
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .access import Caller, authenticate, cross_origin, refusal_response
from .control import control_routes
from .faults import Faults, RequestFault
from .logs_compat import is_filter_log_events, rewrite_filter_log_events
from .sagemaker.models import SageMakerBackend
from .sagemaker.responses import control_plane
from .sagemaker.runtime import invocations
from .settings import Settings

INVOKE_WORKERS = 8
MOTO_WORKERS = 16


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Any:
    """An ASGI `receive` that yields `body` once, for a request whose body was already read."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def injected_error(service: str | None, fault: RequestFault) -> Response:
    """An armed request fault, in the wire format of the service (S3 speaks XML)."""
    if service == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(fault.code)}</Code>'
            f"<Message>{escape(fault.message)}</Message></Error>"
        )
        return Response(body, status_code=fault.status, media_type="application/xml")
    return JSONResponse({"__type": fault.code, "message": fault.message}, status_code=fault.status)


class EmulatorApp:
    """The ASGI entry point; owns the SageMaker backend and shuts its workers down with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.faults = Faults()
        self.backend = SageMakerBackend(settings, self.faults)
        self.executor = ThreadPoolExecutor(max_workers=INVOKE_WORKERS, thread_name_prefix="invoke")
        self.control = Starlette(routes=control_routes(self.backend, self.faults, settings.delays))
        self.sagemaker = Starlette(
            routes=[
                Route("/endpoints/{name}/invocations", invocations(self.backend, self.executor), methods=["POST"]),
                Route("/", control_plane(self.backend), methods=["POST"]),
            ]
        )
        self.moto = WSGIMiddleware(DomainDispatcherApplication(create_backend_app), workers=MOTO_WORKERS)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        refusal = cross_origin(scope, self.settings.allow_origins)
        if scope["path"].startswith("/_emulator/"):
            if refusal is not None:
                await JSONResponse(
                    {"error": f"cross-origin call from {refusal.detail[:200]} refused"}, status_code=403
                )(scope, receive, send)
            else:
                await self.control(scope, receive, send)
            return
        caller = authenticate(scope)
        if refusal is None and not isinstance(caller, Caller):
            refusal = caller
        if refusal is not None:
            body = await _read_body(receive)  # drain the upload, as the real service reads it
            await refusal_response(refusal, scope, body)(scope, _replay(body), send)
        elif caller.service == "sagemaker":
            await self.sagemaker(scope, receive, send)
        elif fault := self.faults.take_request_error(caller.service, scope["method"], scope["path"]):
            await Request(scope, receive).body()  # drain the upload, as the real service reads it
            await injected_error(caller.service, fault)(scope, receive, send)
        elif caller.service == "logs" and is_filter_log_events(scope):
            await self._filter_log_events(scope, receive, send, caller)
        else:
            await self.moto(scope, receive, send)

    async def _filter_log_events(self, scope: dict[str, Any], receive: Any, send: Any, caller: Caller) -> None:
        body, answer = rewrite_filter_log_events(await _read_body(receive), self.settings.account_id, caller.region)
        if answer is not None:
            status = 400 if "__type" in answer else 200
            await JSONResponse(answer, status_code=status, media_type="application/x-amz-json-1.1")(
                scope, receive, send
            )
            return
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        await self.moto(scope, _replay(body), send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Stop training children, drop endpoints, remove work dirs."""
        self.backend.shutdown()
        self.executor.shutdown(wait=False, cancel_futures=True)
