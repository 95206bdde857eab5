"""CloudWatch Logs streams of a job's "instance": what the platform ships from a container's output.

Used by training and transform jobs alike (groups /aws/sagemaker/TrainingJobs, /aws/sagemaker/TransformJobs).
"""

from __future__ import annotations

import threading
import time
from typing import Any

FLUSH_SECONDS = 0.5


class CloudWatchLog:
    """Buffers log lines and ships them to one stream every FLUSH_SECONDS, one event per line."""

    def __init__(self, logs: Any, group: str, stream: str) -> None:
        self.logs = logs
        self.group = group
        self.stream = stream
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        for create, kwargs in (
            (logs.create_log_group, {"logGroupName": group}),
            (logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
        ):
            try:
                create(**kwargs)
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
        self._flusher = threading.Thread(target=self._flush_periodically, daemon=True)
        self._flusher.start()

    def write(self, line: str) -> None:
        with self._lock:
            self._pending.append({"timestamp": int(time.time() * 1000), "message": line})

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            if batch:
                self.logs.put_log_events(logGroupName=self.group, logStreamName=self.stream, logEvents=batch)

    def close(self) -> None:
        self._closed.set()
        self.flush()

    def _flush_periodically(self) -> None:
        while not self._closed.wait(FLUSH_SECONDS):
            self.flush()
