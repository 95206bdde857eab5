"""The DAG's task bodies: Airflow context in, plain library calls, small XCom values out.

Each function takes what it needs explicitly, imports heavy libraries lazily (the DAG file
imports this module at parse time) and logs what a person reading the task log wants to
see. Clients come from Airflow's AWS connection (bankml.aws).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from bankml import aws
from bankml.run_plan import RunPlan, plan_run
from bankml.settings import Settings

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


def heap_frozen(task: Callable[P, R]) -> Callable[P, R]:
    """Collect, then freeze what the process holds when the task starts (Airflow, the DAG, what
    earlier tasks of an in-process run imported): it lives as long as the process, and Python's
    collector would otherwise scan it again and again while the task allocates (pandas,
    scikit-learn, botocore's service models). `make demo` runs about 12 % faster and peaks lower
    with it (docs/benchmarks.md); the first collection takes ~0.15 s, later ones far less."""

    @functools.wraps(task)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        gc.collect()
        gc.freeze()
        return task(*args, **kwargs)

    return run


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- tasks -----------------------------------------------------------------------------


@heap_frozen
def plan(settings: Settings, dag_run: Any) -> dict[str, str]:
    """Setup task: fix the run's names before anything exists (cannot fail halfway)."""
    result = plan_run(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        run_after=dag_run.run_after,
        bucket=settings.bucket,
        prefix=settings.prefix,
        created_at=datetime.now(UTC),
    )
    log.info("Run %s: resources named %s-*, data under %s", result.run_id, result.base_name, result.uri())
    return result.to_dict()


@heap_frozen
def preflight(settings: Settings, params: dict[str, Any]) -> dict[str, str]:
    """Fail fast, with every problem listed, before any data moves or anything bills. The image it
    resolved is the one `training_config` uses: resolving it takes the SageMaker SDK (seconds)."""
    from bankml.preflight import run_preflight

    result = run_preflight(
        sts=aws.client(settings, "sts"),
        s3=aws.client(settings, "s3"),
        iam=aws.client(settings, "iam"),
        bucket=settings.bucket,
        role_arn=settings.role_arn,
        region=aws.region(settings),
        xgboost_version=params["xgboost_version"],
    )
    log.info("Preflight passed: %s", "; ".join(result.checks))
    return {"xgboost_image": result.xgboost_image}


@heap_frozen
def download(settings: Settings, plan: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    """Put the verified raw file into the S3 raw cache, fetching it only if it is not there yet."""
    from bankml.data import s3_store
    from bankml.data.source import fetch_raw_dataset

    run = RunPlan.from_dict(plan)
    sha256 = params["data_sha256"].strip().lower()
    key = s3_store.raw_key(run.prefix, sha256)
    result = {"key": key, "uri": f"s3://{run.bucket}/{key}", "sha256": sha256}
    s3 = aws.s3(settings)
    problem = s3_store.raw_problem(s3, run.bucket, key, sha256)
    if problem is None:
        log.info("Using the verified raw file %s; no download needed", result["uri"])
        return {**result, "origin": "s3-cache"}
    log.info("The raw cache %s %s: fetching %s", result["uri"], problem, params["data_url"])
    with tempfile.TemporaryDirectory(prefix="bankml-download-") as scratch:
        raw = fetch_raw_dataset(params["data_url"], Path(scratch), expected_sha256=sha256)
        # The shipped copy is the same file, but a URL that does not answer is worth a person's look.
        log.log(logging.WARNING if raw.origin == "shipped" else logging.INFO, raw.message)
        size = s3_store.put_raw(s3, run.bucket, key, raw.path, sha256)
    log.info("Stored the raw file (%.1f MB gzipped) at %s", size / 1e6, result["uri"])
    return {**result, "origin": raw.origin}


@heap_frozen
def prepare(settings: Settings, plan: dict[str, str], raw: dict[str, str], params: dict[str, Any]) -> dict[str, Any]:
    """Validate the schema, build the feature set, split, and put the CSV channels to S3.

    The bytes depend only on the data, so a retried or cleared task re-puts identical objects.
    """
    from bankml.data import s3_store
    from bankml.data.channels import write_channels
    from bankml.data.features import build_model_frame
    from bankml.data.schema import read_raw
    from bankml.data.split import split_model_frame

    run = RunPlan.from_dict(plan)
    s3 = aws.s3(settings)
    with tempfile.TemporaryDirectory(prefix="bankml-prepare-") as scratch:
        csv = s3_store.get_raw(s3, run.bucket, raw["key"], raw["sha256"], Path(scratch) / "raw.csv")
        model_frame = build_model_frame(read_raw(csv), params["feature_set"])  # validates the schema
        splits = split_model_frame(model_frame, params["feature_set"])
        files = write_channels(splits, Path(scratch) / "channels")
        uris = s3_store.put_channels(s3, run.bucket, run.key("data"), files)
    features = [c for c in model_frame.columns if c != "y"]
    log.info(
        "Feature set %s: %d features; rows %s; channels under %s",
        params["feature_set"],
        len(features),
        ", ".join(f"{name} {f.rows:,}" for name, f in files.items()),
        run.uri("data"),
    )
    return {
        "feature_set": params["feature_set"],
        "features": features,
        "channels": {name: {"uri": uris[name], "rows": f.rows, "sha256": f.sha256} for name, f in files.items()},
    }


@heap_frozen
def training_config(
    settings: Settings, plan: dict[str, str], checked: dict[str, str], prepared: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """CreateTrainingJob request for SageMakerTrainingOperator (train and validation only)."""
    from bankml.sagemaker_config import effective_hyperparameters, training_job_config

    run = RunPlan.from_dict(plan)
    channels = {name: c["uri"] for name, c in prepared["channels"].items() if name in ("train", "validation")}
    hyperparameters = effective_hyperparameters(params["hyperparameters"], params["feature_set"])
    config = training_job_config(
        run,
        image_uri=checked["xgboost_image"],
        role_arn=settings.role_arn,
        channels=channels,
        hyperparameters=hyperparameters,
        instance_type=params["training_instance_type"],
        max_runtime_seconds=params["max_training_seconds"],
        created_at=_now(),
    )
    log.info(
        "Training image %s; hyperparameters (overrides %s): %s",
        config["AlgorithmSpecification"]["TrainingImage"],
        json.dumps(params["hyperparameters"]),
        json.dumps(config["HyperParameters"]),
    )
    return config


@heap_frozen
def evaluate(
    settings: Settings,
    plan: dict[str, str],
    prepared: dict[str, Any],
    training: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Score the test set through the endpoint, save metrics and plots, then apply the gate."""
    from bankml.data.s3_store import read_channel
    from bankml.evaluation.endpoint_scoring import endpoint_invoker, progress_logger, score, split_labelled_csv

    # Stop scoring before the task's execution_timeout, leaving time to report; the timeout itself also
    # cancels what is queued (score() never waits for the queue).
    deadline = time.monotonic() + settings.evaluate_timeout_seconds - min(60, settings.evaluate_timeout_seconds // 10)
    run = RunPlan.from_dict(plan)
    s3 = aws.s3(settings)
    test_csv = read_channel(s3, prepared["channels"]["test"]["uri"])
    rows = split_labelled_csv(test_csv)
    runtime = aws.sagemaker_runtime(settings)
    log.info(
        "Scoring %s rows through endpoint %s in %d payloads, %d at a time",
        f"{rows.labels.size:,}",
        run.endpoint_name,
        len(rows.chunks),
        params["evaluation_workers"],
    )
    started = time.monotonic()
    scores = score(
        rows,
        endpoint_invoker(runtime, run.endpoint_name),
        workers=params["evaluation_workers"],
        progress=progress_logger(),
        deadline=deadline,
    )
    seconds = time.monotonic() - started
    return _save_evaluation(
        settings,
        s3,
        run,
        training,
        params,
        rows.labels,
        scores,
        seconds,
        {"endpoint": run.endpoint_name},
        hashlib.sha256(test_csv).hexdigest(),
    )


@heap_frozen
def evaluate_transform(
    settings: Settings,
    plan: dict[str, str],
    transform: dict[str, Any],
    training: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Read the transform job's "label,score" rows, then save metrics and plots and apply the gate as evaluate does."""
    from bankml.data.s3_store import read_channel
    from bankml.evaluation.transform_output import labels_and_scores, read_output

    run = RunPlan.from_dict(plan)
    s3 = aws.s3(settings)
    # Described again: the operator's XCom holds the job's times as repr() strings.
    job = aws.sagemaker(settings).describe_transform_job(TransformJobName=transform["Transform"]["TransformJobName"])
    labels, scores = labels_and_scores(read_output(s3, job["TransformOutput"]["S3OutputPath"]))
    seconds = (job["TransformEndTime"] - job["TransformStartTime"]).total_seconds()
    log.info("Transform job %s scored %s rows in %.1f s", job["TransformJobName"], f"{labels.size:,}", seconds)
    # The registry records which test rows the model was measured on: the transform job's input.
    test_csv = read_channel(s3, job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
    return _save_evaluation(
        settings,
        s3,
        run,
        training,
        params,
        labels,
        scores,
        seconds,
        {"transform_job": job["TransformJobName"]},
        hashlib.sha256(test_csv).hexdigest(),
    )


def _save_evaluation(
    settings: Settings,
    s3: Any,
    run: RunPlan,
    training: dict[str, Any],
    params: dict[str, Any],
    labels: Any,
    scores: Any,
    seconds: float,
    scored_by: dict[str, str],
    test_sha256: str,
) -> dict[str, Any]:
    """Metrics, reports and plots to S3 whichever way the test set was scored, the model registered
    (Approved or Rejected against the champion), then the quality gate."""
    from bankml.evaluation.document import (
        METRICS_FILE,
        evaluation_document,
        evaluation_result,
        quality_gate_failure,
        save_artifacts,
    )
    from bankml.evaluation.metrics import compute_metrics
    from bankml.evaluation.report import confusion_report, gain_report
    from bankml.model_registry import register_evaluation

    metrics = compute_metrics(labels, scores)
    log.info("Evaluation of %s\n%s", ", ".join(scored_by.values()), confusion_report(metrics))
    log.info("Business view\n%s", gain_report(metrics))

    job = training["Training"]
    registration = register_evaluation(
        aws.sagemaker(settings),
        run,
        job,
        params,
        roc_auc=metrics["roc_auc"],
        test_sha256=test_sha256,
        metrics_uri=run.uri("evaluation", METRICS_FILE),
    )
    document = evaluation_document(
        run=run,
        params=params,
        training_job=job,
        scored_by=scored_by,
        seconds=seconds,
        metrics=metrics,
        registration=registration,
        evaluated_at=_now(),
    )
    saved = save_artifacts(s3, run, document, labels, scores)
    log.info("Saved %s to %s", ", ".join(saved), run.uri("evaluation"))

    failure = quality_gate_failure(run, document)
    if failure is not None:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(failure)
    return evaluation_result(run, document)


@heap_frozen
def teardown(settings: Settings, plan: dict[str, str]) -> dict[str, Any]:
    """Delete all the run created, wait until the endpoint is gone, and report the cost."""
    from bankml.cost import Usage, run_cost, save_cost, training_usage, transform_usage
    from bankml.listing import run_training_jobs, run_transform_jobs
    from bankml.teardown import teardown_run

    run = RunPlan.from_dict(plan)
    sm = aws.sagemaker(settings)
    report = teardown_run(sm, run.base_name, settings.endpoint_wait())
    log.info("Deleted: %s", ", ".join(report.deleted) or "nothing (nothing of this run existed)")
    if report.stopped_training_jobs:
        log.warning("Stopped training jobs still running: %s", ", ".join(report.stopped_training_jobs))
    if report.stopped_transform_jobs:
        log.warning("Stopped transform jobs still running: %s", ", ".join(report.stopped_transform_jobs))

    cost = run_cost(
        training=training_usage(run_training_jobs(sm, run.base_name)),
        endpoint=Usage(
            report.endpoint_instance_type, report.endpoint_instance_count, report.endpoint_lifetime_seconds or 0.0
        ),
        transform=transform_usage(run_transform_jobs(sm, run.base_name), now=datetime.now(UTC)),
    )
    log.info(cost.summary())
    save_cost(aws.s3(settings), run, cost)
    return {
        "deleted": report.deleted,
        "stopped_training_jobs": report.stopped_training_jobs,
        "stopped_transform_jobs": report.stopped_transform_jobs,
        "cost": cost.to_dict(),
    }


@heap_frozen
def verify_cleanup(settings: Settings, plan: dict[str, str] | None) -> None:
    """Fail, loudly, if anything of the run is still on SageMaker after the teardown."""
    from bankml.teardown import run_resources, running_jobs

    if plan is None:
        log.info("The run made no plan, so it created nothing: nothing to verify")
        return
    run = RunPlan.from_dict(plan)
    sm = aws.sagemaker(settings)
    left = {kind: names for kind, names in run_resources(sm, run.base_name).items() if names}
    left.update({f"{kind}_jobs": names for kind, names in running_jobs(sm, run.base_name).items()})
    if left:
        raise RuntimeError(
            f"Still on SageMaker after the teardown (billing!): {left}. Clear the 'teardown' task, "
            "or let the bankml_janitor DAG delete them."
        )
    log.info("Verified: nothing of run %s is left on SageMaker", run.run_id)
