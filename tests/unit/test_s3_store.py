"""The S3 hand-over between the data tasks: raw cache by sha256, channels under the run prefix."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws

from bankml.data import s3_store
from bankml.data.channels import write_channels
from bankml.data.source import DatasetIntegrityError
from bankml.data.split import Splits

BUCKET = "bkt"
CSV = b"age;y\n56;no\n57;yes\n"
SHA = hashlib.sha256(CSV).hexdigest()


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "raw.csv"
    path.write_bytes(CSV)
    return path


def test_raw_key_is_content_addressed_under_the_prefix() -> None:
    assert s3_store.raw_key("bankml", SHA) == f"bankml/raw/{SHA}.csv.gz"
    assert s3_store.raw_key("", SHA) == f"raw/{SHA}.csv.gz"


def test_raw_round_trip_is_verified(s3: Any, tmp_path: Path) -> None:
    key = s3_store.raw_key("p", SHA)
    assert s3_store.raw_problem(s3, BUCKET, key, SHA) == "does not exist"
    s3_store.put_raw(s3, BUCKET, key, _csv(tmp_path), SHA)
    assert s3_store.raw_problem(s3, BUCKET, key, SHA) is None
    out = s3_store.get_raw(s3, BUCKET, key, SHA, tmp_path / "again.csv")
    assert out.read_bytes() == CSV
    assert s3.head_object(Bucket=BUCKET, Key=key)["Metadata"] == {"sha256": SHA}


def test_a_re_put_is_byte_identical(s3: Any, tmp_path: Path) -> None:
    key = s3_store.raw_key("p", SHA)
    s3_store.put_raw(s3, BUCKET, key, _csv(tmp_path), SHA)
    first = s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
    s3_store.put_raw(s3, BUCKET, key, _csv(tmp_path), SHA)
    assert s3.head_object(Bucket=BUCKET, Key=key)["ETag"] == first


@pytest.mark.parametrize(
    "body, problem",
    [
        (gzip.compress(CSV + b"58;no\n", mtime=0), "holds a CSV with sha256"),
        (b"not gzip at all", "is not valid gzip"),
        (gzip.compress(CSV, mtime=0)[:-6], "is not valid gzip"),
    ],
    ids=["other-content", "not-gzip", "truncated-gzip"],
)
def test_a_bad_raw_object_is_reported_and_refused(s3: Any, tmp_path: Path, body: bytes, problem: str) -> None:
    key = s3_store.raw_key("p", SHA)
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    assert problem in s3_store.raw_problem(s3, BUCKET, key, SHA)
    with pytest.raises(DatasetIntegrityError, match=f"{problem}.*clear 'download'"):
        s3_store.get_raw(s3, BUCKET, key, SHA, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_missing_raw_object_names_the_task_to_clear(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(DatasetIntegrityError, match=f"s3://{BUCKET}/p/raw/{SHA}.csv.gz does not exist"):
        s3_store.get_raw(s3, BUCKET, s3_store.raw_key("p", SHA), SHA, tmp_path / "out.csv")


def _splits(validation: bool) -> Splits:
    frame = pd.DataFrame({"y": np.array([0, 1], dtype=np.int64), "age": np.array([56.0, 57.5])})
    return Splits(train=frame, validation=frame if validation else None, test=frame)


def _keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_channels_go_under_the_run_prefix_and_stale_ones_are_removed(s3: Any, tmp_path: Path) -> None:
    files = write_channels(_splits(validation=True), tmp_path / "a")
    uris = s3_store.put_channels(s3, BUCKET, "p/run/data", files)
    assert uris == {name: f"s3://{BUCKET}/p/run/data/{name}/" for name in ("train", "validation", "test")}
    head = s3.head_object(Bucket=BUCKET, Key="p/run/data/train/train.csv")
    assert head["Metadata"] == {"sha256": files["train"].sha256, "rows": "2"}
    assert head["ContentType"] == "text/csv"
    # a cleared task re-run without a validation set leaves exactly the channels it returned
    again = s3_store.put_channels(s3, BUCKET, "p/run/data", write_channels(_splits(False), tmp_path / "b"))
    assert list(again) == ["train", "test"]
    assert _keys(s3) == ["p/run/data/test/test.csv", "p/run/data/train/train.csv"]


def test_a_channel_is_read_from_its_one_file(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="p/run/data/test/test.csv", Body=b"1,0.5\n")
    assert s3_store.read_channel(s3, f"s3://{BUCKET}/p/run/data/test") == b"1,0.5\n"
    s3.put_object(Bucket=BUCKET, Key="p/run/data/test/stray.csv", Body=b"")
    with pytest.raises(ValueError, match="expected one test file under s3://bkt/p/run/data/test, found"):
        s3_store.read_channel(s3, f"s3://{BUCKET}/p/run/data/test")
