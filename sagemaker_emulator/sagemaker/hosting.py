"""Endpoint hosting: load a model's artifacts into the container's ScoringService, log like an endpoint.

A deployment is what one endpoint serves: one loaded ScoringService per production variant.
Models are loaded fully into memory, so the extracted artifacts are removed right away.
"""

from __future__ import annotations

import importlib
import io
import random
import secrets
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..aws_clients import client, split_s3_uri
from ..scratch import UnsafePath, inside
from ..settings import Settings
from ..xgboost_container.errors import ModelLoadError, UnsupportedImageError
from ..xgboost_container.versions import resolve_image

if TYPE_CHECKING:
    from ..xgboost_container.serving import ScoringService

# The container's serving code imports xgboost, pandas and scipy (~4 s of CPU): the emulator
# answers without it and loads it on a background thread (see `preload_serving`), so a
# process that never hosts a model is ready sooner; a deployment waits for it if it must.
SERVING = "sagemaker_emulator.xgboost_container.serving"


def preload_serving() -> None:
    """Import the serving code off the request path (Python's import lock makes a racing
    deployment wait for this import instead of doing it twice)."""
    threading.Thread(target=importlib.import_module, args=(SERVING,), name="preload-serving", daemon=True).start()


ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"


class DeploymentFailure(Exception):
    """Why an endpoint could not be brought InService; str() is its FailureReason."""


@dataclass
class DeployedVariant:
    name: str
    weight: float
    instance_count: int
    image: str
    deployed_at: float
    service: ScoringService

    def describe(self) -> dict[str, Any]:
        return {
            "VariantName": self.name,
            "DeployedImages": [{"SpecifiedImage": self.image, "ResolutionTime": self.deployed_at}],
            "CurrentWeight": self.weight,
            "DesiredWeight": self.weight,
            "CurrentInstanceCount": self.instance_count,
            "DesiredInstanceCount": self.instance_count,
        }


@dataclass
class Deployment:
    variants: list[DeployedVariant]

    def describe(self) -> list[dict[str, Any]]:
        return [variant.describe() for variant in self.variants]

    def pick(self, target: str | None) -> DeployedVariant | None:
        """The targeted variant (None if unknown), else one chosen by weight like the real router."""
        if target is not None:
            return next((v for v in self.variants if v.name == target), None)
        weights = [v.weight for v in self.variants]
        return random.choices(self.variants, weights=weights if any(weights) else None)[0]


class EndpointLogger:
    """Writes endpoint log lines to /aws/sagemaker/Endpoints/<endpoint> (stream <variant>/i-<id>)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._streams: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def group_arn(self, endpoint: str) -> str:
        return f"arn:aws:logs:{self.settings.region}:{self.settings.account_id}:log-group:{ENDPOINT_LOG_GROUP_PREFIX}{endpoint}"

    def log(self, endpoint: str, variant: str, message: str) -> None:
        """Best effort: a logging failure must never fail the request being served."""
        group = ENDPOINT_LOG_GROUP_PREFIX + endpoint
        try:
            logs, stream = self._stream(group, endpoint, variant)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
            )
        except (BotoCoreError, ClientError):
            pass

    def _stream(self, group: str, endpoint: str, variant: str) -> tuple[Any, str]:
        with self._lock:
            if self._client is None:
                self._client = client("logs", self.settings.internal_url, self.settings.region)
            stream = self._streams.get((endpoint, variant))
            if stream is None:
                stream = f"{variant}/i-{secrets.token_hex(8)}"
                for create, kwargs in (
                    (self._client.create_log_group, {"logGroupName": group}),
                    (self._client.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
                ):
                    try:
                        create(**kwargs)
                    except self._client.exceptions.ResourceAlreadyExistsException:
                        pass
                self._streams[(endpoint, variant)] = stream
            return self._client, stream


def deploy_variant(
    variant: dict[str, Any],
    model: dict[str, Any],
    settings: Settings,
    logger: EndpointLogger,
    endpoint: str,
    scratch: Path,
) -> DeployedVariant:
    """Resolve the image, fetch and extract ModelDataUrl, load it; raise DeploymentFailure otherwise."""
    name = variant["VariantName"]
    container = model.get("PrimaryContainer") or model["Containers"][0]
    try:
        version = resolve_image(container["Image"])
    except UnsupportedImageError as error:
        raise DeploymentFailure(
            f"Image {container['Image']} of model {model['ModelName']} cannot be deployed: {error}"
        ) from None
    with tempfile.TemporaryDirectory(prefix="endpoint-", dir=scratch) as tmp:
        model_dir = Path(tmp)
        if container.get("ModelDataUrl"):
            fetch_model_data(container["ModelDataUrl"], model_dir, settings)
        try:
            service = importlib.import_module(SERVING).ScoringService.from_model_dir(model_dir, version)
        except ModelLoadError as error:
            logger.log(endpoint, name, f"Failed to load the model: {error}")
            raise DeploymentFailure(
                f"The primary container for production variant {name} did not pass the ping health check. "
                "Please check CloudWatch logs for this endpoint."
            ) from None
    logger.log(endpoint, name, f"Loaded model {container.get('ModelDataUrl', '')} into {container['Image']}")
    return DeployedVariant(
        name=name,
        weight=float(variant.get("InitialVariantWeight", 1.0)),
        instance_count=int(variant.get("InitialInstanceCount", 1)),
        image=container["Image"],
        deployed_at=time.time(),
        service=service,
    )


def fetch_model_data(url: str, model_dir: Path, settings: Settings) -> None:
    bucket, key = split_s3_uri(url)
    limit = settings.limits.max_model_bytes
    try:
        response = client("s3", settings.internal_url, settings.region).get_object(Bucket=bucket, Key=key)
        if response["ContentLength"] > limit:
            raise DeploymentFailure(_too_large(url, limit))
        body = response["Body"].read()
    except (BotoCoreError, ClientError):
        raise DeploymentFailure(
            f'Failed to download model data for container "container_1" from URL: "{url}". Please ensure that '
            "there is an object located at the URL and that the role passed to CreateModel has permissions to "
            "download the object."
        ) from None
    try:
        _extract(body, model_dir, settings, url)
    except (tarfile.TarError, OSError, EOFError, UnsafePath):
        raise DeploymentFailure(
            f'Failed to extract model data archive from URL "{url}". Please ensure that the object located at '
            "the URL is a valid tar.gz archive."
        ) from None


def _extract(body: bytes, model_dir: Path, settings: Settings, url: str) -> None:
    """Member by member: every path must stay in model_dir (the "data" filter also refuses links out,
    devices and absolute names) and the total must stay under the limits, so a tar bomb stops early."""
    limits = settings.limits
    written = files = 0
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
        for member in archive:
            inside(model_dir, member.name)
            files += 1
            written += member.size if member.isfile() else 0
            if written > limits.max_model_bytes or files > limits.max_model_files:
                raise DeploymentFailure(_too_large(url, limits.max_model_bytes, limits.max_model_files))
            archive.extract(member, model_dir, filter="data")


def _too_large(url: str, max_bytes: int, max_files: int | None = None) -> str:
    files = f" or {max_files} files" if max_files else ""
    return (
        f'Model data from URL "{url}" is larger than this emulator extracts ({max_bytes} bytes{files}; '
        "set SAGEMAKER_EMULATOR_MAX_MODEL_BYTES / _MAX_MODEL_FILES to change it)."
    )
