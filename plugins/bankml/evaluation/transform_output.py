"""Reading a Batch Transform evaluation back: one "label,score" line per test row, in the test set's order."""

from __future__ import annotations

from typing import Any

import numpy as np


def read_output(s3: Any, output_path: str) -> bytes:
    """The job's one ".out" object (one input file in, one output file out) under its S3OutputPath."""
    bucket, _, prefix = output_path.removeprefix("s3://").partition("/")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/").get("Contents", [])
        if o["Key"].endswith(".out")
    ]
    if len(keys) != 1:
        raise ValueError(f"expected one .out object under {output_path}, found {keys}")
    return s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()


def labels_and_scores(body: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The labels and scores of the transform job's joined output; a malformed line is an error naming it."""
    labels: list[float] = []
    scores: list[float] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(b",")
        try:
            if len(fields) != 2:
                raise ValueError(f"{len(fields)} fields")
            labels.append(float(fields[0]))
            scores.append(float(fields[1]))
        except ValueError as err:
            raise ValueError(
                f"transform output line {number}: expected 'label,score', got {line[:80]!r} ({err})"
            ) from None
    if not labels:
        raise ValueError("the transform output holds no rows")
    return np.array(labels), np.array(scores)
