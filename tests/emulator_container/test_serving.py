from __future__ import annotations

import io
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from sagemaker_emulator.xgboost_container.errors import ModelLoadError
from sagemaker_emulator.xgboost_container.serving import MAX_CONTENT_LENGTH, ScoringService
from sagemaker_emulator.xgboost_container.versions import VERSIONS

from .jobs import binary_data

V3 = VERSIONS["3.0-5"]
HTML = "text/html; charset=utf-8"


@pytest.fixture(scope="module", params=list(VERSIONS))
def service(request, trained_models: dict[str, Path]) -> ScoringService:
    return ScoringService.from_model_dir(trained_models[request.param], VERSIONS[request.param])


def rows_csv(x: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in x).encode()


def in_process(model_dir: Path, x: np.ndarray) -> np.ndarray:
    booster = xgb.Booster()
    booster.load_model(model_dir / "xgboost-model")
    return booster.predict(xgb.DMatrix(x))


def test_round_trip_train_then_serve_csv(service: ScoringService, trained_models) -> None:
    x, _ = binary_data(50, seed=7)
    result = service.invoke(rows_csv(x), "text/csv", "text/csv")
    assert (result.status, result.content_type) == (200, "text/csv; charset=utf-8")
    text = result.body.decode()
    assert text.endswith("\n") and text.count("\n") == 50
    expected = in_process(trained_models[service._version.tag], x)
    assert text == "".join(f"{float(p)!r}\n" for p in expected)
    assert service.objective == "binary:logistic" and service.num_features == 6


@pytest.mark.parametrize("accept", [None, "", "*/*", "text/csv", "TEXT/CSV; charset=utf-8"])
def test_csv_is_the_default_answer(service: ScoringService, accept: str | None) -> None:
    result = service.invoke(b"0.1,0.2,0.3,0.4,0.5,0.6", "text/csv", accept)
    assert result.status == 200 and result.content_type == "text/csv; charset=utf-8"
    assert result.body.count(b"\n") == 1


def test_json_answer(service: ScoringService) -> None:
    x, _ = binary_data(3, seed=3)
    result = service.invoke(rows_csv(x), "text/csv", "application/json")
    assert (result.status, result.content_type) == (200, "application/json")
    scores = json.loads(result.body)["predictions"]
    assert [set(s) for s in scores] == [{"score"}] * 3
    assert result.body.startswith(b'{"predictions": [{"score": ')


def test_jsonlines_answer_is_one_score_object_per_line(service: ScoringService, trained_models) -> None:
    x, _ = binary_data(4, seed=4)
    result = service.invoke(rows_csv(x), "text/csv", "application/jsonlines")
    assert (result.status, result.content_type) == (200, "application/jsonlines")
    text = result.body.decode()
    assert text.endswith("}\n") and text.count("\n") == 4 and text.startswith('{"score": ')
    expected = in_process(trained_models[service._version.tag], x)
    assert [json.loads(line) for line in text.splitlines()] == [{"score": float(p)} for p in expected]


def test_jsonlines_multiclass_score_is_the_probability_list(tmp_path: Path) -> None:
    x, y = binary_data(90, 4)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3}, xgb.DMatrix(x, label=y + (x[:, 2] > 1)), 2)
    booster.save_model(tmp_path / "xgboost-model.ubj")
    result = ScoringService.from_model_dir(tmp_path, V3).invoke(
        b"1,2,3,4\n4,3,2,1", "text/csv", "application/jsonlines"
    )
    records = [json.loads(line) for line in result.body.decode().splitlines()]
    assert len(records) == 2 and all(len(r["score"]) == 3 and abs(sum(r["score"]) - 1) < 1e-6 for r in records)


def test_libsvm_requests(service: ScoringService) -> None:
    # LIBSVM labels are ignored, absent features are missing and a stored 0 is a value
    dense = service.invoke(b"0.5,,,1.5,,0", "text/csv", None)
    for content_type in ("text/libsvm", "text/x-libsvm", "libsvm"):
        sparse = service.invoke(b"1 0:0.5 3:1.5 5:0", content_type, None)
        assert (sparse.status, sparse.body) == (200, dense.body)


def test_empty_body_is_204(service: ScoringService) -> None:
    assert service.invoke(b"", "application/json", "text/plain") == service.invoke(b"", "text/csv", None)
    result = service.invoke(b"", "text/csv", None)
    assert (result.status, result.body, result.content_type) == (204, b"", HTML)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"1,2,3,4,5,6", "application/json", 415, "application/json is not an accepted ContentType: csv, libsvm, "
         "parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, application/x-parquet, "
         "application/x-recordio-protobuf."),
        (b"a,b,c,d,e,f", "text/csv", 415, "Loading csv data failed with Exception, please ensure data is in csv "
         "format:\n <class 'ValueError'>\n could not convert string to float"),
        (b"1,2,3,4,5,6\n1,2", "text/csv", 415, "Loading csv data failed with Exception, please ensure data is in "
         "csv format:\n <class 'ValueError'>\n setting an array element with a sequence."),
        (b"1,2,3,4,5,6", None, 415, "Loading libsvm data failed with Exception, please ensure data is in libsvm "
         "format:\n <class 'ValueError'>\n"),
        (b"1,2,3,4,5,6", "text/csv; label_size=2", 415, "text/csv; label_size=2 is not an accepted csv ContentType"),
        (b"PAR1", "application/x-parquet", 415, "Content-type application/x-parquet is not supported."),
        (b"\n\x00", "application/x-recordio-protobuf", 415, "Content-type application/x-recordio-protobuf is not "
         "supported by this SageMaker emulator"),
        (b"1,2,3,4,5,6,7", "text/csv", 400, "Unable to evaluate payload provided: "),
    ],
)  # fmt: skip
def test_request_errors(service: ScoringService, body: bytes, content_type: str, status: int, message: str) -> None:
    result = service.invoke(body, content_type, None)
    assert (result.status, result.content_type) == (status, HTML)
    assert result.body.decode().startswith(message)


def test_too_many_features_is_xgboosts_400(service: ScoringService) -> None:
    body = service.invoke(b"1,2,3,4,5,6,7", "text/csv", None).body.decode()
    assert body.endswith("(6 vs. 7) : Number of columns does not match number of features in booster.")
    assert "Stack trace" not in body


def test_fewer_features_score_as_missing_like_the_container(service: ScoringService) -> None:
    short = service.invoke(b"0.5,1.5", "text/csv", None)
    padded = service.invoke(b"0.5,1.5,,,,", "text/csv", None)
    assert short.status == 200 and short.body == padded.body


def test_unsupported_accept_is_406(service: ScoringService) -> None:
    result = service.invoke(b"1,2,3,4,5,6", "text/csv", "text/plain")
    assert (result.status, result.content_type) == (406, HTML)
    assert result.body.decode() == ("Accept type text/plain is not supported. Please use supported accept types: "
                                    "['application/json', 'application/jsonlines', 'application/x-recordio-protobuf', "
                                    "'text/csv'].")  # fmt: skip


def test_payload_errors_win_over_accept_errors(service: ScoringService) -> None:
    assert service.invoke(b"a", "text/csv", "text/plain").status == 415


def test_recordio_protobuf_answers_are_a_500_like_the_containers_encoder(service: ScoringService) -> None:
    result = service.invoke(b"1,2,3,4,5,6", "text/csv", "application/x-recordio-protobuf")
    assert (result.status, result.content_type) == (500, HTML)
    assert b"<title>500 Internal Server Error</title>" in result.body


def test_payload_over_6_mib_is_413(service: ScoringService) -> None:
    result = service.invoke(b"1" * (MAX_CONTENT_LENGTH + 1), "text/csv", None)
    assert result.status == 413 and b"Request Entity Too Large" in result.body


@pytest.mark.parametrize(
    "body",
    [b"1,2,3,4,5,6\r\n6,5,4,3,2,1\r\n", b"1,,3,4,5,6", b"nan,2,inf,4,5,6", b"1_0,2,3,4,5,6", b"1;2;3;4;5;6",
     b"1\t2\t3\t4\t5\t6\n6\t5\t4\t3\t2\t1", b" 1.5e0 ,2,3,4,5,6", b",2,3,4,5,6\n1,2,3,4,5,", b"1,2,3\n,,\n4,5,6",
     b"1,2,3\n4,5,6", b"-0,+1,.5,5.,1e3,-1E-3"],
)  # fmt: skip
def test_fast_and_container_csv_parsers_agree(service: ScoringService, body: bytes) -> None:
    from sagemaker_emulator.xgboost_container import serving

    text = body.strip().decode()
    delimiter = next(d for d in ",;\t" if d in text)
    rows = [["nan" if f == "" else f for f in line.split(delimiter)] for line in text.split("\n")]
    expected = np.array(rows).astype(float)
    np.testing.assert_array_equal(serving._csv_rows(body), expected)


def test_ragged_rows_never_take_the_fast_path() -> None:
    from sagemaker_emulator.xgboost_container import serving

    # the last: the container's field is "\r" (not convertible), pandas would read an empty field
    for body in (b"1,2\n3", b"1,2\n\n3,4", b"1,2\r3,4", b"1,2,\r\n3,4,5"):
        with pytest.raises(ValueError):
            serving._csv_rows(body)


def test_concurrent_invocations(service: ScoringService, trained_models) -> None:
    x, _ = binary_data(2000, seed=11)
    chunks = np.array_split(x, 40)
    expected = ["".join(f"{float(p)!r}\n" for p in in_process(trained_models[service._version.tag], c)) for c in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda c: service.invoke(rows_csv(c), "text/csv", None), chunks))
    assert [r.status for r in results] == [200] * 40
    assert [r.body.decode() for r in results] == expected


def test_model_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="No model file found"):
        ScoringService.from_model_dir(tmp_path, V3)
    (tmp_path / "xgboost-model").write_bytes(b"not a model")
    with pytest.raises(ModelLoadError, match="^Model xgboost-model cannot be loaded:\nXGB load model error="):
        ScoringService.from_model_dir(tmp_path, V3)


def test_dotfiles_are_ignored_and_several_models_are_an_averaged_ensemble(tmp_path: Path, trained_models) -> None:
    shutil.copy(trained_models["3.0-5"] / "xgboost-model", tmp_path / "xgboost-model-0")
    shutil.copy(trained_models["1.7-1"] / "xgboost-model", tmp_path / "xgboost-model-1")
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    x, _ = binary_data(5, seed=5)
    ensemble = ScoringService.from_model_dir(tmp_path, V3).invoke(rows_csv(x), "text/csv", None)
    mean = (in_process(trained_models["3.0-5"], x) + in_process(trained_models["1.7-1"], x)) / 2
    assert np.allclose([float(v) for v in ensemble.body.split()], mean, atol=1e-7)


def test_a_1_7_1_model_is_served_by_both_tags(trained_models) -> None:
    for version in VERSIONS.values():
        result = ScoringService.from_model_dir(trained_models["1.7-1"], version).invoke(
            b"1,2,3,4,5,6", "text/csv", None
        )
        assert result.status == 200


def test_multiclass_probabilities_are_one_row_per_line(tmp_path: Path) -> None:
    x, y = binary_data(90, 4)
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3}, xgb.DMatrix(x, label=y + (x[:, 2] > 1)), 2)
    booster.save_model(tmp_path / "xgboost-model.ubj")
    result = ScoringService.from_model_dir(tmp_path, V3).invoke(b"1,2,3,4\n4,3,2,1", "text/csv", None)
    lines = result.body.decode().split("\n")
    assert lines[-1] == "" and len(lines) == 3
    assert all(len(line.split(",")) == 3 for line in lines[:2])


def test_an_ensemble_of_voting_objectives_takes_the_majority(tmp_path: Path) -> None:
    x, y = binary_data(200, 4)
    for i, depth in enumerate((1, 2, 3)):
        booster = xgb.train({"objective": "binary:hinge", "max_depth": depth}, xgb.DMatrix(x, label=y), 3)
        booster.save_model(tmp_path / f"xgboost-model-{i}.ubj")
    boosters = [xgb.Booster(model_file=p) for p in sorted(tmp_path.iterdir())]
    votes = np.stack([b.predict(xgb.DMatrix(x[:20])) for b in boosters])
    result = ScoringService.from_model_dir(tmp_path, V3).invoke(rows_csv(x[:20]), "text/csv", None)
    assert [float(v) for v in result.body.split()] == list((votes.sum(axis=0) >= 2).astype(float))


def test_gblinear_models_are_scored_one_request_at_a_time(tmp_path: Path) -> None:
    x, y = binary_data(200, 6)
    booster = xgb.train({"booster": "gblinear", "objective": "binary:logistic"}, xgb.DMatrix(x, label=y), 5)
    booster.save_model(tmp_path / "xgboost-model.ubj")
    service = ScoringService.from_model_dir(tmp_path, V3)
    chunks = np.array_split(x, 10)
    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = list(pool.map(lambda c: service.invoke(rows_csv(c), "text/csv", None).body, chunks))
    expected = [service.invoke(rows_csv(c), "text/csv", None).body for c in chunks]
    # gblinear's OpenMP reduction may differ in the last bits from run to run; a race would not
    for got, want in zip(bodies, expected, strict=True):
        np.testing.assert_allclose(np.loadtxt(io.BytesIO(got)), np.loadtxt(io.BytesIO(want)), rtol=1e-6)
