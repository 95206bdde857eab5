"""Checks raw SageMaker JSON responses against botocore's output shapes.

boto3 silently drops members it does not know and never checks required ones, so a response
that parses fine can still be wrong; this looks at the bytes the emulator actually sent.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.model import Shape

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float),
}


def shape_errors(value: Any, shape: Shape, path: str = "$") -> list[str]:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected object"]
        errors = [f"{path}.{name}: unknown member" for name in value if name not in shape.members]
        errors += [f"{path}.{name}: required member missing" for name in shape.required_members if name not in value]
        for name, item in value.items():
            if name in shape.members:
                errors += shape_errors(item, shape.members[name], f"{path}.{name}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected list"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected map"]
        return [e for k, item in value.items() for e in shape_errors(item, shape.value, f"{path}[{k}]")]
    expected = _TYPES.get(kind)
    if expected and (not isinstance(value, expected) or (isinstance(value, bool) and kind != "boolean")):
        return [f"{path}: expected {kind}, got {value!r}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} not in enum"]
    return []


class ResponseRecorder:
    """A botocore before-parse handler that checks every SageMaker control-plane response."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        body = json.loads(response_dict["body"] or b"{}")
        if response_dict["status_code"] >= 400:
            if set(body) != {"__type", "message"}:
                self.errors.append(f"{operation_model.name}: error body {body}")
            return
        if operation_model.output_shape is not None:
            self.errors += [f"{operation_model.name} {e}" for e in shape_errors(body, operation_model.output_shape)]
