"""How Batch Transform cuts an S3 object into requests and puts the answers back together.

Pure functions, following the service's documented rules: `SplitType=Line` makes one record per
line; `BatchStrategy=MultiRecord` packs whole records (newline-joined) into requests of at most
`MaxPayloadInMB`, `SingleRecord` sends one a request; `AssembleWith=Line` puts each answer record on
its own line, `None` concatenates the answers as they came. `DataProcessing` filters are the JSONPath
subset the service documents ("Associate Prediction Results with Input Records"): `$`, `.name`,
`['a','b']`, `[*]`/`.*`, `[i, j]` (negative allowed) and `[start:end]` slices, mixed as in `$[0,5:]`.
A CSV record is read as an array of its fields; `JoinSource=Input` appends the output fields to the
input's (CSV output) or gives `{"SageMakerInput": ..., "SageMakerOutput": ...}` (JSON Lines output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
CSV_TYPES = ("text/csv",)
JSON_LINES_TYPES = ("application/jsonlines", "application/json")
_STEP = re.compile(r"\.(\*|[A-Za-z_][A-Za-z0-9_]*)|\[([^\]]*)\]")
_SLICE = re.compile(r"^(-?\d*):(-?\d*)$")
_NAME = re.compile(r"""^\s*'([^']*)'\s*$""")


class RecordError(ValueError):
    """A record the job cannot process; str() is the reason (goes into the FailureReason)."""


class FilterSyntaxError(ValueError):
    """A JSONPath outside the subset the service documents."""


@dataclass(frozen=True)
class _Selector:
    """One path step: `names` or `indexes` (int or slice), `wildcard`; `single` when it picks one value."""

    names: tuple[str, ...] = ()
    indexes: tuple[int | slice, ...] = ()
    wildcard: bool = False

    @property
    def single(self) -> bool:
        return (
            not self.wildcard
            and len(self.names) + len(self.indexes) == 1
            and not isinstance((self.indexes or (None,))[0], slice)
        )

    def apply(self, value: Any, path: str) -> Any:
        if self.wildcard:
            return list(value.values()) if isinstance(value, dict) else list(value)
        if self.names:
            if not isinstance(value, dict):
                raise RecordError(f"JSONPath {path} selects a member of {type(value).__name__} data")
            picked = {name: value[name] for name in self.names if name in value}
            return picked.get(self.names[0]) if self.single else picked
        if not isinstance(value, list):
            raise RecordError(f"JSONPath {path} indexes {type(value).__name__} data")
        selected: list[Any] = []
        for index in self.indexes:
            if isinstance(index, slice):
                selected.extend(value[index])
            elif -len(value) <= index < len(value):
                selected.append(value[index])
            else:
                raise RecordError(f"JSONPath {path}: index {index} is out of range for a record of {len(value)} fields")
        return selected[0] if self.single else selected


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[_Selector, ...]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        if not text.startswith("$"):
            raise FilterSyntaxError(f"JSONPath {text!r} must start with '$'")
        steps, position = [], 1
        while position < len(text):
            match = _STEP.match(text, position)
            if match is None:
                raise FilterSyntaxError(f"JSONPath {text!r}: cannot read {text[position:]!r}")
            steps.append(_selector(match.group(1), match.group(2), text))
            position = match.end()
        if any(not step.single for step in steps[:-1]):
            raise FilterSyntaxError(f"JSONPath {text!r}: only the last step may select several values")
        return cls(text, tuple(steps))

    @property
    def identity(self) -> bool:
        return not self.steps

    def apply(self, value: Any) -> Any:
        for step in self.steps:
            value = step.apply(value, self.text)
        return value


def _selector(dotted: str | None, bracket: str | None, text: str) -> _Selector:
    if dotted is not None:
        return _Selector(wildcard=True) if dotted == "*" else _Selector(names=(dotted,))
    parts = [part.strip() for part in (bracket or "").split(",")]
    if parts == ["*"]:
        return _Selector(wildcard=True)
    if all(_NAME.match(part) for part in parts):
        return _Selector(names=tuple(_NAME.match(part).group(1) for part in parts))  # type: ignore[union-attr]
    indexes: list[int | slice] = []
    for part in parts:
        bounds = _SLICE.match(part)
        try:
            if bounds:
                start, end = (int(b) if b else None for b in bounds.groups())
                indexes.append(slice(start, end))
            else:
                indexes.append(int(part))
        except ValueError:
            raise FilterSyntaxError(f"JSONPath {text!r}: {part!r} is not a name, index or slice") from None
    return _Selector(indexes=tuple(indexes))


def split_records(data: bytes, split_type: str) -> list[bytes]:
    """`Line`: one record per line (a trailing newline ends the last one); `None`: the object is one record."""
    if split_type == "None":
        return [data] if data else []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def batches(records: list[bytes], strategy: str, max_payload_bytes: int) -> Iterator[list[bytes]]:
    """Groups of records, one group per request; a record larger than the payload limit fails the job."""
    batch: list[bytes] = []
    size = 0
    for number, record in enumerate(records, start=1):
        if len(record) > max_payload_bytes:
            raise RecordError(
                f"Record {number} is {len(record)} bytes, larger than MaxPayloadInMB ({max_payload_bytes // MIB} MB)"
            )
        added = len(record) + (1 if batch else 0)
        if batch and (strategy == "SingleRecord" or size + added > max_payload_bytes):
            yield batch
            batch, size, added = [], 0, len(record)
        batch.append(record)
        size += added
    if batch:
        yield batch


def is_csv(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in CSV_TYPES


def parse_record(record: bytes, content_type: str | None) -> Any:
    """A record as JSONPath sees it: CSV as an array of its fields, JSON as itself."""
    text = record.decode("utf-8")
    if is_csv(content_type):
        return text.split(",")
    if (content_type or "").split(";")[0].strip().lower() in JSON_LINES_TYPES:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise RecordError(f"Record is not valid JSON: {error}") from None
    raise RecordError(
        f"DataProcessing filters and JoinSource read text/csv, application/json and "
        f"application/jsonlines records, not {content_type or '(no content type)'}"
    )


def render_record(value: Any, content_type: str | None) -> bytes:
    """A filtered or joined record back in its format: CSV fields joined by commas, else JSON."""
    if is_csv(content_type):
        if isinstance(value, dict):
            value = list(value.values())
        fields = value if isinstance(value, list) else [value]
        return ",".join(_csv_field(field) for field in fields).encode()
    return json.dumps(value).encode()


def _csv_field(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def answer_records(body: bytes, accept: str) -> list[bytes]:
    """The records of one container answer: its lines, or the items of `{"predictions": [...]}`."""
    if accept.split(";")[0].strip().lower() == "application/json":
        try:
            predictions = json.loads(body)["predictions"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise RecordError(f"The answer is not a JSON predictions document: {error}") from None
        return [json.dumps(item).encode() for item in predictions]
    return split_records(body, "Line")


def join(input_record: Any, output_record: Any) -> Any:
    """JoinSource=Input: the output appended to the input array (CSV), or both side by side (JSON)."""
    if isinstance(input_record, list) and isinstance(output_record, list):
        return input_record + output_record
    if isinstance(input_record, dict):
        return {**input_record, "SageMakerOutput": output_record}
    return {"SageMakerInput": _typed(input_record), "SageMakerOutput": output_record}


def _typed(value: Any) -> Any:
    """CSV fields as JSON values: numbers stay numbers."""
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
