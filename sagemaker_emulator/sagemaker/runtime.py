"""sagemaker-runtime InvokeEndpoint: REST-JSON wire, the 6 MiB limit and ModelError wrapping.

The container's answer is passed through on success; a 4xx/5xx from the container reaches
the caller as ModelError (HTTP 424) carrying OriginalStatusCode, OriginalMessage and
LogStreamArn, exactly as sagemaker-runtime wraps it. Prediction runs in a thread pool so the
event loop (and with it the control plane) never waits on the model.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .hosting import DeployedVariant
from .models import SageMakerBackend

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
TIMEOUT_MESSAGE = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency "
    "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
ERROR_CONTENT_TYPE = "application/json"


def _error(code: str, message: str, status: int, **fields: Any) -> Response:
    return Response(
        json.dumps({"ErrorCode": code, "message": message, **fields}),
        status_code=status,
        media_type=ERROR_CONTENT_TYPE,
        headers={"x-amzn-ErrorType": code},
    )


def invocations(backend: SageMakerBackend, executor: ThreadPoolExecutor) -> Callable[[Request], Any]:
    settings, faults, logger = backend.settings, backend.faults, backend.endpoint_logger

    def model_error(endpoint: str, variant: str, status: int, original: str) -> Response:
        logger.log(endpoint, variant, f"Invocation failed with status {status}: {original}")
        kind = "client" if 400 <= status < 500 else "server"
        console = (
            f"https://{settings.region}.console.aws.amazon.com/cloudwatch/home?region={settings.region}"
            f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint}"
        )
        message = (
            f'Received {kind} error ({status}) from primary with message "{original}". '
            f"See {console} in account {settings.account_id} for more information."
        )
        return _error(
            "ModelError", message, 424,
            OriginalStatusCode=status, OriginalMessage=original, LogStreamArn=logger.group_arn(endpoint),
        )  # fmt: skip

    async def invoke(request: Request) -> Response:
        endpoint = request.path_params["name"]
        body = await request.body()
        if len(body) > MAX_PAYLOAD_BYTES:
            return Response(
                json.dumps({"message": f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes."}),
                status_code=413,
                media_type=ERROR_CONTENT_TYPE,
            )
        deployment = backend.serving_deployment(endpoint)
        if deployment is None:
            return _error("ValidationError", f"Endpoint {endpoint} of account {settings.account_id} not found.", 400)
        target = request.headers.get("x-amzn-sagemaker-target-variant")
        variant = deployment.pick(target)
        if variant is None:
            return _error("ValidationError", f"Variant {target} not found for Request. Please check your request.", 400)
        try:
            return await asyncio.wait_for(
                serve(request, body, endpoint, variant), timeout=settings.limits.invocation_timeout_seconds
            )
        except TimeoutError:
            return await asyncio.get_running_loop().run_in_executor(
                executor, model_error, endpoint, variant.name, 0, TIMEOUT_MESSAGE
            )

    async def serve(request: Request, body: bytes, endpoint: str, variant: DeployedVariant) -> Response:
        """The container's part of an invocation: what the deadline applies to."""
        delay = faults.take_invocation_latency()
        if delay:
            await asyncio.sleep(delay)
        fault = faults.take_invocation_fault()
        if fault is not None and fault.kind == "throttle":
            return _error("ThrottlingException", fault.message, fault.status)
        if fault is not None:
            return await asyncio.get_running_loop().run_in_executor(
                executor, model_error, endpoint, variant.name, fault.status, fault.message
            )
        content_type = request.headers.get("content-type")
        accept = request.headers.get("accept")
        result = await asyncio.get_running_loop().run_in_executor(
            executor, variant.service.invoke, body, content_type, accept
        )
        if result.status >= 400:
            original = result.body.decode("utf-8", errors="replace")
            return await asyncio.get_running_loop().run_in_executor(
                executor, model_error, endpoint, variant.name, result.status, original
            )
        return Response(
            result.body,
            status_code=result.status,
            media_type=result.content_type,
            headers={"x-Amzn-Invoked-Production-Variant": variant.name},
        )

    return invoke
