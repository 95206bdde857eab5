"""Candidate default hyperparameters for the economic feature set, measured without Airflow.

Prepares the economic split exactly as the pipeline's `prepare` task does (the shipped
bank-additional-full.csv.gz, bankml's build_model_frame, split_model_frame and write_channels:
the same CSV bytes the training job reads), then trains every candidate with the emulator's
built-in XGBoost container in-process (the same hyperparameter validation, defaults and early
stopping as a training job of the 3.0-5 image) once per `seed`, scores the test channel with
the saved model and prints test ROC AUC (scikit-learn) as mean and minimum over the seeds, the
boosting rounds kept and the fit seconds (the container's run, data loading included).

`duration` is never a feature (bankml's feature sets leave it out). Only the bench imports both
the pipeline's library and the emulator; the pipeline itself never imports the emulator.

Run: .venv/bin/python -m bench.default_model [--seeds 0 1 2 3 4] [--only NAME ...] [--version 3.0-5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from bankml.data.channels import write_channels
from bankml.data.features import build_model_frame
from bankml.data.schema import read_raw
from bankml.data.source import SHIPPED_COPY
from bankml.data.split import split_model_frame
from bankml.sagemaker_config import TUTORIAL_HYPERPARAMETERS
from sagemaker_emulator.xgboost_container import training
from sagemaker_emulator.xgboost_container.versions import VERSIONS

FEATURE_SET = "economic"
SEEDS = (0, 1, 2, 3, 4)  # 0 is xgboost's default: what a run without a `seed` hyperparameter gets
CHANNEL = {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
           "RecordWrapperType": "None"}  # fmt: skip

_ES = {"objective": "binary:logistic", "eval_metric": "logloss,auc", "early_stopping_rounds": "20",
       "subsample": "0.8", "colsample_bytree": "0.8"}  # fmt: skip
"""Early stopping on the validation channel's last eval_metric (auc, maximized); logloss is still reported."""
_LOGLOSS = {"eval_metric": "auc,logloss", "early_stopping_rounds": "20"}
"""Early stopping on validation logloss (last, minimized); auc is still reported."""
CANDIDATES: dict[str, dict[str, str]] = {
    "tutorial (today)": dict(TUTORIAL_HYPERPARAMETERS),
    "es10 eta0.1 d5 mcw6 g4": {**TUTORIAL_HYPERPARAMETERS, "eta": "0.1", "num_round": "500",
                               "eval_metric": "logloss,auc", "early_stopping_rounds": "10"},
    "es20 eta0.1 d5 mcw6 g4": {**TUTORIAL_HYPERPARAMETERS, "eta": "0.1", "num_round": "500",
                               "eval_metric": "logloss,auc", "early_stopping_rounds": "20"},
    "es20 eta0.05 d5 mcw6 g4 cs0.8": {**TUTORIAL_HYPERPARAMETERS, **_ES, "eta": "0.05", "num_round": "1000"},
    "es20 eta0.05 d3 mcw1": {**_ES, "eta": "0.05", "max_depth": "3", "min_child_weight": "1", "num_round": "1000"},
    "es20 eta0.05 d4 mcw6": {**_ES, "eta": "0.05", "max_depth": "4", "min_child_weight": "6", "num_round": "1000"},
    "es20 eta0.05 d6 mcw10": {**_ES, "eta": "0.05", "max_depth": "6", "min_child_weight": "10", "num_round": "1000"},
    "es20 eta0.1 d4 mcw6": {**_ES, "eta": "0.1", "max_depth": "4", "min_child_weight": "6", "num_round": "500"},
    # stopping on validation logloss (the last eval_metric) instead of auc: smoother on 4,119 rows
    "es20-logloss eta0.1 d5 mcw6 g4": {**TUTORIAL_HYPERPARAMETERS, **_LOGLOSS, "eta": "0.1", "num_round": "500"},
    "es20-logloss eta0.05 d4 mcw6 cs0.8": {**_ES, **_LOGLOSS, "eta": "0.05", "max_depth": "4", "min_child_weight": "6",
                                           "num_round": "1000"},
    # the economic default chosen from these (bankml.sagemaker_config.ECONOMIC_HYPERPARAMETERS)
    "es20-logloss eta0.05 d5 mcw6 g4": {**TUTORIAL_HYPERPARAMETERS, **_LOGLOSS, "eta": "0.05", "num_round": "1000"},
    "es20-logloss eta0.05 d5 mcw6 g4 cs0.8": {**TUTORIAL_HYPERPARAMETERS, **_LOGLOSS, "eta": "0.05",
                                              "colsample_bytree": "0.8", "num_round": "1000"},
    "es10-logloss eta0.05 d5 mcw6 g4": {**TUTORIAL_HYPERPARAMETERS, **_LOGLOSS, "eta": "0.05", "num_round": "1000",
                                        "early_stopping_rounds": "10"},
    "es20-logloss eta0.05 d6 mcw10": {**_ES, **_LOGLOSS, "eta": "0.05", "max_depth": "6", "min_child_weight": "10",
                                      "num_round": "1000"},
    "es20-logloss eta0.1 d3 mcw1 cs0.8": {**_ES, **_LOGLOSS, "eta": "0.1", "max_depth": "3", "min_child_weight": "1",
                                          "num_round": "500"},
}  # fmt: skip


def prepare(out_dir: Path) -> tuple[dict[str, Path], pd.DataFrame]:
    """The economic channels as the pipeline writes them, and the test frame (label first)."""
    frame = build_model_frame(read_raw(SHIPPED_COPY), FEATURE_SET)
    splits = split_model_frame(frame, FEATURE_SET)
    files = write_channels(splits, out_dir)
    return {name: f.path for name, f in files.items()}, splits.test


def fit(job: Path, hyperparameters: dict[str, str], channels: dict[str, Path], tag: str) -> tuple[xgb.Booster, float]:
    """One training job of the emulated container; the booster it saved and the seconds it took."""
    config = job / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps({"train": CHANNEL, "validation": CHANNEL}))
    for name in ("train", "validation"):
        (job / "input" / "data" / name).mkdir(parents=True)
        (job / "input" / "data" / name / f"{name}.csv").symlink_to(channels[name])
    lines: list[str] = []
    start = time.perf_counter()
    code = training.run(job, VERSIONS[tag], lines.append)
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"training failed ({hyperparameters}):\n" + "\n".join(lines[-5:]))
    booster = xgb.Booster()
    booster.load_model(job / "model" / training.MODEL_NAME)
    return booster, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), help="candidates to run (default: all)")
    parser.add_argument("--version", default="3.0-5", choices=list(VERSIONS), help="container image tag")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bankml-default-model-") as scratch:
        channels, test = prepare(Path(scratch) / "channels")
        x_test = xgb.DMatrix(test.drop(columns="y").to_numpy(dtype=np.float64))
        y_test = test["y"].to_numpy()
        print(f"economic split: test {len(test):,} rows ({int(y_test.sum()):,} subscribers); "
              f"container {args.version}; seeds {args.seeds}\n", flush=True)  # fmt: skip
        print("| candidate | hyperparameters | mean ROC AUC | min ROC AUC | rounds kept | fit s (mean) |")
        print("|---|---|---|---|---|---|", flush=True)
        jobs = iter(range(10_000))
        for name in args.only or CANDIDATES:
            hyperparameters = CANDIDATES[name]
            aucs, rounds, seconds = [], [], []
            for seed in args.seeds:
                booster, took = fit(Path(scratch) / f"job-{next(jobs)}", {**hyperparameters, "seed": str(seed)},
                                    channels, args.version)  # fmt: skip
                aucs.append(float(roc_auc_score(y_test, booster.predict(x_test))))
                rounds.append(booster.num_boosted_rounds())
                seconds.append(took)
            shown = ", ".join(f"{k}={v}" for k, v in hyperparameters.items() if k != "objective")
            print(f"| {name} | `{shown}` | {statistics.mean(aucs):.4f} | {min(aucs):.4f} | "
                  f"{min(rounds)}-{max(rounds)} | {statistics.mean(seconds):.1f} |", flush=True)  # fmt: skip
            print(f"<!-- {name}: per-seed AUC {', '.join(f'{a:.4f}' for a in aucs)} -->", flush=True)


if __name__ == "__main__":
    main()
