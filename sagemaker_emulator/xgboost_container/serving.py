"""The container's inference server (/invocations) as a thread-safe, in-process scoring service.

Its /ping health check is the load itself: a model that loads is healthy, one that does not raises
ModelLoadError (which the endpoint reports as a failed ping).

Request handling follows sagemaker_xgboost_container.algorithm_mode.serve (the Flask app SageMaker runs
for a single-model endpoint), in its order: empty body -> 204; payload parsing -> 415; prediction -> 400;
Accept -> 406; encoding: CSV, JSON `{"predictions": [{"score": ...}]}`, or JSON Lines (one `{"score": ...}`
per line, the built-in algorithms' JSONLINES response format in the SageMaker docs). Status codes, bodies
and Content-Type headers are the container's (Flask adds "; charset=utf-8" to text/* types, and its
plain-text error responses are typed text/html).

Speed: CSV is parsed by pandas' C parser when the payload is plain numbers (checked byte-wise), else by the
container's own row-by-row method, which also produces its exact error messages; rows with the model's
feature count are scored with Booster.inplace_predict (thread-safe, no DMatrix copy).
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy import sparse, stats

from .channels import CSV, LIBSVM, RECORDIO_PROTOBUF, file_type
from .errors import ModelLoadError, UserError, xgboost_message
from .training import MODEL_NAME
from .versions import ContainerVersion

MAX_CONTENT_LENGTH = 6 * 1024 * 1024
SUPPORTED_ACCEPTS = ["application/json", "application/jsonlines", "application/x-recordio-protobuf", "text/csv"]
DEFAULT_ACCEPT = "text/csv"
VOTING_OBJECTIVES = ("multi:softmax", "binary:hinge")
"""Ensembles of these vote (per-row mode); others average."""

_TEXT_HTML = "text/html; charset=utf-8"
_PLAIN_NUMBERS = b"0123456789+-.eE \t\r\n,;|"
WIDE_ROW_FIELDS = 2048  # rows wider than this skip pandas (see _wide_rows)
_WERKZEUG_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>{code} {name}</title>\n<h1>{name}</h1>\n'
    "<p>{text}</p>\n"
)
_SERVER_ERROR_TEXT = (
    "The server encountered an internal error and was unable to complete your request. Either the server is "
    "overloaded or there is an error in the application."
)


@dataclass(frozen=True)
class InvocationResult:
    status: int
    body: bytes
    content_type: str


def _error_page(code: int, name: str, text: str) -> InvocationResult:
    """What Flask/werkzeug answer for an HTTP error the application does not handle itself."""
    return InvocationResult(code, _WERKZEUG_PAGE.format(code=code, name=name, text=text).encode(), _TEXT_HTML)


class _Rejected(Exception):
    """A request the container answers with an error status and a plain-text body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _fast_csv(data: bytes, delimiter: str) -> np.ndarray | None:
    """The rows via pandas' C parser, or None when its result might differ from the container's parser.

    pandas reads the bytes as they are (no decoded copy) in one pass (low_memory=False), first without its NA
    filter (a check of every field); only a payload with an empty field (the container's NaN) needs it."""
    sep = delimiter.encode()
    if b"\r" in data and sep + b"\r" in data:  # (a one-byte search first: two-byte ones are slow on big payloads)
        return None  # a field "\r", which the container cannot convert and pandas reads as an empty field
    options: dict[str, Any] = {"sep": delimiter, "header": None, "dtype": np.float64, "engine": "c", "low_memory": False,
                               "quoting": csv.QUOTE_NONE, "skip_blank_lines": False}  # fmt: skip
    try:
        try:
            values = pd.read_csv(io.BytesIO(data), na_filter=False, **options).to_numpy()
        except ValueError:
            values = pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""], **options).to_numpy()
    except (ValueError, pd.errors.ParserError):
        return None
    rows = data.count(b"\n") + 1
    # Same row count (a lone '\r' splits rows for pandas only) and every row complete (pandas pads short ones).
    if values.shape[0] != rows or data.count(sep) != rows * (values.shape[1] - 1):
        return None
    return values


def _csv_rows(payload: bytes) -> np.ndarray:
    data = payload.strip()
    text = data.decode("utf-8")
    sniffed = csv.Sniffer().sniff(text.partition("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    lines = text.split("\n")
    width = lines[0].count(delimiter) + 1
    if width > WIDE_ROW_FIELDS:
        if all(line.count(delimiter) + 1 == width for line in lines):
            return _wide_rows(text, delimiter, len(lines), width)
    elif not data.translate(None, _PLAIN_NUMBERS) and delimiter in ",;| \t":
        fast = _fast_csv(data, delimiter)
        if fast is not None:
            return fast
    # The container's parser: empty fields are NaN, every row must have the same number of fields.
    rows = [["nan" if field == "" else field for field in line.split(delimiter)] for line in lines]
    return np.array(rows).astype(float)


def _wide_rows(text: str, delimiter: str, rows: int, width: int) -> np.ndarray:
    """Rows of equal, large width: the container's parser's result in linear time (pandas' C parser
    slows down faster than linearly with the width: 1 MiB of commas took it ~40 s)."""
    if not text.translate({ord(delimiter): None, ord("\n"): None}):
        return np.full((rows, width), np.nan)  # only delimiters: every field is empty
    fields = np.array(text.replace("\n", delimiter).split(delimiter))
    fields = fields.astype(np.promote_types(fields.dtype, "U3"))
    fields[fields == ""] = "nan"
    return fields.astype(float).reshape(rows, width)


def _libsvm_rows(payload: bytes) -> sparse.csr_matrix:
    """Sparse rows from LIBSVM text; like the container, labels are ignored and the shape is inferred."""
    rows, cols, values = [], [], []
    for row, line in enumerate(payload.strip().decode("utf-8").split("\n")):
        for item in line.split(" "):
            if ":" in item:
                col, value = item.split(":")[:2]
                rows.append(row)
                cols.append(col)
                values.append(value)
    return sparse.csr_matrix((np.array(values).astype(float), (np.array(rows), np.array(cols).astype(int))))


def _parse_payload(payload: bytes, content_type: str | None) -> np.ndarray | sparse.csr_matrix:
    try:
        kind = file_type(content_type)
    except UserError as error:
        raise _Rejected(415, str(error)) from error
    if kind == CSV:
        try:
            return _csv_rows(payload)
        except Exception as error:
            raise _Rejected(415, "Loading csv data failed with Exception, please ensure data is in csv format:\n "
                                 f"{type(error)}\n {error}") from error  # fmt: skip
    if kind == LIBSVM:
        try:
            return _libsvm_rows(payload)
        except Exception as error:
            raise _Rejected(415, "Loading libsvm data failed with Exception, please ensure data is in libsvm "
                                 f"format:\n {type(error)}\n {error}") from error  # fmt: skip
    if kind == RECORDIO_PROTOBUF:
        raise _Rejected(415, f"Content-type {content_type} is not supported by this SageMaker emulator "
                             "(it scores text/csv and text/libsvm; recordio-protobuf needs mlio).")  # fmt: skip
    raise _Rejected(415, f"Content-type {content_type} is not supported.")


def _parse_accept(accept: str | None) -> str:
    media = (accept or "").split(";")[0].strip()
    if not media or media == "*/*":
        return DEFAULT_ACCEPT
    if media.lower() not in SUPPORTED_ACCEPTS:
        raise _Rejected(406, f"Accept type {media} is not supported. Please use supported accept types: "
                             f"{SUPPORTED_ACCEPTS}.")  # fmt: skip
    return media.lower()


def execution_parameters() -> dict[str, Any]:
    """GET /execution-parameters: what Batch Transform uses when the job does not say (one worker per CPU)."""
    return {
        "MaxConcurrentTransforms": os.cpu_count() or 1,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": MAX_CONTENT_LENGTH // (1024 * 1024),
    }


class ScoringService:
    """A loaded model (or ensemble of models) answering /invocations like the container."""

    def __init__(self, boosters: list[xgb.Booster], version: ContainerVersion) -> None:
        self._boosters = boosters
        self._version = version
        config = json.loads(boosters[0].save_config())
        self.objective: str = config["learner"]["objective"]["name"]
        self.num_features: int = boosters[0].num_features()
        # xgboost documents prediction as thread-safe except for the gblinear booster.
        self._lock = threading.Lock() if config["learner"]["gradient_booster"]["name"] == "gblinear" else None

    @classmethod
    def from_model_dir(cls, model_dir: Path, version: ContainerVersion) -> ScoringService:
        """Load every non-hidden file at the root of the extracted model.tar.gz (several files = an ensemble)."""
        model_dir = Path(model_dir)
        files = (
            sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith("."))
            if (model_dir.is_dir())
            else []
        )
        if not files:
            raise ModelLoadError(
                f"No model file found in the model artefact ({model_dir}): model.tar.gz must hold {MODEL_NAME} "
                "at its root."
            )
        boosters = []
        for path in files:
            booster = xgb.Booster()
            try:
                booster.load_model(path)
            except xgb.core.XGBoostError as error:
                raise ModelLoadError(
                    f"Model {path.name} cannot be loaded:\nXGB load model error={xgboost_message(error)}\n"
                    "(the emulator loads xgboost model files only, not pickled boosters)"
                ) from error
            boosters.append(booster)
        return cls(boosters, version)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> InvocationResult:
        """Score a request; thread-safe."""
        if len(body) > MAX_CONTENT_LENGTH:
            return _error_page(
                413, "Request Entity Too Large", "The data value transmitted exceeds the capacity limit."
            )
        if len(body) == 0:
            return InvocationResult(204, b"", _TEXT_HTML)
        try:
            features = _parse_payload(body, content_type)
            predictions = self._predict(features)
            media = _parse_accept(accept)
        except _Rejected as rejected:
            return InvocationResult(rejected.status, str(rejected).encode(), _TEXT_HTML)
        if media == "application/json":
            scores = [{"score": score} for score in predictions.tolist()]
            return InvocationResult(200, json.dumps({"predictions": scores}).encode(), "application/json")
        if media == "application/jsonlines":
            lines = "".join(json.dumps({"score": score}) + "\n" for score in predictions.tolist())
            return InvocationResult(200, lines.encode(), "application/jsonlines")
        if media == "text/csv":
            return InvocationResult(200, self._csv(predictions).encode(), "text/csv; charset=utf-8")
        # recordio-protobuf passes the Accept check, but the container's encoder (sagemaker_containers'
        # encoders.encode) cannot produce it: Flask answers 500.
        return _error_page(500, "Internal Server Error", _SERVER_ERROR_TEXT)

    def _predict(self, features: np.ndarray | sparse.csr_matrix) -> np.ndarray:
        try:
            if self._lock is None:
                outputs = [self._predict_one(b, features) for b in self._boosters]
            else:
                with self._lock:
                    outputs = [self._predict_one(b, features) for b in self._boosters]
        except Exception as error:
            raise _Rejected(400, f"Unable to evaluate payload provided: {xgboost_message(error)}") from error
        if len(outputs) == 1:
            return outputs[0]
        if self.objective in VOTING_OBJECTIVES:
            return stats.mode(np.stack(outputs), axis=0).mode
        return np.mean(outputs, axis=0)

    def _predict_one(self, booster: xgb.Booster, features: np.ndarray | sparse.csr_matrix) -> np.ndarray:
        if self._lock is None and isinstance(features, np.ndarray) and features.shape[1] == self.num_features:
            return booster.inplace_predict(features)  # the fast path; gblinear has no inplace predict
        # gblinear and other shapes go through a DMatrix as in the container: fewer columns score as missing features,
        # more columns give xgboost's "Number of columns does not match number of features" error.
        return booster.predict(xgb.DMatrix(features), validate_features=False)

    def _csv(self, predictions: np.ndarray) -> str:
        rows = predictions.tolist()
        lines = [",".join(map(str, row)) for row in rows] if predictions.ndim > 1 else list(map(str, rows))
        separator = self._version.csv_response_separator
        return separator.join(lines) + ("\n" if separator == "\n" else "")
