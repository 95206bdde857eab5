from __future__ import annotations

import math

import pytest

from sagemaker_emulator.xgboost_container.errors import AlgorithmError, UserError
from sagemaker_emulator.xgboost_container.hyperparameters import Interval, hyperparameter_table, validate
from sagemaker_emulator.xgboost_container.versions import VERSIONS

V3 = VERSIONS["3.0-5"]
BOTH = pytest.mark.parametrize("version", list(VERSIONS.values()), ids=list(VERSIONS))


def rejected(user: dict[str, str], version=V3) -> str:
    with pytest.raises(UserError) as raised:
        validate(user, version)
    return str(raised.value)


def test_tutorial_hyperparameters_are_typed() -> None:
    params = validate({"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
                       "objective": "binary:logistic", "num_round": "100"}, V3)  # fmt: skip
    assert params == {"max_depth": 5, "eta": 0.2, "gamma": 4.0, "min_child_weight": 6.0, "subsample": 0.8,
                      "objective": "binary:logistic", "num_round": 100}  # fmt: skip


@BOTH
def test_num_round_is_required(version) -> None:
    assert rejected({"objective": "binary:logistic"}, version) == "Missing required hyperparameter: num_round"


@BOTH
def test_silent_is_rejected_on_both_tags(version) -> None:
    assert rejected({"num_round": "10", "silent": "0"}, version) == "Extraneous hyperparameter found: silent"


def test_eta_range() -> None:
    assert rejected({"num_round": "10", "eta": "1.5"}) == "Hyperparameter eta: 1.5 is not in [0, 1]"


def test_unparseable_integer() -> None:
    message = rejected({"num_round": "10", "max_depth": "five"})
    assert message == "Hyperparameter max_depth: could not parse value (caused by ValueError)"
    assert rejected({"num_round": "10", "max_depth": "5.5"}) == message  # the file holds strings: int("5.5") fails


def test_auc_needs_a_classification_or_ranking_objective() -> None:
    message = rejected({"num_round": "10", "objective": "reg:squarederror", "eval_metric": "auc"})
    assert message == "Metric 'auc' can only be applied for classification and ranking problems."
    assert validate({"num_round": "10", "objective": "rank:pairwise", "eval_metric": "auc,logloss"}, V3)[
        "eval_metric"] == ["auc", "logloss"]  # fmt: skip


def test_eval_metric_without_objective_fails_like_the_container() -> None:
    # The container's dependency check reads dependencies["objective"]: a KeyError, not a UserError.
    with pytest.raises(KeyError):
        validate({"num_round": "10", "eval_metric": "logloss"}, V3)


def test_aliases_map_to_their_names() -> None:
    params = validate({"num_round": "1", "learning_rate": "0.3", "min_split_loss": "1", "reg_lambda": "2",
                       "reg_alpha": "3"}, V3)  # fmt: skip
    assert params == {"num_round": 1, "eta": 0.3, "gamma": 1.0, "lambda": 2.0, "alpha": 3.0}
    assert rejected({"num_round": "1", "learning_rate": "2"}) == "Hyperparameter eta: 2.0 is not in [0, 1]"


def test_steps_run_in_the_containers_order() -> None:
    # required before unknown, unknown before parse (in the user's order), parse before range, range before deps
    assert rejected({"silent": "0"}) == "Missing required hyperparameter: num_round"
    assert rejected({"num_round": "x", "silent": "0"}).startswith("Hyperparameter num_round: could not parse")
    assert rejected({"silent": "0", "num_round": "x"}) == "Extraneous hyperparameter found: silent"
    assert rejected({"num_round": "10", "eta": "5", "max_depth": "x"}).startswith("Hyperparameter max_depth")
    assert rejected({"num_round": "0", "objective": "multi:softmax"}).startswith("Hyperparameter num_round: 0")


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"num_round": "0"}, "Hyperparameter num_round: 0 is not in [1, +inf)"),
        ({"subsample": "0"}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ({"colsample_bytree": "1.01"}, "Hyperparameter colsample_bytree: 1.01 is not in (0, 1]"),
        ({"gamma": "-1"}, "Hyperparameter gamma: -1.0 is not in [0, +inf)"),
        ({"scale_pos_weight": "0"}, "Hyperparameter scale_pos_weight: 0.0 is not in (0, +inf)"),
        ({"tweedie_variance_power": "2"}, "Hyperparameter tweedie_variance_power: 2.0 is not in (1, 2)"),
        ({"seed": str(2**31 - 1)}, "Hyperparameter seed: 2147483647 is not in (-2147483648, 2147483647)"),
        (
            {"tree_method": "fast"},
            "Hyperparameter tree_method: fast is not in ['auto', 'exact', 'approx', 'hist', 'gpu_hist']",
        ),
        ({"booster": "gbforest"}, "Hyperparameter booster: gbforest is not in ['gbtree', 'gblinear', 'dart']"),
        ({"eval_metric": "logloss,foo"}, "Hyperparameter eval_metric: value ['logloss', 'foo'] not in range"),
        (
            {"monotone_constraints": "(1,2)"},
            "Hyperparameter monotone_constraints: value (1, 2) not in range [-1, 0, 1]",
        ),
        (
            {"interaction_constraints": "[[0, 1]]"},
            "Hyperparameter interaction_constraints: value [[0, 1]] not in range [1, +inf)",
        ),
    ],
)
def test_range_messages(user: dict[str, str], message: str) -> None:
    assert rejected({"num_round": "10", **user}).startswith(message)


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"objective": "multi:softprob"}, "Require input for parameter 'num_class' for multi-classification"),
        ({"objective": "binary:logistic", "eval_metric": "aft-nloglik"},
         "Metric 'aft-nloglik' can only be applied for 'survival:aft' objective."),
        ({"monotone_constraints": "(1,-1)"}, "monotone_constraints can be used only when the tree_method parameter "
                                             "is set to either 'exact' or 'hist'."),
        ({"interaction_constraints": "[[1, 2]]", "tree_method": "auto"}, "interaction_constraints can be used only "
         "when the tree_method parameter is set to either 'exact', 'hist' or 'approx'."),
        ({"booster": "gblinear", "updater": "shotgun,coord_descent"},
         "Linear updater should be one of these options: 'shotgun', 'coord_descent'."),
        ({"process_type": "update", "updater": "grow_colmaker"},
         "process_type 'update' can only be used with updater 'refresh' and 'prune'"),
        ({"updater": "grow_colmaker,grow_histmaker"}, "Only one tree grow plugin can be selected."),
    ],
)  # fmt: skip
def test_dependency_messages(user: dict[str, str], message: str) -> None:
    assert rejected({"num_round": "10", **user}).startswith(message)


def test_dependencies_pass_when_satisfied() -> None:
    params = validate({"num_round": "3", "objective": "multi:softmax", "num_class": "3", "eval_metric": "mlogloss",
                       "tree_method": "hist", "monotone_constraints": "(1,-1)",
                       "updater": "grow_colmaker,prune"}, V3)  # fmt: skip
    assert params["monotone_constraints"] == (1, -1)
    assert params["updater"] == ["grow_colmaker", "prune"]


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ("logloss@0.5", "Metric 'logloss@0.5' is not supported. Parameter 'eval_metric' with customized threshold"),
        ("error@high", "Threshold value 't' in 'error@t' expects float input."),
    ],
)
def test_metric_thresholds(metric: str, message: str) -> None:
    assert rejected({"num_round": "1", "objective": "binary:logistic", "eval_metric": metric}).startswith(message)
    assert validate({"num_round": "1", "objective": "binary:logistic", "eval_metric": "error@0.7"}, V3)


def test_reg_absoluteerror_exists_from_3_0_5_on() -> None:
    user = {"num_round": "1", "objective": "reg:absoluteerror"}
    assert validate(user, V3)["objective"] == "reg:absoluteerror"
    assert rejected(user, VERSIONS["1.7-1"]).startswith("Hyperparameter objective: reg:absoluteerror is not in [")


def test_an_unexpected_range_failure_is_an_algorithm_error() -> None:
    with pytest.raises(AlgorithmError) as raised:
        validate({"num_round": "1", "monotone_constraints": "1"}, V3)  # an int is not iterable
    assert str(raised.value) == ("Hyperparameter monotone_constraints: unexpected failure when validating 1 "
                                 "(caused by TypeError)")  # fmt: skip


def test_nan_passes_range_checks_like_the_container() -> None:
    assert math.isnan(validate({"num_round": "1", "eta": "nan"}, V3)["eta"])


def test_interval_formatting() -> None:
    assert str(Interval(min_closed=0, max_closed=1)) == "[0, 1]"
    assert str(Interval(min_open=0)) == "(0, +inf)"
    assert str(Interval(max_open=5)) == "(-inf, 5)"


def test_table_covers_the_documented_hyperparameters() -> None:
    documented = {"num_round", "objective", "eval_metric", "eta", "gamma", "max_depth", "min_child_weight",
                  "subsample", "colsample_bytree", "colsample_bylevel", "colsample_bynode", "lambda", "alpha",
                  "tree_method", "scale_pos_weight", "max_delta_step", "num_class", "base_score", "seed",
                  "early_stopping_rounds", "csv_weights", "verbosity", "booster", "grow_policy", "max_leaves",
                  "max_bin", "num_parallel_tree", "sketch_eps", "updater", "process_type", "refresh_leaf",
                  "monotone_constraints", "interaction_constraints", "sample_type", "normalize_type", "rate_drop",
                  "one_drop", "skip_drop", "tweedie_variance_power", "nthread", "dsplit", "predictor",
                  "sampling_method", "deterministic_histogram", "aft_loss_distribution"}  # fmt: skip
    assert documented <= set(hyperparameter_table(V3))
    assert "silent" not in hyperparameter_table(V3)
