"""Batch scoring of a labelled CSV through a SageMaker endpoint.

The test set is cut into payloads under the 6 MiB InvokeEndpoint limit and scored by a
few concurrent workers, within a deadline. Throttling is retried by botocore's standard retry mode (the
client's config); a model error fails fast with the endpoint's own message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
INVOKE_LIMIT_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_PAYLOAD_BYTES = 5 * 1024 * 1024  # headroom under the service limit
DEFAULT_MAX_ROWS = 2000  # several chunks even for small sets: concurrency and progress


class EndpointInvocationError(RuntimeError):
    """An invocation failed for good (after botocore's retries)."""


class ScoringTimeout(TimeoutError):
    """Scoring reached its deadline; what was not sent yet was cancelled."""


@dataclass(frozen=True)
class Chunk:
    start_row: int
    rows: int
    body: bytes


@dataclass(frozen=True)
class LabelledRows:
    labels: np.ndarray
    chunks: list[Chunk]


def split_labelled_csv(
    data: bytes, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES, max_rows: int = DEFAULT_MAX_ROWS
) -> LabelledRows:
    """Separate the label (first column) from the features and group rows into payloads."""
    if not 0 < max_payload_bytes <= INVOKE_LIMIT_BYTES:
        raise ValueError(f"max_payload_bytes must be in (0, {INVOKE_LIMIT_BYTES}]")
    labels: list[float] = []
    chunks: list[Chunk] = []
    current: list[bytes] = []
    size = 0
    start = 0
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        label, comma, features = line.partition(b",")
        if not comma or not features:
            raise ValueError(f"line {number}: expected 'label,feature,...', got {line[:80]!r}")
        labels.append(float(label))
        row_size = len(features) + 1
        if row_size > max_payload_bytes:
            raise ValueError(f"line {number} alone is larger than the payload limit")
        if current and (size + row_size > max_payload_bytes or len(current) >= max_rows):
            chunks.append(Chunk(start, len(current), b"\n".join(current) + b"\n"))
            start += len(current)
            current, size = [], 0
        current.append(features)
        size += row_size
    if current:
        chunks.append(Chunk(start, len(current), b"\n".join(current) + b"\n"))
    if not labels:
        raise ValueError("the test set is empty")
    return LabelledRows(np.asarray(labels), chunks)


def parse_predictions(body: bytes, expected: int) -> np.ndarray:
    """Read a text/csv answer: one score per line (1.3-1 on) or comma-joined (older)."""
    scores = np.asarray(body.replace(b",", b"\n").split(), dtype=float)
    if scores.size != expected:
        raise EndpointInvocationError(f"endpoint returned {scores.size} scores for {expected} rows")
    return scores


def endpoint_invoker(runtime_client: Any, endpoint_name: str) -> Callable[[bytes], bytes]:
    """An invoke function that turns sagemaker-runtime errors into actionable messages."""
    from botocore.exceptions import ClientError

    def invoke(body: bytes) -> bytes:
        try:
            response = runtime_client.invoke_endpoint(
                EndpointName=endpoint_name, ContentType="text/csv", Accept="text/csv", Body=body
            )
        except ClientError as err:
            error = err.response.get("Error", {})
            detail = ""
            if "OriginalStatusCode" in err.response:
                detail = (
                    f" (model answered {err.response['OriginalStatusCode']}: {err.response.get('OriginalMessage', '')})"
                )
            raise EndpointInvocationError(
                f"InvokeEndpoint on {endpoint_name} failed: {error.get('Code')}: {error.get('Message')}{detail}"
            ) from err
        return response["Body"].read()

    return invoke


def score(
    rows: LabelledRows,
    invoke: Callable[[bytes], bytes],
    *,
    workers: int = 4,
    progress: Callable[[int, int], None] = lambda done, total: None,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> np.ndarray:
    """Scores in row order; the first failure, or reaching `deadline` (a `clock()` value), cancels every
    payload not yet sent and raises without waiting for those in flight.

    Leaving a `with ThreadPoolExecutor` block waits for every queued payload, so a timeout (ours, or
    Airflow's execution_timeout raised into this thread) would keep the endpoint busy, and billing,
    until the whole test set was scored; here the pool is shut down with cancel_futures instead."""
    total = int(rows.labels.size)
    scores = np.empty(total)
    done = 0
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="score")
    try:
        pending = {pool.submit(invoke, chunk.body): chunk for chunk in rows.chunks}
        while pending:
            remaining = None if deadline is None else deadline - clock()
            if remaining is not None and remaining <= 0:
                cancelled = sum(future.cancel() for future in pending)
                raise ScoringTimeout(
                    f"Timeout: scoring stopped at its deadline with {done:,} of {total:,} rows scored; "
                    f"{cancelled} queued payloads were cancelled, {len(pending) - cancelled} in flight abandoned"
                )
            finished, _ = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for future in finished:
                chunk = pending.pop(future)
                if future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
                scores[chunk.start_row : chunk.start_row + chunk.rows] = parse_predictions(future.result(), chunk.rows)
                done += chunk.rows
                progress(done, total)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return scores


def progress_logger(every_percent: int = 10, clock: Callable[[], float] = time.monotonic) -> Callable[[int, int], None]:
    """A `score` progress callback that logs every `every_percent` and at the end, not every payload."""
    state = {"next": every_percent, "start": clock()}

    def progress(done: int, total: int) -> None:
        percent = 100 * done // total
        if percent >= state["next"] or done == total:
            rate = done / max(clock() - state["start"], 1e-9)
            log.info("Scored %s/%s rows (%d%%, %.0f rows/s)", f"{done:,}", f"{total:,}", percent, rate)
            state["next"] = (percent // every_percent + 1) * every_percent

    return progress
