"""The container's training entry point (algorithm mode, File input), step for step.

Order as in sagemaker_xgboost_container.algorithm_mode.train: hyperparameters, channels, content type,
data sizes and first-line format checks, DMatrix loading, xgb.train with one log line per round (on one
host, or with the hosts of resourceconfig.json through xgboost's collective: distributed.py), then
xgboost-model in the image's format (only the master saves it). Any exception becomes the FailureReason the way SageMaker's
training toolkit reports it: "AlgorithmError: framework error: \\n<traceback>\\n<message>".
"""

from __future__ import annotations

import json
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xgboost as xgb
from xgboost import collective

from . import hyperparameters
from .channels import file_type, validate_channels
from .container_log import ContainerLog
from .data import load_dmatrix, total_size, validate_files, warn_redundant_files
from .distributed import Network, ResourceConfig, rabit_run
from .errors import AlgorithmError, UserError, xgboost_message
from .metrics import MAXIMIZE_METRICS, MarginMetrics, custom_metric, parse_metrics, split_eval_metrics
from .versions import ContainerVersion

__all__ = ["MODEL_NAME", "parse_metrics", "run"]

MODEL_NAME = "xgboost-model"
LARGE_DATA_ROWS = 4 << 20
"""xgboost 1.x switches tree_method 'auto' from 'exact' to 'approx' at this many rows."""
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss",
    "Check failed: label_correct PoissonRegression: label must be nonnegative",
    "Check failed: label_correct TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)
"""xgboost errors the container reports as the user's fault (UserError) rather than "XGB train call failed"."""
_DASK_ERRORS = {
    "gpu": "Dask training is only available for `gpu_hist` training on GPU instances.",
    "pipe": "Dask training is not supported for pipe mode input. Please use File mode.",
    "format": "Dask training is only supported for CSV and Parquet input.",
}


def run(opt_ml: Path, version: ContainerVersion, log: Callable[[str], None], network: Network | None = None) -> int:
    """Train like the container's entry point; 0 on success, else non-zero with opt_ml/output/failure written.

    Reads opt_ml/input/config/{hyperparameters,inputdataconfig,resourceconfig}.json and
    opt_ml/input/data/<channel>/, writes opt_ml/model/xgboost-model (the master host only), and sends every
    stdout/stderr line of the container to `log`. With several hosts, `network` says where their tracker is.
    """
    out = ContainerLog(log)
    opt_ml = Path(opt_ml)
    try:
        with tempfile.TemporaryDirectory(prefix="sagemaker-emulator-xgboost-") as scratch:
            trained = _train(opt_ml, version, out, Path(scratch) / "sagemaker_xgboost_input_data", network or Network())
    except Exception as error:  # the training toolkit turns every exception into a failed job
        reason = failure_reason(error)
        (opt_ml / "output").mkdir(parents=True, exist_ok=True)
        (opt_ml / "output" / "failure").write_text(reason)
        out.error("Reporting training FAILURE")
        out.error(reason.removeprefix("AlgorithmError: "))
        code = getattr(error, "errno", 1)
        return code if isinstance(code, int) and code > 0 else 1
    if trained:  # a host left out of distributed training exits at once, as the container's sys.exit(0) does
        out.info("Reporting training SUCCESS")
    return 0


def failure_reason(error: BaseException) -> str:
    """FailureReason as SageMaker shows it, with the traceback cut to its last frame so the message survives
    the 1024-character limit."""
    trace = "".join(traceback.format_exception(error, limit=-1, chain=False))
    return f"AlgorithmError: framework error: \n{trace}\n{error}"


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _train(opt_ml: Path, version: ContainerVersion, out: ContainerLog, scratch: Path, network: Network) -> bool:
    """False when this host took no part (distributed training without data on it)."""
    config_dir = opt_ml / "input" / "config"
    user_hyperparameters = _read_json(config_dir / "hyperparameters.json")
    data_config = _read_json(config_dir / "inputdataconfig.json")
    resources = ResourceConfig.from_json(_read_json(config_dir / "resourceconfig.json"))

    out.info("Imported framework sagemaker_xgboost_container.training")
    for name, value in user_hyperparameters.items():
        if not hyperparameters.is_json(value):
            out.info(f"Failed to parse hyperparameter {name} value {value} to Json.\nReturning the value itself")
    out.info("No GPUs detected (normal if no gpus installed)")
    out.info("Running XGBoost Sagemaker in algorithm mode")

    params = hyperparameters.validate(user_hyperparameters, version)
    if params.get("updater"):
        params["updater"] = ",".join(params["updater"])
    channels = validate_channels(data_config)
    train_type = file_type(channels["train"].get("ContentType"))
    input_mode = channels["train"].get("TrainingInputMode", "File")

    data_dir = opt_ml / "input" / "data"
    train_path = data_dir / "train"
    validation_path = data_dir / "validation" if "validation" in channels else None
    if validation_path is not None and input_mode != "Pipe":
        warn_redundant_files(train_path, validation_path, out)

    out.info("Determined 0 GPU(s) available on the instance.")
    if params.pop("use_dask_gpu_training", "false") == "true":
        problems = [_DASK_ERRORS["gpu"]]  # the emulator has no GPUs
        problems += [_DASK_ERRORS["pipe"]] if input_mode == "Pipe" else []
        problems += [_DASK_ERRORS["format"]] if train_type not in ("csv", "parquet") else []
        raise UserError(f"Some configurations unsuitable for Dask GPU training were found: {'. '.join(problems)}")
    if input_mode == "Pipe":
        raise AlgorithmError("This SageMaker emulator supports TrainingInputMode 'File' only, not 'Pipe'.")
    if "_kfold" in params:
        raise AlgorithmError("This SageMaker emulator does not implement _kfold cross-validation training.")

    csv_weights = params.get("csv_weights", 0)
    train_size = total_size(train_path, out)
    validation_size = total_size(validation_path, out) if validation_path else 0
    if train_size > 0:
        validate_files(train_path, train_type, out)
    if validation_size > 0 and validation_path is not None:
        validate_files(validation_path, train_type, out)
    dtrain = load_dmatrix(train_path, train_type, csv_weights, scratch, out) if train_size > 0 else None
    dvalidation = (
        load_dmatrix(validation_path, train_type, csv_weights, scratch, out)
        if validation_size > 0 and validation_path is not None
        else None
    )
    model_dir = opt_ml / "model"

    def train(is_master: bool) -> None:
        assert dtrain is not None
        booster = _train_job(params, dtrain, dvalidation, version, out, is_master)
        model_dir.mkdir(parents=True, exist_ok=True)
        if version.debug_trace_lines:
            _debug(out, f"FINAL_MODEL_DEBUG: is_master={is_master}, model_dir={model_dir}")
        if not is_master:
            return
        if version.debug_trace_lines:
            _debug(out, "FINAL_MODEL_SAVE: Saving final model as master")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 3.0.5 warns that the legacy binary format is deprecated
            (model_dir / MODEL_NAME).write_bytes(bytes(booster.save_raw(raw_format=version.model_format)))

    if len(resources.hosts) > 1:
        out.info(f"Distributed node training with {len(resources.hosts)} hosts: {list(resources.hosts)}")
        if dtrain is None:
            out.warning(
                f"Host {resources.current_host} does not have data. Will broadcast to cluster and will not be "
                "used in distributed training."
            )
        return rabit_run(train, dtrain is not None, resources, network, str(train_path), out)
    if dtrain is None:
        raise UserError(f"No data in training channel path {train_path}")
    if validation_path is not None and dvalidation is None:
        raise UserError(f"No data in validation channel path {validation_path}")
    out.info("Single node training.")
    train(True)
    return True


def _debug(out: ContainerLog, message: str) -> None:
    """The 3.0-5 container both logs and prints its *_DEBUG lines."""
    out.info(message)
    out.print(message)


def _train_job(
    params: dict[str, Any],
    dtrain: xgb.DMatrix,
    dvalidation: xgb.DMatrix | None,
    version: ContainerVersion,
    out: ContainerLog,
    is_master: bool,
) -> xgb.Booster:
    if version.debug_trace_lines:
        _debug(out, f"TRAIN_JOB_DEBUG: Received is_master={is_master}")
    num_round = params.pop("num_round")
    save_on_termination = params.pop("save_model_on_termination", "false")

    tuning_metric = params.pop("_tuning_objective_metric", None)
    tuning_metrics = tuning_metric.split(":")[1].split(",") if tuning_metric else None
    if tuning_metric:
        out.info(f"Setting up HPO optimized metric to be : {tuning_metric.split(':')[1]}")
    eval_metric = params.get("eval_metric")
    wanted = (
        sorted(set(tuning_metrics) | set(eval_metric))
        if tuning_metrics and eval_metric
        else (tuning_metrics or eval_metric or [])
    )
    builtin, computed = split_eval_metrics(wanted)
    if builtin:
        params["eval_metric"] = builtin
    else:
        params.pop("eval_metric", None)

    early_stopping_rounds = params.pop("early_stopping_rounds", None)
    stopping_metric = None
    if early_stopping_rounds:
        stopping_metric = (tuning_metrics or eval_metric or [None])[-1]

    out.info(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns")
    if dvalidation is not None:
        out.info(f"Validation matrix has {dvalidation.num_row()} rows")

    if version.legacy_auto_tree_method and "updater" not in params and params.get("tree_method", "auto") == "auto":
        # xgboost 1.x's choice: 'approx' for distributed training (exact has no distributed version) or large data
        distributed = collective.is_distributed()
        params["tree_method"] = "approx" if distributed or dtrain.num_row() >= LARGE_DATA_ROWS else "exact"
    if version.default_base_score is not None:
        params.setdefault("base_score", version.default_base_score)

    # xgboost keeps callbacks in a set: their order, hence whether the round that triggers early stopping
    # is still printed, varies from run to run, on SageMaker too.
    callbacks: list[xgb.callback.TrainingCallback] = [xgb.callback.EvaluationMonitor(logger=out.print)]
    metric = None
    if computed and version.custom_metrics_get_margins:
        margin_metrics = MarginMetrics(computed)
        callbacks.append(margin_metrics)
        metric = margin_metrics.metric
    elif computed:
        metric = custom_metric(computed)
    if version.debug_trace_lines:
        out.info(f"CALLBACK_SETUP_DEBUG: save_model_on_termination={save_on_termination}, is_master={is_master}")
        out.info(f"CALLBACK_SKIPPING save_model_on_termination={save_on_termination}, is_master={is_master})")
    if dvalidation is not None and stopping_metric and early_stopping_rounds:
        callbacks.append(
            xgb.callback.EarlyStopping(
                rounds=early_stopping_rounds,
                data_name="validation",
                metric_name=stopping_metric,
                maximize=stopping_metric in MAXIMIZE_METRICS,
                save_best=True,
            )
        )
    evals = [(dtrain, "train")] + ([(dvalidation, "validation")] if dvalidation is not None else [])
    try:
        with warnings.catch_warnings():
            # xgboost's native warnings (e.g. unused parameters) are printed where they happen, as on stdout
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *_args, **_kwargs: out.print(str(message))
            booster = xgb.train(
                params,
                dtrain,
                num_boost_round=num_round,
                evals=evals,
                custom_metric=metric,
                callbacks=callbacks,
                verbose_eval=False,
            )
    except Exception as error:
        message = xgboost_message(error)
        if any(known in message for known in CUSTOMER_ERRORS):
            raise UserError(message) from error
        raise AlgorithmError(f"XGB train call failed with exception:\n {message}") from error
    return booster
