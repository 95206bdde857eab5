"""JSON Schema checks worded for the control API: one error, "<member path>: <why>"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

MESSAGE_LIMIT = 300


def checker(spec: dict[str, Any]) -> Callable[[Any], None]:
    """A function raising ValueError that names the first member of a body `spec` refuses."""
    validator = Draft202012Validator(spec)

    def check(body: Any) -> None:
        error = best_match(validator.iter_errors(body))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "body"
            raise ValueError(f"{where}: {_short(error.message)}")

    return check


def _short(message: str) -> str:
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + "..."
