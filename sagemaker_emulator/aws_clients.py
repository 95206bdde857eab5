"""boto3 clients the emulator's own workers use to reach S3 and CloudWatch Logs on the emulator.

Training jobs and endpoints talk to S3 and Logs over HTTP like a real container talks to AWS,
so they exercise the same moto wiring the pipeline uses.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
_session_lock = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def client(service: str, endpoint_url: str, region: str) -> Any:
    """Clients are thread-safe, a session is not: one session per process, clients made under a lock.
    It parses each service's model once; a session per client parsed it each time (~0.15 s of CPU)."""
    with _session_lock:
        return _session().client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=20),
            **DUMMY_CREDENTIALS,
        )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b' -> ('bucket', 'a/b')."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def object_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The keys of the objects under an S3Prefix, folder markers left out; none when the listing fails."""
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", []) if not obj["Key"].endswith("/")]
    except (BotoCoreError, ClientError):
        return []


def key_below_prefix(key: str, prefix: str) -> str:
    """`key`'s path below an S3Prefix, keeping sub-folders (as Batch Transform names outputs and Processing
    places inputs); an object named by the prefix itself, or by part of a name, keeps its base name."""
    rest = key[len(prefix) :]
    if prefix and not prefix.endswith("/") and not rest.startswith("/"):
        return key.rsplit("/", 1)[-1]
    return rest.lstrip("/")
