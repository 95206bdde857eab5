"""Request validation driven by botocore's service model, worded like the service's own validator.

botocore only checks required members and types on the client; the service also checks
lengths, patterns, ranges and enums and answers e.g.
"1 validation error detected: Value 'x_y' at 'trainingJobName' failed to satisfy constraint:
Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}".
Reading the constraints from the model keeps them exact and current.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from .errors import SageMakerError, validation_error

RENDER_LIMIT = 256  # a value echoed in a message is cut here: a 50 MB input is not sent back whole
# Java regex classes used by a few SageMaker patterns (tags, descriptions, metadata) and their Python
# equivalents; the letter/mark/separator/symbol/number/punctuation class is "any printable character".
_JAVA_CLASSES = {
    r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]": r"[^\x00-\x1f\x7f-\x9f]",
    r"[\p{L}\p{M}\p{Z}\p{N}\p{P}]": r"[^\x00-\x1f\x7f-\x9f]",
    r"\p{L}\p{Z}\p{N}_": r"\w\s",
}
# A quantified end anchor, e.g. "(...)${1,256}" (customer metadata): Java accepts it, Python does not.
_QUANTIFIED_END = re.compile(r"\$\{\d+,\d+\}$")


@cache
def service_model(service: str = "sagemaker"):
    return botocore.session.get_session().get_service_model(service)


def operation_model(operation: str) -> OperationModel:
    return service_model().operation_model(operation)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    for java, python in _JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    pattern = _QUANTIFIED_END.sub("$", pattern)
    return re.compile(pattern)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    """Render a value the way the service's (Java) validator prints it, cut to RENDER_LIMIT characters."""
    text = _render_full(value)
    return text if len(text) <= RENDER_LIMIT else text[:RENDER_LIMIT] + "...(truncated)"


def _render_full(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render_inner(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render_inner(v) for v in value) + "]"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _render_inner(value: Any) -> str:
    return value if isinstance(value, str) else _render_full(value)


class _Validator:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, value: Any, path: str, constraint: str) -> None:
        self.errors.append(f"Value {_render(value)} at '{path}' failed to satisfy constraint: {constraint}")

    def check(self, value: Any, shape: Shape, path: str) -> None:
        kind = shape.type_name
        if kind == "structure":
            self._structure(value, shape, path)  # type: ignore[arg-type]
        elif kind == "list":
            self._sized(value, shape, path)
            for index, item in enumerate(value, start=1):
                self.check(item, shape.member, f"{path}.{index}.member")  # type: ignore[attr-defined]
        elif kind == "map":
            self._sized(value, shape, path)
            for key, item in value.items():
                self.check(key, shape.key, f"{path}.key")  # type: ignore[attr-defined]
                self.check(item, shape.value, f"{path}.{key}.value")  # type: ignore[attr-defined]
        elif kind == "string":
            self._sized(value, shape, path)
            if shape.enum and value not in shape.enum:
                self.fail(value, path, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
            pattern = shape.metadata.get("pattern")
            if pattern and not _compiled(pattern).fullmatch(value):
                shown = pattern if pattern.startswith("^") else f"^{pattern}"
                self.fail(value, path, f"Member must satisfy regular expression pattern: {shown}")
        elif kind in ("integer", "long", "float", "double"):
            if "min" in shape.metadata and value < shape.metadata["min"]:
                self.fail(value, path, f"Member must have value greater than or equal to {shape.metadata['min']}")
            if "max" in shape.metadata and value > shape.metadata["max"]:
                self.fail(value, path, f"Member must have value less than or equal to {shape.metadata['max']}")

    def _structure(self, value: dict[str, Any], shape: StructureShape, path: str) -> None:
        prefix = f"{path}." if path else ""
        for name in shape.required_members:
            if value.get(name) is None:
                self.fail(None, prefix + _camel(name), "Member must not be null")
        for name, item in value.items():
            if name in shape.members and item is not None:
                self.check(item, shape.members[name], prefix + _camel(name))

    def _sized(self, value: Any, shape: Shape, path: str) -> None:
        if "min" in shape.metadata and len(value) < shape.metadata["min"]:
            self.fail(value, path, f"Member must have length greater than or equal to {shape.metadata['min']}")
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            self.fail(value, path, f"Member must have length less than or equal to {shape.metadata['max']}")


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float, str),
    "blob": (str,),
}


def _coerce(value: Any, shape: Shape, path: str) -> Any:
    """Reject JSON whose types do not match the model, as the service's deserializer does; timestamps
    (epoch seconds, or an ISO 8601 string) become epoch seconds."""
    expected = _JSON_TYPES.get(shape.type_name, (object,))
    wrong_bool = isinstance(value, bool) and shape.type_name != "boolean"
    where = path or "request"
    if not isinstance(value, expected) or wrong_bool:
        raise SageMakerError(
            "SerializationException", f"Expected {shape.type_name} at '{where}', got {type(value).__name__}"
        )
    if shape.type_name == "timestamp":
        return _epoch_seconds(value, where)
    if isinstance(shape, StructureShape):
        return {
            name: _coerce(item, shape.members[name], f"{path}.{_camel(name)}" if path else _camel(name))
            if name in shape.members and item is not None
            else item
            for name, item in value.items()
        }
    if isinstance(shape, ListShape):
        return [_coerce(item, shape.member, f"{path}.{index}.member") for index, item in enumerate(value, start=1)]
    if isinstance(shape, MapShape):
        return {key: _coerce(item, shape.value, f"{path}.{key}.value") for key, item in value.items()}
    return value


def _epoch_seconds(value: int | float | str, where: str) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise SageMakerError(
                "SerializationException",
                f"Cannot parse {_render(value)} at '{where}' as a timestamp (epoch seconds or ISO 8601)",
            ) from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    if not math.isfinite(value):
        raise SageMakerError("SerializationException", f"Timestamp at '{where}' must be finite")
    return float(value)


def validate_request(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The request with timestamps as epoch seconds; raises the service's SerializationException or
    ValidationException for a malformed one."""
    shape = operation_model(operation).input_shape
    if shape is None:
        return params
    params = _coerce(params, shape, "")
    validator = _Validator()
    validator.check(params, shape, "")
    if validator.errors:
        count = len(validator.errors)
        noun = "error" if count == 1 else "errors"
        raise validation_error(f"{count} validation {noun} detected: " + "; ".join(validator.errors))
    return params
