"""The container's log output: "[2024-05-01:12:00:00:INFO] message" lines (its root-logger format), one per line."""

from __future__ import annotations

import time
from collections.abc import Callable


class ContainerLog:
    """Formats records like the container's logging config and hands each resulting line to `emit`.

    A multi-line message becomes several lines, as it does on CloudWatch (one event per stdout line).
    """

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit

    def _record(self, level: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d:%H:%M:%S", time.gmtime())
        first, *rest = message.split("\n")
        self._emit(f"[{stamp}:{level}] {first}")
        for line in rest:
            self._emit(line)

    def info(self, message: str) -> None:
        self._record("INFO", message)

    def warning(self, message: str) -> None:
        self._record("WARNING", message)

    def error(self, message: str) -> None:
        self._record("ERROR", message)

    def print(self, text: str) -> None:
        """A bare stdout line (the container's print() calls and xgboost's per-round evaluation lines)."""
        for line in text.rstrip("\n").split("\n"):
            self._emit(line)
