from __future__ import annotations

import pytest

from sagemaker_emulator.xgboost_container.channels import VALID_CONTENT_TYPES, file_type, validate_channels
from sagemaker_emulator.xgboost_container.errors import UserError

FILE = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}


def test_train_is_required() -> None:
    with pytest.raises(UserError, match="^Missing required channel: train$"):
        validate_channels({"validation": {**FILE, "ContentType": "text/csv"}})


def test_other_channels_are_rejected() -> None:
    with pytest.raises(UserError, match="^Extraneous channel found: test$"):
        validate_channels({"train": {**FILE, "ContentType": "text/csv"}, "test": {**FILE, "ContentType": "text/csv"}})


def test_the_code_channel_of_script_mode_is_accepted() -> None:
    channels = {"train": {**FILE, "ContentType": "csv"}, "code": {**FILE, "ContentType": "text/python"}}
    assert validate_channels(channels) == channels


@pytest.mark.parametrize("content_type", VALID_CONTENT_TYPES)
def test_accepted_content_types(content_type: str) -> None:
    assert validate_channels({"train": {**FILE, "ContentType": content_type}})["train"]["ContentType"] == content_type


def test_no_content_type_means_libsvm() -> None:
    validated = validate_channels({"train": dict(FILE)})
    assert validated["train"]["ContentType"] == "text/libsvm"
    assert file_type(validated["train"]["ContentType"]) == "libsvm"


@pytest.mark.parametrize("content_type", ["application/json", "text/csv; label_size=1", "Text/CSV"])
def test_other_content_types_are_rejected_with_the_channel_config(content_type: str) -> None:
    with pytest.raises(UserError) as raised:
        validate_channels({"train": {**FILE, "ContentType": content_type}})
    assert str(raised.value) == (
        "Channel configuration for 'train' channel is not supported: {'TrainingInputMode': 'File', "
        f"'S3DistributionType': 'FullyReplicated', 'RecordWrapperType': 'None', 'ContentType': '{content_type}'}}"
    )


def test_pipe_mode_takes_no_libsvm() -> None:
    assert validate_channels({"train": {**FILE, "TrainingInputMode": "Pipe", "ContentType": "text/csv"}})
    with pytest.raises(UserError, match="Channel configuration for 'train' channel is not supported"):
        validate_channels({"train": {**FILE, "TrainingInputMode": "Pipe", "ContentType": "text/libsvm"}})


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [(None, "libsvm"), ("text/csv", "csv"), ("TEXT/CSV; charset=utf-8", "csv"), ("text/csv;label_size=1", "csv"),
     ("text/x-libsvm", "libsvm"), ("application/x-parquet", "parquet"), ("recordio-protobuf", "recordio-protobuf")],
)  # fmt: skip
def test_file_type(content_type: str | None, kind: str) -> None:
    assert file_type(content_type) == kind


def test_file_type_messages() -> None:
    with pytest.raises(UserError) as raised:
        file_type("application/json")
    assert str(raised.value) == (
        "application/json is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, "
        "text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf."
    )
    with pytest.raises(UserError) as raised:
        file_type("text/csv; label_size=2")
    assert str(raised.value) == ("text/csv; label_size=2 is not an accepted csv ContentType. Optional parameter "
                                 "label_size must be equal to 1")  # fmt: skip
