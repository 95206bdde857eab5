"""Hyperparameter validation of the built-in XGBoost algorithm, step for step like the container.

Steps (sagemaker_algorithm_toolkit.hyperparameter_validation): 0. replace aliases; 1. required names;
2. for each given name, in the user's order: unknown name, then parse; 3. ranges; 4. dependencies
(a hyperparameter's dependencies are checked first). The messages are the container's own.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import AlgorithmError, UserError
from .metrics import KNOWN_METRICS, TUNING_METRIC_NAMES
from .versions import ContainerVersion


@dataclass(frozen=True)
class Interval:
    """A numeric range, printed like the container prints it: "[0, 1]", "(0, 1]", "[1, +inf)"."""

    min_open: float | None = None
    min_closed: float | None = None
    max_open: float | None = None
    max_closed: float | None = None

    def __contains__(self, value: Any) -> bool:
        # NaN compares False with everything, so it passes: as in the container.
        return not (
            (self.min_open is not None and value <= self.min_open)
            or (self.min_closed is not None and value < self.min_closed)
            or (self.max_open is not None and value >= self.max_open)
            or (self.max_closed is not None and value > self.max_closed)
        )

    def __str__(self) -> str:
        low = (
            f"({self.min_open}, "
            if self.min_open is not None
            else (f"[{self.min_closed}, " if self.min_closed is not None else "(-inf, ")
        )
        high = (
            f"{self.max_open})"
            if self.max_open is not None
            else (f"{self.max_closed}]" if self.max_closed is not None else "+inf)")
        )
        return low + high


class Choices(tuple):
    """Allowed values; printed as the container prints its Python lists: ['a', 'b']."""

    def __str__(self) -> str:
        return str(list(self))


class MetricNames(Choices):
    """eval_metric values: the known metric names, or 'error'/'ndcg'/'map' with an '@<float>' threshold."""

    def __contains__(self, metric: object) -> bool:
        text = str(metric)
        if "<function" in text:
            raise UserError(f"User defined evaluation metric {text} is not supported yet.")
        if "@" not in text:
            return super().__contains__(metric)
        name, threshold = (part.strip() for part in text.split("@")[:2])
        if name not in ("error", "ndcg", "map"):
            raise UserError(
                f"Metric '{text}' is not supported. Parameter 'eval_metric' with customized threshold should "
                "be one of these options: 'error', 'ndcg', 'map'."
            )
        try:
            float(threshold)
        except ValueError:
            raise UserError(f"Threshold value 't' in '{name}@t' expects float input.") from None
        return True


DependencyCheck = Callable[[Any, Mapping[str, Any]], None]

INTEGER, CONTINUOUS, CATEGORICAL, LIST, TUPLE, NESTED_LIST = (
    "integer", "continuous", "categorical", "comma-separated list", "tuple", "nested list")  # fmt: skip
_PARSERS: dict[str, Callable[[str], Any]] = {
    INTEGER: int,
    CONTINUOUS: float,
    CATEGORICAL: str,
    LIST: lambda text: text.split(","),
    TUPLE: ast.literal_eval,  # the container eval()s these; literals are what is meaningful here
    NESTED_LIST: ast.literal_eval,
}


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    kind: str
    range: Any
    required: bool = False
    depends_on: tuple[str, ...] = ()
    check_dependencies: DependencyCheck | None = None

    def parse(self, text: str) -> Any:
        return _PARSERS[self.kind](text)

    def validate_range(self, value: Any) -> None:
        if self.kind in (INTEGER, CONTINUOUS, CATEGORICAL):
            if value not in self.range:
                raise UserError(f"Hyperparameter {self.name}: {value} is not in {self.range}")
            return
        elements = [e for inner in value for e in inner] if self.kind == NESTED_LIST else value
        if any(e not in self.range for e in elements):
            raise UserError(f"Hyperparameter {self.name}: value {value} not in range {self.range}")


def _objective_needs_num_class(objective: str, deps: Mapping[str, Any]) -> None:
    if objective in ("multi:softmax", "multi:softprob") and deps.get("num_class") is None:
        raise UserError("Require input for parameter 'num_class' for multi-classification")


def _eval_metric_fits_objective(metrics: list[str], deps: Mapping[str, Any]) -> None:
    objective = deps["objective"]  # a KeyError without `objective`, exactly like the container
    if "auc" in metrics and not objective.startswith(("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "aft-nloglik" in metrics and objective != "survival:aft":
        raise UserError("Metric 'aft-nloglik' can only be applied for 'survival:aft' objective.")


def _tree_method_allows(name: str, methods: tuple[str, ...], wording: str) -> DependencyCheck:
    def check(value: Any, deps: Mapping[str, Any]) -> None:
        if value is not None and deps.get("tree_method") not in methods:
            raise UserError(f"{name} can be used only when the tree_method parameter is set to either {wording}.")

    return check


_TREE_UPDATERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune",
                  "grow_quantile_histmaker")  # fmt: skip
_TREE_GROWERS = ("grow_colmaker", "distcol", "grow_histmaker", "grow_quantile_histmaker")
_LINEAR_UPDATERS = ("shotgun", "coord_descent")
_UPDATER_RANGE = Choices((  # the container's list, duplicates included (they show in its message)
    "grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune", "grow_colmaker",
    "distcol", "grow_histmaker", "grow_colmaker", "shotgun", "coord_descent", "refresh", "prune",
))  # fmt: skip


def _updater_fits_booster(updaters: list[str], deps: Mapping[str, Any]) -> None:
    if deps.get("booster") == "gblinear":
        if not (len(updaters) == 1 and updaters[0] in _LINEAR_UPDATERS):
            raise UserError("Linear updater should be one of these options: 'shotgun', 'coord_descent'.")
    elif deps.get("process_type") == "update":
        if not all(u in ("refresh", "prune") for u in updaters):
            raise UserError("process_type 'update' can only be used with updater 'refresh' and 'prune'")
    else:
        if not all(u in _TREE_UPDATERS for u in updaters):
            raise UserError(
                "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', 'grow_histmaker', "
                "'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', 'prune', 'shortgun', 'coord_descent'."
            )
        if sum(u in _TREE_GROWERS for u in updaters) > 1:
            raise UserError(
                "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', "
                "'distcol', 'grow_histmaker', 'grow_skmaker'"
            )


ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}


def _ge(low: float) -> Interval:
    return Interval(min_closed=low)


_UNIT = Interval(min_closed=0, max_closed=1)
_FRACTION = Interval(min_open=0, max_closed=1)
_TRUE_FALSE = Choices(("true", "false"))


def hyperparameter_table(version: ContainerVersion) -> dict[str, Hyperparameter]:
    """Every hyperparameter the container accepts for this version, in the container's declaration order."""
    h = Hyperparameter
    table = [
        h("num_round", INTEGER, _ge(1), required=True),
        h("csv_weights", INTEGER, _UNIT),
        h("early_stopping_rounds", INTEGER, _ge(1)),
        h("booster", CATEGORICAL, Choices(("gbtree", "gblinear", "dart"))),
        h("verbosity", INTEGER, Interval(min_closed=0, max_closed=3)),
        h("nthread", INTEGER, _ge(1)),
        h("eta", CONTINUOUS, _UNIT),
        h("gamma", CONTINUOUS, _ge(0)),
        h("max_depth", INTEGER, _ge(0)),
        h("min_child_weight", CONTINUOUS, _ge(0)),
        h("max_delta_step", CONTINUOUS, _ge(0)),
        h("subsample", CONTINUOUS, _FRACTION),
        h("colsample_bytree", CONTINUOUS, _FRACTION),
        h("colsample_bylevel", CONTINUOUS, _FRACTION),
        h("colsample_bynode", CONTINUOUS, _FRACTION),
        h("lambda", CONTINUOUS, _ge(0)),
        h("alpha", CONTINUOUS, _ge(0)),
        h("tree_method", CATEGORICAL, Choices(("auto", "exact", "approx", "hist", "gpu_hist"))),
        h("sketch_eps", CONTINUOUS, Interval(min_open=0, max_open=1)),
        h("scale_pos_weight", CONTINUOUS, Interval(min_open=0)),
        h("updater", LIST, _UPDATER_RANGE,
          depends_on=("booster", "process_type"), check_dependencies=_updater_fits_booster),
        h("dsplit", CATEGORICAL, Choices(("row", "col"))),
        h("refresh_leaf", INTEGER, _UNIT),
        h("process_type", CATEGORICAL, Choices(("default", "update"))),
        h("grow_policy", CATEGORICAL, Choices(("depthwise", "lossguide"))),
        h("max_leaves", INTEGER, _ge(0)),
        h("max_bin", INTEGER, _ge(0)),
        h("predictor", CATEGORICAL, Choices(("auto", "cpu_predictor", "gpu_predictor"))),
        h("monotone_constraints", TUPLE, Choices((-1, 0, 1)), depends_on=("tree_method",),
          check_dependencies=_tree_method_allows("monotone_constraints", ("exact", "hist"), "'exact' or 'hist'")),
        h("interaction_constraints", NESTED_LIST, _ge(1), depends_on=("tree_method",),
          check_dependencies=_tree_method_allows(
              "interaction_constraints", ("exact", "hist", "approx"), "'exact', 'hist' or 'approx'")),
        h("sample_type", CATEGORICAL, Choices(("uniform", "weighted"))),
        h("normalize_type", CATEGORICAL, Choices(("tree", "forest"))),
        h("rate_drop", CONTINUOUS, _UNIT),
        h("one_drop", INTEGER, _UNIT),
        h("skip_drop", CONTINUOUS, _UNIT),
        h("lambda_bias", CONTINUOUS, _UNIT),
        h("tweedie_variance_power", CONTINUOUS, Interval(min_open=1, max_open=2)),
        h("objective", CATEGORICAL, Choices(version.objectives), depends_on=("num_class",),
          check_dependencies=_objective_needs_num_class),
        h("num_class", INTEGER, _ge(2)),
        h("base_score", CONTINUOUS, _ge(0)),
        h("_kfold", INTEGER, _ge(2)),
        h("_num_cv_round", INTEGER, _ge(1)),
        h("_tuning_objective_metric", CATEGORICAL, Choices(TUNING_METRIC_NAMES)),
        h("eval_metric", LIST, MetricNames(KNOWN_METRICS), depends_on=("objective",),
          check_dependencies=_eval_metric_fits_objective),
        h("seed", INTEGER, Interval(min_open=-(2**31), max_open=2**31 - 1)),
        h("num_parallel_tree", INTEGER, _ge(1)),
        h("save_model_on_termination", CATEGORICAL, _TRUE_FALSE),
        h("aft_loss_distribution", CATEGORICAL, Choices(("normal", "logistic", "extreme"))),
        h("aft_loss_distribution_scale", CONTINUOUS, _ge(0)),
        h("deterministic_histogram", CATEGORICAL, _TRUE_FALSE),
        h("sampling_method", CATEGORICAL, Choices(("uniform", "gradient_based"))),
        h("prob_buffer_row", INTEGER, Interval(min_open=1.0)),
        h("use_dask_gpu_training", CATEGORICAL, _TRUE_FALSE),
    ]  # fmt: skip
    return {hp.name: hp for hp in table}


def _dependencies_first(names: Iterable[str], table: Mapping[str, Hyperparameter]) -> list[str]:
    """Given names in an order where each comes after the given names it depends on (DFS post-order)."""
    given = set(names)
    ordered: list[str] = []
    visited: set[str] = set()

    def visit(name: str) -> None:
        visited.add(name)
        for dep in table[name].depends_on:
            if dep in given and dep not in visited:
                visit(dep)
        ordered.append(name)

    for name in names:
        if name not in visited:
            visit(name)
    return ordered


def validate(user: Mapping[str, str], version: ContainerVersion) -> dict[str, Any]:
    """Validated, typed hyperparameters, or UserError (AlgorithmError for the container's own failures)."""
    table = hyperparameter_table(version)
    given = {ALIASES.get(name, name): value for name, value in user.items()}

    for name, hp in table.items():
        if hp.required and name not in given:
            raise UserError(f"Missing required hyperparameter: {name}")

    parsed: dict[str, Any] = {}
    for name, text in given.items():
        if name not in table:
            raise UserError(f"Extraneous hyperparameter found: {name}")
        try:
            parsed[name] = table[name].parse(text)
        except ValueError as error:
            raise UserError(f"Hyperparameter {name}: could not parse value", caused_by=error) from error

    for name, value in parsed.items():
        try:
            table[name].validate_range(value)
        except UserError:
            raise
        except Exception as error:
            raise AlgorithmError(
                f"Hyperparameter {name}: unexpected failure when validating {value}", caused_by=error
            ) from error

    validated: dict[str, Any] = {}
    for name in _dependencies_first(parsed, table):
        hp = table[name]
        if hp.check_dependencies is not None:
            hp.check_dependencies(parsed[name], {d: validated[d] for d in hp.depends_on if d in validated})
        validated[name] = parsed[name]
    return validated


def is_json(text: str) -> bool:
    """Whether SageMaker's training toolkit could json-decode a value (it logs those it cannot)."""
    try:
        json.loads(text)
    except (ValueError, TypeError):
        return False
    return True
