from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from sagemaker_emulator.xgboost_container.training import parse_metrics
from sagemaker_emulator.xgboost_container.versions import VERSIONS
from tests.paths import FULL_DATASET

from .jobs import CSV_CHANNEL, TUTORIAL_HYPERPARAMETERS, binary_data, csv_text, failure_of

BOTH = pytest.mark.parametrize("version", list(VERSIONS.values()), ids=list(VERSIONS))


def split_files(rows: int = 300, features: int = 6) -> dict[str, str]:
    x, y = binary_data(rows, features)
    cut = rows * 2 // 3
    return {"train/train.csv": csv_text(x[:cut], y[:cut]), "validation/validation.csv": csv_text(x[cut:], y[cut:])}


def round_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"^\[\d+\]\t", line)]


def booster_of(opt_ml: Path) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(opt_ml / "model" / "xgboost-model")
    return booster


@BOTH
def test_trains_and_logs_one_tab_separated_line_per_round(run_job, version) -> None:
    code, lines, opt_ml = run_job({**TUTORIAL_HYPERPARAMETERS, "num_round": "5"}, split_files(), version=version)
    assert code == 0
    rounds = round_lines(lines)
    assert [r.split("\t")[0] for r in rounds] == ["[0]", "[1]", "[2]", "[3]", "[4]"]
    assert re.fullmatch(r"\[4\]\ttrain-logloss:\d\.\d{5}\tvalidation-logloss:\d\.\d{5}", rounds[-1])
    assert lines[0].endswith("] Imported framework sagemaker_xgboost_container.training")
    running = r"^\[\d{4}-\d\d-\d\d:\d\d:\d\d:\d\d:INFO\] Running XGBoost Sagemaker in algorithm mode$"
    assert any(re.match(running, line) for line in lines)
    assert any(line.endswith("INFO] Train matrix has 200 rows and 6 columns") for line in lines)
    assert any(line.endswith("INFO] Validation matrix has 100 rows") for line in lines)
    assert lines[-1].endswith("INFO] Reporting training SUCCESS")
    assert booster_of(opt_ml).num_boosted_rounds() == 5
    assert not (opt_ml / "output" / "failure").exists()


def test_logs_the_values_the_training_toolkit_cannot_json_decode(run_job) -> None:
    _, lines, _ = run_job({**TUTORIAL_HYPERPARAMETERS, "num_round": "2"}, split_files())
    at = next(i for i, line in enumerate(lines) if "Failed to parse hyperparameter objective" in line)
    assert lines[at].endswith("INFO] Failed to parse hyperparameter objective value binary:logistic to Json.")
    assert lines[at + 1] == "Returning the value itself"
    assert not any("hyperparameter max_depth" in line for line in lines)  # "5" is JSON


def test_model_file_format_per_version(run_job) -> None:
    for version, magic in ((VERSIONS["1.7-1"], b"binf"), (VERSIONS["3.0-5"], b"{L")):
        code, _, opt_ml = run_job({**TUTORIAL_HYPERPARAMETERS, "num_round": "2"}, split_files(), version=version)
        assert code == 0
        assert (opt_ml / "model" / "xgboost-model").read_bytes().startswith(magic)


def test_1_7_1_reproduces_xgboost_1_7_defaults(run_job) -> None:
    files = split_files()
    code, _, opt_ml = run_job({"num_round": "3", "max_depth": "3", "objective": "binary:logistic"}, files,
                              version=VERSIONS["1.7-1"])  # fmt: skip
    assert code == 0
    emulated = booster_of(opt_ml)
    assert float(json.loads(emulated.save_config())["learner"]["learner_model_param"]["base_score"]) == 0.5
    # xgboost 1.7 on small in-memory data: tree_method auto = exact, base_score 0.5
    same_data = xgb.DMatrix(f"{opt_ml}/input/data/train/train.csv?format=csv&label_column=0")
    expected = xgb.train({"max_depth": 3, "objective": "binary:logistic", "tree_method": "exact", "base_score": 0.5},
                         same_data, num_boost_round=3)  # fmt: skip
    assert emulated.get_dump() == expected.get_dump()


def test_3_0_5_keeps_xgboost_3_defaults(run_job) -> None:
    code, _, opt_ml = run_job({**TUTORIAL_HYPERPARAMETERS, "num_round": "2"}, split_files())
    assert code == 0
    config = json.loads(booster_of(opt_ml).save_config())
    assert float(config["learner"]["learner_model_param"]["base_score"]) != 0.5  # estimated from the labels
    assert config["learner"]["gradient_booster"]["gbtree_train_param"]["tree_method"] == "auto"


def test_debug_lines_only_on_3_0_5(run_job) -> None:
    for version, expected in ((VERSIONS["3.0-5"], True), (VERSIONS["1.7-1"], False)):
        _, lines, _ = run_job({**TUTORIAL_HYPERPARAMETERS, "num_round": "1"}, split_files(), version=version)
        assert ("TRAIN_JOB_DEBUG: Received is_master=True" in lines) is expected
        assert any("FINAL_MODEL_SAVE" in line for line in lines) is expected


@BOTH
def test_validation_failure_writes_the_failure_reason(run_job, version) -> None:
    code, lines, opt_ml = run_job({**TUTORIAL_HYPERPARAMETERS, "silent": "0"}, split_files(), version=version)
    assert code == 1
    reason = failure_of(opt_ml)
    assert reason.startswith("AlgorithmError: framework error: \nTraceback (most recent call last):\n")
    assert reason.endswith(
        "UserError: Extraneous hyperparameter found: silent\n\nExtraneous hyperparameter found: silent"
    )
    assert len(reason) < 1024
    assert any(line.endswith("ERROR] Reporting training FAILURE") for line in lines)
    assert any(line.endswith("ERROR] framework error: ") for line in lines)
    assert lines[-1] == "Extraneous hyperparameter found: silent"
    assert not (opt_ml / "model" / "xgboost-model").exists()


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "files", "message"),
    [
        ({"objective": "binary:logistic"}, None, None, "Missing required hyperparameter: num_round"),
        ({"num_round": "2", "eta": "1.5"}, None, None, "Hyperparameter eta: 1.5 is not in [0, 1]"),
        ({"num_round": "2", "objective": "reg:squarederror", "eval_metric": "auc"}, None, None,
         "Metric 'auc' can only be applied for classification and ranking problems."),
        ({"num_round": "2"}, {"validation": CSV_CHANNEL}, None, "Missing required channel: train"),
        ({"num_round": "2"}, {"train": CSV_CHANNEL, "test": CSV_CHANNEL}, None, "Extraneous channel found: test"),
        ({"num_round": "2"}, None, {"train/a.csv": "", "validation/b.csv": "1,2\n"},
         "No data in training channel path"),
        ({"num_round": "2"}, None, {"train/a.csv": "1,2\n", "validation/b.csv": ""},
         "No data in validation channel path"),
        ({"num_round": "2"}, None, {"train/a.csv": "1,2\n", "train/.hidden": "x", "validation/b.csv": "1,2\n"},
         "Hidden file found in the data path! Remove that before training."),
        ({"num_round": "2", "use_dask_gpu_training": "true"}, None, None,
         "Some configurations unsuitable for Dask GPU training were found: Dask training is only available for "
         "`gpu_hist` training on GPU instances."),
        ({"num_round": "2", "objective": "binary:logistic"}, None,
         {"train/a.csv": "2,1.0\n3,2.0\n", "validation/b.csv": "1,2\n"},
         "label must be in [0,1] for logistic regression"),
    ],
)  # fmt: skip
def test_user_errors_end_the_failure_reason(run_job, hyperparameters, channels, files, message) -> None:
    # 1.7-1: its fixed base_score lets xgboost reach the label check (3.0-5 fails earlier, see below)
    code, _, opt_ml = run_job(hyperparameters, files or split_files(), channels=channels, version=VERSIONS["1.7-1"])
    assert code == 1
    reason = failure_of(opt_ml)
    assert reason.startswith("AlgorithmError: framework error: \n")
    assert message in reason.rsplit("\n\n", 1)[-1]
    assert "UserError: " in reason


def test_other_xgboost_errors_are_algorithm_errors(run_job) -> None:
    files = {"train/a.csv": "2,1.0\n3,2.0\n"}
    code, _, opt_ml = run_job(
        {"num_round": "2", "objective": "binary:logistic"}, files, channels={"train": CSV_CHANNEL}
    )
    assert code == 1
    reason = failure_of(opt_ml)
    assert "AlgorithmError: XGB train call failed with exception:\n " in reason
    assert reason.endswith("base_score must be in (0,1) for logistic loss, got: 2.5")
    assert "Stack trace" not in reason


def test_csv_without_content_type_fails_as_libsvm(run_job) -> None:
    channel = {k: v for k, v in CSV_CHANNEL.items() if k != "ContentType"}
    code, lines, opt_ml = run_job({"num_round": "2"}, split_files(), channels={"train": channel})
    assert code == 1
    first_line = split_files()["train/train.csv"].split("\n")[0]
    assert failure_of(opt_ml).endswith(
        f"\n\nFirst line '{first_line[:50]}...' of file 'train.csv' is not 'LIBSVM' format. "
        "Please ensure the file is in 'LIBSVM' format."
    )
    assert any("does not follow LIBSVM label format <label>(:<weight>)." in line for line in lines)


def test_libsvm_channel_trains(run_job) -> None:
    x, y = binary_data(120, 4)
    libsvm = "".join(
        f"{label} " + " ".join(f"{j}:{float(v)!r}" for j, v in enumerate(row)) + "\n" for label, row in zip(y, x)
    )
    channel = {**CSV_CHANNEL, "ContentType": "text/libsvm"}
    code, lines, _ = run_job({"num_round": "3", "objective": "binary:logistic"}, {"train/data.libsvm": libsvm},
                             channels={"train": channel})  # fmt: skip
    assert code == 0
    assert any(line.endswith("Train matrix has 120 rows and 4 columns") for line in lines)


def test_a_csv_header_is_read_as_one_more_row(run_job) -> None:
    files = split_files()
    files["train/train.csv"] = "y,a,b,c,d,e,f\n" + files["train/train.csv"]
    code, lines, _ = run_job({"num_round": "2"}, files)
    assert code == 0
    assert any(line.endswith("Train matrix has 201 rows and 6 columns") for line in lines)


def test_reads_all_files_up_to_three_folder_levels(run_job) -> None:
    x, y = binary_data(90)
    files = {"train/a.csv": csv_text(x[:30], y[:30]), "train/sub/b.csv": csv_text(x[30:60], y[30:60]),
             "train/sub/deeper/c.csv": csv_text(x[60:], y[60:])}  # fmt: skip
    code, lines, _ = run_job({"num_round": "2"}, files, channels={"train": CSV_CHANNEL})
    assert code == 0
    assert any(line.endswith("Train matrix has 90 rows and 6 columns") for line in lines)


def test_parquet_is_refused_naming_what_the_emulator_reads(run_job) -> None:
    channel = {**CSV_CHANNEL, "ContentType": "application/x-parquet"}
    code, _, opt_ml = run_job({"num_round": "2"}, {"train/a.parquet": b"PAR1"}, channels={"train": channel})
    assert code == 1
    assert failure_of(opt_ml).endswith("Convert the data to text/csv.")
    assert "AlgorithmError: This SageMaker emulator reads training data as csv or libsvm only" in failure_of(opt_ml)


def test_pipe_mode_is_refused(run_job) -> None:
    channel = {**CSV_CHANNEL, "TrainingInputMode": "Pipe"}
    code, _, opt_ml = run_job({"num_round": "2"}, split_files(), channels={"train": channel})
    assert code == 1
    assert failure_of(opt_ml).endswith("supports TrainingInputMode 'File' only, not 'Pipe'.")


def test_early_stopping_uses_the_last_eval_metric_and_keeps_the_best_model(run_job) -> None:
    hyperparameters = {"num_round": "200", "eta": "0.5", "objective": "binary:logistic",
                       "eval_metric": "logloss,error", "early_stopping_rounds": "3"}  # fmt: skip
    code, lines, opt_ml = run_job(hyperparameters, split_files())
    assert code == 0
    rounds = round_lines(lines)
    assert len(rounds) < 200
    errors = [parse_metrics(line)["validation:error"] for line in rounds]
    best = int(np.argmin(errors))
    assert booster_of(opt_ml).num_boosted_rounds() == best + 1
    # xgboost runs its callbacks in set order: the stopping round itself is printed or not, at random
    assert len(rounds) in (best + 1 + 3, best + 3)


@BOTH
def test_early_stopping_on_a_maximized_last_metric_keeps_the_round_of_the_best_validation_auc(run_job, version) -> None:
    # auc is last, so it decides (and is maximized), not logloss, whose best round differs on these data
    hyperparameters = {"num_round": "200", "eta": "0.5", "objective": "binary:logistic",
                       "eval_metric": "logloss,auc", "early_stopping_rounds": "3"}  # fmt: skip
    code, lines, opt_ml = run_job(hyperparameters, split_files(), version=version)
    assert code == 0
    rounds = [parse_metrics(line) for line in round_lines(lines)]
    best_auc = int(np.argmax([r["validation:auc"] for r in rounds]))
    assert best_auc != int(np.argmin([r["validation:logloss"] for r in rounds]))
    assert booster_of(opt_ml).num_boosted_rounds() == best_auc + 1
    assert len(rounds) in (best_auc + 1 + 3, best_auc + 3)


def test_the_tuning_objective_metric_decides_early_stopping_before_eval_metric(run_job) -> None:
    hyperparameters = {"num_round": "200", "eta": "0.5", "objective": "binary:logistic", "eval_metric": "auc,logloss",
                       "_tuning_objective_metric": "validation:auc", "early_stopping_rounds": "3"}  # fmt: skip
    code, lines, opt_ml = run_job(hyperparameters, split_files())
    assert code == 0
    rounds = [parse_metrics(line) for line in round_lines(lines)]
    assert booster_of(opt_ml).num_boosted_rounds() == int(np.argmax([r["validation:auc"] for r in rounds])) + 1


@pytest.mark.parametrize(
    ("eval_metric", "channels"),
    [(None, None), ("logloss", {"train": CSV_CHANNEL})],
    ids=["without-eval_metric", "without-validation-channel"],
)
def test_early_stopping_rounds_alone_does_not_stop_training(run_job, eval_metric, channels) -> None:
    # The container only stops early on the validation channel's last eval_metric (or tuning metric):
    # without either, every round is trained and the last one is saved.
    hyperparameters = {"num_round": "40", "eta": "0.5", "objective": "binary:logistic", "early_stopping_rounds": "3"}
    if eval_metric:
        hyperparameters["eval_metric"] = eval_metric
    files = split_files() if channels is None else {"train/train.csv": split_files()["train/train.csv"]}
    code, lines, opt_ml = run_job(hyperparameters, files, channels=channels)
    assert code == 0
    assert len(round_lines(lines)) == 40
    assert booster_of(opt_ml).num_boosted_rounds() == 40
    stopped = run_job({**hyperparameters, "eval_metric": "logloss"}, split_files())[2]
    assert booster_of(stopped).num_boosted_rounds() < 40  # with both, these data do stop early


def test_container_computed_metrics_on_1_7_1_use_margins(run_job) -> None:
    hyperparameters = {"num_round": "2", "objective": "binary:logistic", "eval_metric": "accuracy,logloss"}
    code, lines, opt_ml = run_job(hyperparameters, split_files(), version=VERSIONS["1.7-1"])
    assert code == 0
    metrics = parse_metrics(round_lines(lines)[-1])
    assert set(metrics) == {"train:logloss", "validation:logloss", "train:accuracy", "validation:accuracy"}
    x, y = binary_data(300, 6)
    predicted = booster_of(opt_ml).inplace_predict(x[200:]) > 0.5
    assert metrics["validation:accuracy"] == pytest.approx(np.mean(predicted == y[200:]), abs=1e-5)


def test_container_computed_metrics_on_3_0_5_see_probabilities(run_job) -> None:
    # 3.0-5 hands the metric probabilities it reads as margins: every row counts as class 1 (as on SageMaker).
    hyperparameters = {"num_round": "2", "objective": "binary:logistic", "eval_metric": "accuracy"}
    code, lines, _ = run_job(hyperparameters, split_files())
    assert code == 0
    _, y = binary_data(300, 6)
    assert parse_metrics(round_lines(lines)[-1])["validation:accuracy"] == pytest.approx(np.mean(y[200:] == 1))


def test_unused_parameters_are_warned_about_like_xgboost_does(run_job) -> None:
    code, lines, _ = run_job({"num_round": "1", "csv_weights": "0"}, split_files())
    assert code == 0
    assert any('Parameters: { "csv_weights" } are not used.' in line for line in lines)


@pytest.mark.parametrize(
    ("line", "metrics"),
    [
        ("[12]\ttrain-logloss:0.28000\tvalidation-logloss:0.29000",
         {"train:logloss": 0.28, "validation:logloss": 0.29}),
        ("[3]#011train-auc:0.91000#011validation-auc:0.90000", {"train:auc": 0.91, "validation:auc": 0.9}),
        ("[0]\ttrain-aft-nloglik:1.5\tvalidation-error@0.7:0.1", {"train:aft-nloglik": 1.5}),
        ("[2024-01-01:00:00:00:INFO] Train matrix has 3 rows and 2 columns", {}),
        ("[1]\tnot a metric", {}),
    ],
)  # fmt: skip
def test_parse_metrics(line: str, metrics: dict[str, float]) -> None:
    assert parse_metrics(line) == metrics


@pytest.fixture(scope="module")
def bank_files() -> tuple[dict[str, str], pd.DataFrame]:
    """6,000 random rows of the UCI data, one-hot encoded like the tutorial (label first, no header)."""
    with gzip.open(FULL_DATASET, "rt") as text:
        data = pd.read_csv(text, sep=";")
    data = data.drop(columns=["duration"]).sample(n=6000, random_state=1729)
    features = pd.get_dummies(data.drop(columns=["y"]), dtype=np.uint8)
    frame = pd.concat([(data["y"] == "yes").astype(int).rename("y"), features], axis=1)
    train, validation = frame.iloc[:4200], frame.iloc[4200:]
    files = {"train/train.csv": train.to_csv(header=False, index=False),
             "validation/validation.csv": validation.to_csv(header=False, index=False)}  # fmt: skip
    return files, validation


def test_trains_on_the_bank_marketing_data(run_job, bank_files) -> None:
    files, validation = bank_files
    code, lines, opt_ml = run_job(TUTORIAL_HYPERPARAMETERS, files, version=VERSIONS["1.7-1"])
    assert code == 0
    assert any(line.endswith(f"Train matrix has 4200 rows and {validation.shape[1] - 1} columns") for line in lines)
    predictions = booster_of(opt_ml).inplace_predict(validation.iloc[:, 1:].to_numpy(dtype=float))
    assert roc_auc_score(validation["y"], predictions) > 0.7
    assert parse_metrics(round_lines(lines)[-1])["validation:logloss"] < 0.35
