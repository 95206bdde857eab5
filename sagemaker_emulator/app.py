"""One ASGI app on one port for every service the pipeline uses.

Requests are routed by the service in their SigV4 credential scope
(".../<date>/<region>/<service>/aws4_request"): "sagemaker" (which both the control plane and
sagemaker-runtime sign with) is ours, everything else (S3, CloudWatch Logs, STS, IAM) goes to
moto's server app in the same process. /_emulator/* is the emulator's own control API.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .faults import Faults, RequestFault, control_routes
from .sagemaker.models import SageMakerBackend
from .sagemaker.responses import control_plane
from .sagemaker.runtime import invocations
from .settings import Settings

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=[^&]*?(?:/|%2F)\d{8}(?:/|%2F)[^&/%]+(?:/|%2F)([^&/%]+)(?:/|%2F)aws4_request")
INVOKE_WORKERS = 8
MOTO_WORKERS = 16


def signing_service(scope: dict[str, Any]) -> str | None:
    """The service named in the SigV4 credential scope (header, or query string of a presigned URL)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            match = _SCOPE.search(value.decode("latin-1"))
            return match.group(1) if match else None
    match = _QUERY_SCOPE.search(scope.get("query_string", b"").decode("latin-1"))
    return match.group(1) if match else None


def injected_error(service: str | None, fault: RequestFault) -> Response:
    """An armed request fault, in the wire format of the service (S3 speaks XML)."""
    if service == "s3":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{escape(fault.code)}</Code>"
                f"<Message>{escape(fault.message)}</Message></Error>")
        return Response(body, status_code=fault.status, media_type="application/xml")
    return JSONResponse({"__type": fault.code, "message": fault.message}, status_code=fault.status)


class EmulatorApp:
    """The ASGI entry point; owns the SageMaker backend and shuts its workers down with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.faults = Faults()
        self.backend = SageMakerBackend(settings, self.faults)
        self.executor = ThreadPoolExecutor(max_workers=INVOKE_WORKERS, thread_name_prefix="invoke")
        self.control = Starlette(routes=control_routes(self.backend))
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
        elif scope["path"].startswith("/_emulator/"):
            await self.control(scope, receive, send)
        elif (service := signing_service(scope)) == "sagemaker":
            await self.sagemaker(scope, receive, send)
        elif fault := self.faults.take_request_error(service, scope["method"], scope["path"]):
            await Request(scope, receive).body()  # drain the upload, as the real service reads it
            await injected_error(service, fault)(scope, receive, send)
        else:
            await self.moto(scope, receive, send)

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
