"""Reading a training channel into an xgboost DMatrix the way the container does (File mode).

Like the container: sizes are checked first (hidden files are an error), then the first line of each file
is checked for the declared format, then every file (up to 3 folder levels deep) is symlinked into one
scratch folder that xgboost's own text parser reads (`<dir>?format=csv&label_column=0&delimiter=,`).
Using the same parser keeps its quirks: a CSV header row becomes one more row with label 0 and missing
features, and CSV sent without ContentType fails the LIBSVM check of its first line.
"""

from __future__ import annotations

import csv
import os
import shutil
import zlib
from pathlib import Path

import xgboost as xgb

from .channels import CSV, LIBSVM
from .container_log import ContainerLog
from .errors import AlgorithmError, UserError, xgboost_message

MAX_FOLDER_DEPTH = 3
EMULATED_FORMATS = (CSV, LIBSVM)


def total_size(path: Path, log: ContainerLog) -> int:
    """Bytes of data under a channel path; 0 when it does not exist."""
    if not path.exists():
        log.info(f"Path {path} does not exist!")
        return 0
    if path.is_file():
        return path.stat().st_size
    size = 0
    for root, _, files in os.walk(path):
        for name in files:
            if name.startswith("."):
                raise UserError("Hidden file found in the data path! Remove that before training.")
            size += (Path(root) / name).stat().st_size
    return size


def _is_data_file(folder: Path, name: str) -> bool:
    if not (folder / name).is_file() or name.startswith((".", "_")):
        return False
    return not (".cache" in name and ("dtrain" in name or "dval" in name))


def sniff_delimiter(line: str, log: ContainerLog) -> str:
    try:
        delimiter = csv.Sniffer().sniff(line).delimiter
    except Exception as error:
        raise UserError(f"Could not determine delimiter on line {line[:50]}:\n{error}") from error
    log.info(f"Determined delimiter of CSV input is '{delimiter}'")
    return delimiter


def _libsvm_feature_count(line: str, log: ContainerLog) -> int:
    """Features on a LIBSVM line, -1 if it is not LIBSVM (checking the first pair only, as the container does)."""
    tokens = line.split(" ")
    label_parts = tokens[0].split(":")
    try:
        if len(label_parts) > 2:
            raise ValueError
        for part in label_parts:
            float(part)
    except ValueError:
        log.error(f"{tokens[0]} does not follow LIBSVM label format <label>(:<weight>).")
        return -1
    for token in tokens[1:]:
        if ":" not in token or len(tokens[1].split(":")) != 2:
            return -1
    return len(tokens) - 1


def _validate_libsvm_file(path: Path, log: ContainerLog) -> None:
    with path.open(errors="ignore") as lines:
        for line in lines:
            features = _libsvm_feature_count(line, log)
            if features > 1:
                return
            if features < 0:
                raise UserError(
                    f"First line '{line[:50]}...' of file '{path.name}' is not 'LIBSVM' format. "
                    "Please ensure the file is in 'LIBSVM' format."
                )
    log.warning(f"File {path.name} is not an invalid LIBSVM file but has no features. Accepting simple validation.")


def validate_files(path: Path, file_type: str, log: ContainerLog) -> None:
    """Check the first line(s) of the files in the first leaf folder (the container looks no further)."""
    if not path.exists():
        raise UserError(f"{path} is not a valid path!")
    if path.is_file():
        files = [path]
    else:
        leaf = next(Path(root) for root, dirs, _ in os.walk(path) if not dirs)
        files = [leaf / name for name in os.listdir(leaf) if _is_data_file(leaf, name)]
    for file in files:
        if file_type == CSV:
            with file.open(errors="ignore") as lines:
                sniff_delimiter(lines.readline(), log)
        elif file_type == LIBSVM:
            _validate_libsvm_file(file, log)


class _TooDeep(Exception):
    pass


def _link_files(source: Path, scratch: Path, depth: int, log: ContainerLog) -> None:
    if depth > MAX_FOLDER_DEPTH:
        raise _TooDeep
    if source.is_file():
        target = scratch / f"{source.name}{zlib.crc32(str(source).encode())}"
        log.info(f"creating symlink between Path {source} and destination {target}")
        target.symlink_to(source)
        return
    log.info(f"Making smlinks from folder {source} to folder {scratch}")
    for item in sorted(source.iterdir()):
        if item.is_file():
            _link_files(item, scratch, depth, log)
        elif item.is_dir():
            _link_files(item, scratch, depth + 1, log)


def _link_channel(path: Path, scratch: Path, log: ContainerLog) -> None:
    """Symlink a channel's files into scratch; like the container, the first too-deep folder ends the walk."""
    try:
        _link_files(path, scratch, 1, log)
    except _TooDeep:
        log.warning(
            f"The depth of folder {path} exceed the limit {MAX_FOLDER_DEPTH}. Files in deeper sub dirs won't be "
            "loaded. Please adjust the folder structure accordingly."
        )


def load_dmatrix(path: Path, file_type: str, csv_weights: int, scratch: Path, log: ContainerLog) -> xgb.DMatrix:
    """All files of a channel as one DMatrix (label in the first column; weight in the second if csv_weights)."""
    if file_type not in EMULATED_FORMATS:
        raise AlgorithmError(
            f"This SageMaker emulator reads training data as csv or libsvm only; '{file_type}' channels need "
            "pyarrow/mlio, which it does not ship. Convert the data to text/csv."
        )
    log.info(f"File path {path} of input files")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    _link_channel(path, scratch, log)
    log.info(f"files path: {scratch}")
    try:
        if file_type == CSV:
            first_file = min(scratch.iterdir())
            with first_file.open(errors="ignore") as lines:
                delimiter = sniff_delimiter(lines.readline(), log)
            weight = "&weight_column=1" if csv_weights == 1 else ""
            uri = f"{scratch}?format=csv&label_column=0&delimiter={delimiter}{weight}"
        else:
            uri = f"{scratch}?format=libsvm"
        dmatrix = xgb.DMatrix(uri)
    except UserError:
        raise
    except Exception as error:
        raise UserError(f"Failed to load {file_type} data with exception:\n{xgboost_message(error)}") from error
    if dmatrix.get_label().size == 0:
        raise UserError(
            "Got input data without labels. Please check the input data set. If training job is running on "
            "multiple instances, please switch to using single instance if number of records in the data set "
            "is less than number of workers (16 * number of instance) in the cluster."
        )
    return dmatrix


def warn_redundant_files(train: Path, validation: Path, log: ContainerLog) -> None:
    """Warn about same-name, same-size files in both channels (likely the same data twice)."""
    if not train.exists():
        raise UserError("training data's path is not existed")
    if not validation.exists():
        raise UserError("validation data's path is not existed")
    train_files = {p.name: p for p in train.iterdir() if p.is_file()}
    for other in validation.iterdir():
        mine = train_files.get(other.name)
        if other.is_file() and mine is not None and mine.stat().st_size == other.stat().st_size:
            log.warning(
                f"Suspected identical files found. ({mine} and {other}with same size {other.stat().st_size} "
                "bytes). Note: Duplicate data in the training set and validation set is usually not intentional "
                "and can impair the validity of the model evaluation by the validation score."
            )
