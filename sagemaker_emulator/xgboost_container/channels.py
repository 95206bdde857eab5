"""Input channels and content types, validated like the container (same order, same messages)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import UserError

CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF = "csv", "libsvm", "parquet", "recordio-protobuf"

VALID_CONTENT_TYPES = (
    CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF,
    "text/csv", "text/libsvm", "text/x-libsvm", "application/x-parquet", "application/x-recordio-protobuf",
)  # fmt: skip
PIPE_CONTENT_TYPES = (CSV, PARQUET, RECORDIO_PROTOBUF, "text/csv", "application/x-parquet",
                      "application/x-recordio-protobuf")  # fmt: skip
DEFAULT_CONTENT_TYPE = "text/libsvm"
"""What a channel without ContentType is read as: so CSV data without ContentType fails as LIBSVM."""

_FILE_TYPES = {
    CSV: CSV, "text/csv": CSV,
    LIBSVM: LIBSVM, "text/libsvm": LIBSVM, "text/x-libsvm": LIBSVM,
    PARQUET: PARQUET, "application/x-parquet": PARQUET,
    RECORDIO_PROTOBUF: RECORDIO_PROTOBUF, "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
}  # fmt: skip
_DISTRIBUTIONS = ("ShardedByS3Key", "FullyReplicated")


def _supported(content_types: tuple[str, ...], modes: tuple[str, ...]) -> frozenset[tuple[str, str, str]]:
    return frozenset((ct, mode, dist) for ct in content_types for mode in modes for dist in _DISTRIBUTIONS)


_DATA_CHANNEL = _supported(VALID_CONTENT_TYPES, ("File",)) | _supported(PIPE_CONTENT_TYPES, ("Pipe",))
CHANNELS: dict[str, tuple[bool, frozenset[tuple[str, str, str]]]] = {
    "train": (True, _DATA_CHANNEL),
    "validation": (False, _DATA_CHANNEL),
    "code": (False, frozenset({("text/python", "File", "FullyReplicated")})),
}
"""name -> (required, supported (ContentType, TrainingInputMode, S3DistributionType))."""


def validate_channels(data_config: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The channels of inputdataconfig.json, validated; a channel without ContentType gets text/libsvm."""
    for name, (required, _) in CHANNELS.items():
        if required and name not in data_config:
            raise UserError(f"Missing required channel: {name}")
    validated: dict[str, dict[str, Any]] = {}
    for name, given in data_config.items():
        if name not in CHANNELS:
            raise UserError(f"Extraneous channel found: {name}")
        config = dict(given)
        config.setdefault("ContentType", DEFAULT_CONTENT_TYPE)
        combination = (config["ContentType"], config.get("TrainingInputMode", "File"),
                       config.get("S3DistributionType", "FullyReplicated"))  # fmt: skip
        if combination not in CHANNELS[name][1]:
            raise UserError(f"Channel configuration for '{name}' channel is not supported: {config}")
        validated[name] = config
    return validated


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """'Text/CSV; label_size=1' -> ('text/csv', {'label_size': '1'}) (lower-cased, like the container)."""
    media, *params = (part.strip() for part in content_type.lower().split(";"))
    return media, {k.strip(): v.strip().strip('"') for k, _, v in (p.partition("=") for p in params if p)}


def file_type(content_type: str | None) -> str:
    """csv, libsvm, parquet or recordio-protobuf for a channel's or a request's content type (None = libsvm)."""
    if content_type is None:
        return LIBSVM
    media, params = _media_type(content_type)
    if media not in _FILE_TYPES:
        raise UserError(f"{content_type} is not an accepted ContentType: {', '.join(VALID_CONTENT_TYPES)}.")
    if _FILE_TYPES[media] == CSV and params.get("label_size", "1") != "1":
        raise UserError(
            f"{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1"
        )
    return _FILE_TYPES[media]
