"""The SageMaker control plane's wire format: JSON 1.1 over POST / with X-Amz-Target.

Only parsing and serialising live here; the behaviour is in models.py.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import SageMakerError, internal_failure
from .models import SageMakerBackend
from .registry_operations import registry_handlers
from .validation import validate_request

CONTENT_TYPE = "application/x-amz-json-1.1"
log = logging.getLogger(__name__)
TARGET_PREFIX = "SageMaker."

OPERATIONS = (
    "CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob",
    "CreateModel", "DescribeModel", "DeleteModel", "ListModels",
    "CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig", "ListEndpointConfigs",
    "CreateEndpoint", "DescribeEndpoint", "UpdateEndpoint", "DeleteEndpoint", "ListEndpoints",
    "AddTags", "ListTags", "DeleteTags",
)  # fmt: skip


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def error_response(error: SageMakerError) -> Response:
    body = json.dumps({"__type": error.code, "message": error.message})
    return Response(body, status_code=error.status, media_type=CONTENT_TYPE, headers={"x-amzn-ErrorType": error.code})


def control_plane(backend: SageMakerBackend) -> Callable[[Request], Any]:
    handlers = {operation: getattr(backend, _snake(operation)) for operation in OPERATIONS}
    handlers |= backend.transform.operations() | backend.processing.operations()
    handlers.update(registry_handlers(backend, _snake))

    async def dispatch(request: Request) -> Response:
        target = request.headers.get("x-amz-target", "")
        operation = target.removeprefix(TARGET_PREFIX)
        try:
            if not target.startswith(TARGET_PREFIX) or operation not in handlers:
                raise SageMakerError(
                    "UnknownOperationException",
                    f"Operation {target or '(no X-Amz-Target)'} is not implemented by sagemaker-emulator; "
                    f"implemented: {', '.join(handlers)}",
                )
            try:
                params = json.loads(await request.body() or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise SageMakerError("SerializationException", f"Request body is not valid JSON: {error}") from None
            except RecursionError:
                raise SageMakerError("SerializationException", "Request body is nested too deeply") from None
            if not isinstance(params, dict):
                raise SageMakerError("SerializationException", "Request body must be a JSON object")
            result = handlers[operation](validate_request(operation, params))
        except SageMakerError as error:
            return error_response(error)
        except RecursionError:
            return error_response(SageMakerError("SerializationException", "Request is nested too deeply"))
        except Exception as error:  # a bug: answer in the service's shape, never a bare 500 page
            log.exception("%s failed", operation)
            return error_response(SageMakerError("InternalFailure", internal_failure(error), status=500))
        return Response(json.dumps(result), media_type=CONTENT_TYPE)

    return dispatch
