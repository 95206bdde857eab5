"""Batch scoring of a labelled CSV through a SageMaker endpoint.

The test set is cut into payloads under the 6 MiB InvokeEndpoint limit and scored by a
few concurrent workers. Throttling is retried by botocore's standard retry mode (the
client's config); a model error fails fast with the endpoint's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

INVOKE_LIMIT_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_PAYLOAD_BYTES = 5 * 1024 * 1024  # headroom under the service limit
DEFAULT_MAX_ROWS = 2000  # several chunks even for small sets: concurrency and progress


class EndpointInvocationError(RuntimeError):
    """An invocation failed for good (after botocore's retries)."""


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
                    f" (model answered {err.response['OriginalStatusCode']}: "
                    f"{err.response.get('OriginalMessage', '')})"
                )
            raise EndpointInvocationError(
                f"InvokeEndpoint on {endpoint_name} failed: {error.get('Code')}: "
                f"{error.get('Message')}{detail}"
            ) from err
        return response["Body"].read()

    return invoke


def score(
    rows: LabelledRows,
    invoke: Callable[[bytes], bytes],
    *,
    workers: int = 4,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> np.ndarray:
    """Scores in row order; the first failure cancels what has not started and is raised."""
    total = int(rows.labels.size)
    scores = np.empty(total)
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="score") as pool:
        pending = {pool.submit(invoke, chunk.body): chunk for chunk in rows.chunks}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                chunk = pending.pop(future)
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()  # type: ignore[misc]
                scores[chunk.start_row : chunk.start_row + chunk.rows] = parse_predictions(
                    future.result(), chunk.rows
                )
                done += chunk.rows
                progress(done, total)
    return scores

