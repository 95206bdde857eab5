"""The data tasks' S3 side: a content-addressed cache of the raw file and a run's CSV channels.

Tasks of one DAG run may run on different Celery workers, so nothing passes between them on
local disk: ``download`` stores the verified raw file in S3, ``prepare`` reads it from there
and writes the channels straight to the run's prefix. The raw file is keyed by its sha256, so
every run (and every retry) of the same data shares one object and never downloads it twice;
it is gzipped deterministically, so a re-put is byte-identical.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path
from typing import Any

from bankml.data.channels import CHANNEL_NAMES, ChannelFile
from bankml.data.source import DatasetIntegrityError

CHANNEL_CONTENT = "text/csv"


def raw_key(prefix: str, sha256: str) -> str:
    """Where the raw CSV with this sha256 lives: shared by all runs under ``prefix``."""
    name = f"raw/{sha256}.csv.gz"
    return f"{prefix}/{name}" if prefix else name


def put_raw(s3: Any, bucket: str, key: str, csv_path: Path, sha256: str) -> int:
    """Store the verified CSV gzipped (no timestamp in the header); returns the stored size."""
    body = gzip.compress(Path(csv_path).read_bytes(), mtime=0)
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/gzip", Metadata={"sha256": sha256})
    return len(body)


def raw_problem(s3: Any, bucket: str, key: str, sha256: str) -> str | None:
    """None if the object holds exactly the CSV with ``sha256``; else what is wrong with it."""
    return _load_raw(s3, bucket, key, sha256)[1]


def get_raw(s3: Any, bucket: str, key: str, sha256: str, dest: Path) -> Path:
    """Write the raw CSV to ``dest`` after checking its sha256; raises DatasetIntegrityError."""
    data, problem = _load_raw(s3, bucket, key, sha256)
    if data is None:
        raise DatasetIntegrityError(
            f"s3://{bucket}/{key} {problem}: clear 'download' so that it stores the verified file again"
        )
    dest = Path(dest)
    dest.write_bytes(data)
    return dest


def _load_raw(s3: Any, bucket: str, key: str, sha256: str) -> tuple[bytes | None, str | None]:
    """The verified CSV bytes, or None and why the object does not hold them."""
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        if err.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None, "does not exist"
        raise
    try:
        data = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError
        return None, f"is not valid gzip ({err})"
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        return None, f"holds a CSV with sha256 {got}, not {sha256}"
    return data, None


def put_channels(s3: Any, bucket: str, data_prefix: str, files: dict[str, ChannelFile]) -> dict[str, str]:
    """Put each channel under ``<data_prefix>/<name>/`` and return the channels' prefix URIs.

    A channel of an earlier attempt that this one does not write (a validation set) is
    deleted, so the prefix always holds exactly the channels returned.
    """
    uris: dict[str, str] = {}
    for name, channel in files.items():
        s3.put_object(
            Bucket=bucket,
            Key=f"{data_prefix}/{name}/{channel.path.name}",
            Body=channel.path.read_bytes(),
            ContentType=CHANNEL_CONTENT,
            Metadata={"sha256": channel.sha256, "rows": str(channel.rows)},
        )
        uris[name] = f"s3://{bucket}/{data_prefix}/{name}/"
    for name in set(CHANNEL_NAMES) - set(files):
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{data_prefix}/{name}/").get("Contents", [])
        for stale in listed:
            s3.delete_object(Bucket=bucket, Key=stale["Key"])
    return uris


def read_channel(s3: Any, uri: str) -> bytes:
    """The one CSV file of a channel: the evaluation hashes exactly the rows the model was scored on."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    if len(keys) != 1:
        raise ValueError(f"expected one test file under {uri}, found {keys}")
    return s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
