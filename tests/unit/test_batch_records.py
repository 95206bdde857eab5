"""Batch Transform's record rules: splitting, batching, the documented JSONPath subset, joining."""

from __future__ import annotations

import json

import pytest

from sagemaker_emulator.sagemaker.batch_records import (
    FilterSyntaxError,
    JsonPath,
    RecordError,
    answer_records,
    batches,
    join,
    parse_record,
    render_record,
    split_records,
)


def test_line_split_keeps_every_record_and_ignores_the_final_newline():
    assert split_records(b"1,2\r\n3,4\n5,6\n", "Line") == [b"1,2", b"3,4", b"5,6"]
    assert split_records(b"1,2\n\n3,4", "Line") == [b"1,2", b"", b"3,4"]
    assert split_records(b"a\nb\n", "None") == [b"a\nb\n"]
    assert split_records(b"", "None") == []


def test_multi_record_packs_whole_records_up_to_the_payload_limit():
    records = [b"aaa", b"bb", b"c", b"dddd"]
    assert list(batches(records, "MultiRecord", 6)) == [[b"aaa", b"bb"], [b"c", b"dddd"]]  # "aaa\nbb" is 6 bytes
    assert list(batches(records, "SingleRecord", 6)) == [[r] for r in records]


def test_a_record_larger_than_the_payload_limit_fails():
    with pytest.raises(RecordError, match="Record 2 is 8 bytes, larger than MaxPayloadInMB"):
        list(batches([b"a", b"x" * 8], "MultiRecord", 6))


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("$", [1, 2], [1, 2]),
        ("$[1:]", ["label", "f1", "f2"], ["f1", "f2"]),
        ("$[0,-1]", ["a", "b", "c"], ["a", "c"]),
        ("$[0,5:]", list(range(8)), [0, 5, 6, 7]),
        ("$[:2]", list(range(4)), [0, 1]),
        ("$[2]", ["a", "b", "c"], "c"),
        ("$.features", {"id": 1, "features": [3, 4]}, [3, 4]),
        ("$.features[1]", {"features": [3, 4]}, 4),
        (
            "$['id','SageMakerOutput']",
            {"id": 1, "x": 2, "SageMakerOutput": {"score": 0.5}},
            {"id": 1, "SageMakerOutput": {"score": 0.5}},
        ),
        ("$[*]", [1, 2], [1, 2]),
        ("$.*", {"a": 1, "b": 2}, [1, 2]),
    ],
)
def test_jsonpath_subset(path, value, expected):
    assert JsonPath.parse(path).apply(value) == expected


@pytest.mark.parametrize("path", ["features", "$..x", "$[a]", "$[1:].x", "$[?(@.a)]"])
def test_jsonpath_outside_the_subset_is_refused(path):
    with pytest.raises(FilterSyntaxError):
        JsonPath.parse(path)


def test_jsonpath_on_data_of_the_wrong_shape_fails_the_record():
    with pytest.raises(RecordError, match="index 3 is out of range for a record of 2 fields"):
        JsonPath.parse("$[3]").apply(["a", "b"])
    with pytest.raises(RecordError, match="selects a member of list data"):
        JsonPath.parse("$.a").apply(["a"])


def test_csv_records_are_arrays_of_fields_and_render_back():
    fields = parse_record(b"1,0.5,x", "text/csv")
    assert fields == ["1", "0.5", "x"]
    assert render_record(fields[1:], "text/csv; charset=utf-8") == b"0.5,x"
    assert render_record("0.5", "text/csv") == b"0.5"
    assert render_record({"score": 0.5}, "application/jsonlines") == b'{"score": 0.5}'


def test_records_of_other_types_cannot_be_filtered():
    with pytest.raises(RecordError, match="not text/libsvm"):
        parse_record(b"1 1:2", "text/libsvm")
    with pytest.raises(RecordError, match="not valid JSON"):
        parse_record(b"{", "application/jsonlines")


def test_join_appends_csv_output_and_wraps_json_output():
    assert join(["1", "2"], ["0.9"]) == ["1", "2", "0.9"]
    assert join(["1", "a"], {"score": 0.9}) == {"SageMakerInput": [1, "a"], "SageMakerOutput": {"score": 0.9}}
    assert join({"id": 7}, {"score": 0.9}) == {"id": 7, "SageMakerOutput": {"score": 0.9}}


def test_answer_records_of_each_accept_type():
    assert answer_records(b"0.1\n0.2\n", "text/csv") == [b"0.1", b"0.2"]
    assert answer_records(b'{"score": 0.1}\n', "application/jsonlines") == [b'{"score": 0.1}']
    body = json.dumps({"predictions": [{"score": 0.1}, {"score": 0.2}]}).encode()
    assert answer_records(body, "application/json") == [b'{"score": 0.1}', b'{"score": 0.2}']
    with pytest.raises(RecordError, match="not a JSON predictions document"):
        answer_records(b"[]", "application/json")
