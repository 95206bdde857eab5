"""The DAG's task bodies: Airflow context in, plain library calls, small XCom values out.

Each function takes what it needs explicitly, imports heavy libraries lazily (the DAG file
imports this module at parse time) and logs what a person reading the task log wants to
see. Clients come from Airflow's AWS connection, so the same code talks to the emulator or
to AWS depending only on that connection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bankml.run_plan import RunPlan, plan_run
from bankml.settings import Settings

log = logging.getLogger(__name__)

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sagemaker(settings: Settings) -> Any:
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    return SageMakerHook(aws_conn_id=settings.aws_conn_id).conn


def _s3(settings: Settings) -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=settings.aws_conn_id).conn


def region(settings: Settings) -> str:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    name = AwsBaseHook(aws_conn_id=settings.aws_conn_id, client_type="sts").conn_region_name
    if not name:
        raise ValueError(
            f"connection {settings.aws_conn_id!r} sets no region: add region_name to its extra"
        )
    return name


def image_uri(settings: Settings, version: str) -> str:
    """The built-in XGBoost image for the connection's region, resolved offline by the SDK."""
    from sagemaker.core import image_uris

    return image_uris.retrieve("xgboost", region(settings), version)


# --- tasks -----------------------------------------------------------------------------


def plan(settings: Settings, dag_run: Any) -> dict[str, str]:
    """Setup task: fix the run's names before anything exists (cannot fail halfway)."""
    result = plan_run(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        run_after=dag_run.run_after,
        bucket=settings.bucket,
        prefix=settings.prefix,
        created_at=datetime.now(timezone.utc),
    )
    log.info("Run %s: resources named %s-*, data under %s", result.run_id, result.base_name, result.uri())
    return result.to_dict()


def preflight(settings: Settings, params: dict[str, Any]) -> None:
    """Fail fast, with every problem listed, before any data moves or anything bills."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    from bankml.preflight import run_preflight

    def client(name: str) -> Any:
        return AwsBaseHook(aws_conn_id=settings.aws_conn_id, client_type=name).conn

    run_preflight(
        sts=client("sts"),
        s3=client("s3"),
        iam=client("iam"),
        bucket=settings.bucket,
        role_arn=settings.role_arn,
        region=region(settings),
        xgboost_version=params["xgboost_version"],
    )
    log.info("Preflight passed: credentials, bucket %s, role %s", settings.bucket, settings.role_arn)


def download(settings: Settings, plan: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    """Put the verified raw file into the S3 raw cache, fetching it only if it is not there yet."""
    from bankml.data import s3_store
    from bankml.data.source import fetch_raw_dataset

    run = RunPlan.from_dict(plan)
    sha256 = params["data_sha256"].strip().lower()
    key = s3_store.raw_key(run.prefix, sha256)
    result = {"key": key, "uri": f"s3://{run.bucket}/{key}", "sha256": sha256}
    s3 = _s3(settings)
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


def prepare(
    settings: Settings, plan: dict[str, str], raw: dict[str, str], params: dict[str, Any]
) -> dict[str, Any]:
    """Validate the schema, build the feature set, split, and put the CSV channels to S3.

    The bytes depend only on the data, so a retried or cleared task re-puts identical objects.
    """
    from bankml.data import s3_store
    from bankml.data.channels import write_channels
    from bankml.data.features import build_model_frame
    from bankml.data.schema import read_raw
    from bankml.data.split import split_model_frame

    run = RunPlan.from_dict(plan)
    s3 = _s3(settings)
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
        "channels": {
            name: {"uri": uris[name], "rows": f.rows, "sha256": f.sha256} for name, f in files.items()
        },
    }


def training_config(
    settings: Settings, plan: dict[str, str], prepared: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """CreateTrainingJob request for SageMakerTrainingOperator (train and validation only)."""
    from bankml.sagemaker_config import effective_hyperparameters, training_job_config

    run = RunPlan.from_dict(plan)
    channels = {name: c["uri"] for name, c in prepared["channels"].items() if name in ("train", "validation")}
    hyperparameters = effective_hyperparameters(params["hyperparameters"], params["feature_set"])
    config = training_job_config(
        run,
        image_uri=image_uri(settings, params["xgboost_version"]),
        role_arn=settings.role_arn,
        channels=channels,
        hyperparameters=hyperparameters,
        instance_type=params["training_instance_type"],
        max_runtime_seconds=params["max_training_seconds"],
        created_at=_now(),
    )
    log.info("Training image %s; hyperparameters (overrides %s): %s",
             config["AlgorithmSpecification"]["TrainingImage"], json.dumps(params["hyperparameters"]),
             json.dumps(config["HyperParameters"]))
    return config


def _read_test_set(s3: Any, test_prefix_uri: str) -> bytes:
    bucket, _, prefix = test_prefix_uri.removeprefix("s3://").partition("/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    if len(keys) != 1:
        raise ValueError(f"expected one test file under {test_prefix_uri}, found {keys}")
    return s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()


def _progress_logger(every_percent: int = 10) -> Any:
    state = {"next": every_percent, "start": time.monotonic()}

    def progress(done: int, total: int) -> None:
        percent = 100 * done // total
        if percent >= state["next"] or done == total:
            rate = done / max(time.monotonic() - state["start"], 1e-9)
            log.info("Scored %s/%s rows (%d%%, %.0f rows/s)", f"{done:,}", f"{total:,}", percent, rate)
            state["next"] = (percent // every_percent + 1) * every_percent

    return progress


def evaluate(
    settings: Settings,
    plan: dict[str, str],
    prepared: dict[str, Any],
    training: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Score the test set through the endpoint, save metrics and plots, then apply the gate."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from botocore.config import Config

    from bankml.evaluation.endpoint_scoring import endpoint_invoker, score, split_labelled_csv

    # Stop scoring before the task's execution_timeout, leaving time to report; the timeout itself also
    # cancels what is queued (score() never waits for the queue).
    deadline = time.monotonic() + settings.evaluate_timeout_seconds - min(60, settings.evaluate_timeout_seconds // 10)
    run = RunPlan.from_dict(plan)
    s3 = _s3(settings)
    test_csv = _read_test_set(s3, prepared["channels"]["test"]["uri"])
    rows = split_labelled_csv(test_csv)
    runtime = AwsBaseHook(
        aws_conn_id=settings.aws_conn_id,
        client_type="sagemaker-runtime",
        config=Config(retries={"mode": "standard", "max_attempts": 8}, read_timeout=70),
    ).conn
    log.info(
        "Scoring %s rows through endpoint %s in %d payloads, %d at a time",
        f"{rows.labels.size:,}", run.endpoint_name, len(rows.chunks), params["evaluation_workers"],
    )
    started = time.monotonic()
    scores = score(
        rows,
        endpoint_invoker(runtime, run.endpoint_name),
        workers=params["evaluation_workers"],
        progress=_progress_logger(),
        deadline=deadline,
    )
    seconds = time.monotonic() - started
    return _save_evaluation(settings, s3, run, training, params, rows.labels, scores, seconds,
                            {"endpoint": run.endpoint_name}, hashlib.sha256(test_csv).hexdigest())


def evaluate_transform(
    settings: Settings,
    plan: dict[str, str],
    transform: dict[str, Any],
    training: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Read the transform job's "label,score" rows, then save metrics and plots and apply the gate as evaluate does."""
    from bankml.evaluation.transform_output import labels_and_scores

    run = RunPlan.from_dict(plan)
    s3 = _s3(settings)
    # Described again: the operator's XCom holds the job's times as repr() strings.
    job = _sagemaker(settings).describe_transform_job(TransformJobName=transform["Transform"]["TransformJobName"])
    bucket, _, prefix = job["TransformOutput"]["S3OutputPath"].removeprefix("s3://").partition("/")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix.rstrip("/") + "/").get("Contents", [])
            if o["Key"].endswith(".out")]
    if len(keys) != 1:
        raise ValueError(f"expected one .out object under {job['TransformOutput']['S3OutputPath']}, found {keys}")
    labels, scores = labels_and_scores(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    seconds = (job["TransformEndTime"] - job["TransformStartTime"]).total_seconds()
    log.info("Transform job %s scored %s rows in %.1f s", job["TransformJobName"], f"{labels.size:,}", seconds)
    # The registry records which test rows the model was measured on: the transform job's input.
    test_csv = _read_test_set(s3, job["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
    return _save_evaluation(settings, s3, run, training, params, labels, scores, seconds,
                            {"transform_job": job["TransformJobName"]}, hashlib.sha256(test_csv).hexdigest())


def _save_evaluation(
    settings: Settings, s3: Any, run: RunPlan, training: dict[str, Any], params: dict[str, Any], labels: Any,
    scores: Any, seconds: float, scored_by: dict[str, str], test_sha256: str,
) -> dict[str, Any]:
    """Metrics, reports and plots to S3 whichever way the test set was scored, the model registered
    (Approved or Rejected against the champion), then the quality gate."""
    from bankml.evaluation.metrics import compute_metrics
    from bankml.evaluation.plots import confusion_matrix_png, gain_chart_png, roc_curve_png
    from bankml.evaluation.report import confusion_report, gain_report

    metrics = compute_metrics(labels, scores)
    log.info("Evaluation of %s\n%s", ", ".join(scored_by.values()), confusion_report(metrics))
    log.info("Business view\n%s", gain_report(metrics))

    job = training["Training"]
    registration = _register(settings, run, job, params, metrics["roc_auc"], test_sha256)
    document = {
        "run_id": run.run_id,
        "run_key": run.run_key,
        "feature_set": params["feature_set"],
        "xgboost_version": params["xgboost_version"],
        "hyperparameters": job.get("HyperParameters", {}),
        "training_job": job["TrainingJobName"],
        "training_final_metrics": {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])},
        "evaluation": params["evaluation"],
        **scored_by,
        "evaluation_seconds": round(seconds, 3),
        "metrics": metrics,
        "min_auc": params["min_auc"],
        "passed_quality_gate": metrics["roc_auc"] >= params["min_auc"],
        "champion_tolerance": params["champion_tolerance"],
        "registry": registration,
        "evaluated_at": _now(),
    }
    artifacts = {
        "metrics.json": (json.dumps(document, indent=2).encode(), "application/json"),
        "confusion_matrix.png": (confusion_matrix_png(metrics), "image/png"),
        "roc_curve.png": (roc_curve_png(labels, scores), "image/png"),
        "gain_chart.png": (gain_chart_png(labels, scores), "image/png"),
    }
    for name, (body, content_type) in artifacts.items():
        s3.put_object(Bucket=run.bucket, Key=run.key("evaluation", name), Body=body, ContentType=content_type)
    log.info("Saved %s to %s", ", ".join(artifacts), run.uri("evaluation"))

    if not document["passed_quality_gate"]:
        from airflow.exceptions import AirflowFailException

        raise AirflowFailException(
            f"Quality gate: ROC AUC {metrics['roc_auc']:.4f} is below min_auc {params['min_auc']} "
            f"(registered {registration['status']} as {registration['model_package_group']} "
            f"v{registration['version']}; metrics saved at {run.uri('evaluation', 'metrics.json')})"
        )
    return {
        "accuracy": metrics["accuracy"],
        "roc_auc": metrics["roc_auc"],
        "f1": metrics["f1"],
        "rows": metrics["rows"],
        "evaluation_seconds": document["evaluation_seconds"],
        "metrics_uri": run.uri("evaluation", "metrics.json"),
        "gain_at_20": next(g["share_of_subscribers"] for g in metrics["gain"] if g["fraction_called"] == 0.2),
        "model_package_arn": registration["arn"],
        "model_version": registration["version"],
        "approval_status": registration["status"],
        "approval_reason": registration["reason"],
    }


def _register(
    settings: Settings, run: RunPlan, job: dict[str, Any], params: dict[str, Any], roc_auc: float, test_sha256: str
) -> dict[str, Any]:
    """Register the run's model in its feature set's group, Approved or Rejected against the champion."""
    from bankml.model_registry import Candidate, group_name, register_run

    group = group_name(params["feature_set"])
    candidate = Candidate(
        run_key=run.run_key,
        run_id=run.run_id,
        roc_auc=roc_auc,
        test_sha256=test_sha256,
        data_sha256=params["data_sha256"].lower(),
        image=job["AlgorithmSpecification"]["TrainingImage"],
        model_url=job["ModelArtifacts"]["S3ModelArtifacts"],
        metrics_uri=run.uri("evaluation", "metrics.json"),
    )
    registration = register_run(_sagemaker(settings), group, candidate, min_auc=params["min_auc"],
                                tolerance=params["champion_tolerance"])
    log.log(
        logging.INFO if registration.status == "Approved" else logging.WARNING,
        "Model registry: %s version %d %s%s: %s", group, registration.version, registration.status,
        " (registered by an earlier try)" if registration.registered_before else "", registration.reason,
    )
    if registration.same_test_rows is False:
        log.warning("The champion v%d was measured on other test rows (the data changed): "
                    "the comparison is not like for like", registration.champion_version)
    return {"model_package_group": group, **registration.to_dict()}


def _training_usage(sm: Any, run: RunPlan) -> tuple[str | None, int, float]:
    """Instance type, count and billable seconds summed over the run's training jobs."""
    instance_type, count, seconds = None, 1, 0.0
    for page in sm.get_paginator("list_training_jobs").paginate(NameContains=run.base_name):
        for summary in page["TrainingJobSummaries"]:
            job = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            instance_type = job["ResourceConfig"]["InstanceType"]
            count = job["ResourceConfig"]["InstanceCount"]
            seconds += job.get("BillableTimeInSeconds", 0)
    return instance_type, count, seconds


def _transform_usage(sm: Any, run: RunPlan) -> tuple[str | None, int, float]:
    """Instance type, count and seconds (start to end, or to now while stopping) of the run's transform jobs."""
    instance_type, count, seconds = None, 0, 0.0
    for page in sm.get_paginator("list_transform_jobs").paginate(NameContains=run.base_name):
        for summary in page["TransformJobSummaries"]:
            job = sm.describe_transform_job(TransformJobName=summary["TransformJobName"])
            instance_type = job["TransformResources"]["InstanceType"]
            count = job["TransformResources"]["InstanceCount"]
            if "TransformStartTime" in job:
                end = job.get("TransformEndTime") or datetime.now(timezone.utc)
                seconds += (end - job["TransformStartTime"]).total_seconds()
    return instance_type, count, seconds


def teardown(settings: Settings, plan: dict[str, str]) -> dict[str, Any]:
    """Delete all the run created, wait until the endpoint is gone, and report the cost."""
    from botocore.exceptions import ClientError

    from bankml.cost import estimate_cost
    from bankml.teardown import teardown_run

    run = RunPlan.from_dict(plan)
    sm = _sagemaker(settings)
    report = teardown_run(
        sm, run.base_name, delay=settings.poll_seconds, max_attempts=max(1, settings.endpoint_wait_seconds // settings.poll_seconds)
    )
    log.info("Deleted: %s", ", ".join(report.deleted) or "nothing (nothing of this run existed)")
    if report.stopped_training_jobs:
        log.warning("Stopped training jobs still running: %s", ", ".join(report.stopped_training_jobs))
    if report.stopped_transform_jobs:
        log.warning("Stopped transform jobs still running: %s", ", ".join(report.stopped_transform_jobs))

    instance_type, count, billable = _training_usage(sm, run)
    transform_type, transform_count, transform_seconds = _transform_usage(sm, run)
    cost = estimate_cost(
        training_instance_type=instance_type,
        training_billable_seconds=billable,
        training_instance_count=count,
        endpoint_instance_type=report.endpoint_instance_type,
        endpoint_instance_count=report.endpoint_instance_count,
        endpoint_lifetime_seconds=report.endpoint_lifetime_seconds or 0.0,
        transform_instance_type=transform_type,
        transform_instance_count=transform_count,
        transform_seconds=transform_seconds,
    )
    log.info(cost.summary())
    s3 = _s3(settings)
    cost_doc = cost.to_dict()
    try:
        metrics_key = run.key("evaluation", "metrics.json")
        document = json.loads(s3.get_object(Bucket=run.bucket, Key=metrics_key)["Body"].read())
        document["cost"] = cost_doc
        if cost.endpoint_lifetime_seconds:
            log.info(
                "Endpoint lived %.1f s; evaluation needed %.1f s of it",
                cost.endpoint_lifetime_seconds,
                document.get("evaluation_seconds", 0.0),
            )
        s3.put_object(Bucket=run.bucket, Key=metrics_key, Body=json.dumps(document, indent=2).encode(),
                      ContentType="application/json")
    except ClientError as err:
        log.info("No metrics.json to add the cost to (%s): evaluation did not finish", err.response["Error"]["Code"])
    s3.put_object(Bucket=run.bucket, Key=run.key("evaluation", "cost.json"),
                  Body=json.dumps(cost_doc, indent=2).encode(), ContentType="application/json")
    return {"deleted": report.deleted, "stopped_training_jobs": report.stopped_training_jobs,
            "stopped_transform_jobs": report.stopped_transform_jobs, "cost": cost_doc}


def janitor(settings: Settings, params: dict[str, Any], ti: Any) -> dict[str, Any]:
    """Delete what runs left behind (see bankml.janitor); reports what it kept and deleted."""
    from datetime import timedelta

    from bankml.janitor import find_leftovers, sweep

    def run_state(dag_id: str, run_id: str) -> str | None:
        try:
            return ti.get_dagrun_state(dag_id=dag_id, run_id=run_id)
        except Exception as err:  # a deleted run, or one of another Airflow: not ours to keep
            log.info("No state for run %s of %s (%s)", run_id, dag_id, err)
            return None

    sm = _sagemaker(settings)
    leftovers = find_leftovers(
        sm, run_state=run_state, now=datetime.now(timezone.utc), ttl=timedelta(minutes=params["ttl_minutes"])
    )
    deleted = sweep(
        sm, leftovers, delay=settings.poll_seconds,
        max_attempts=max(1, settings.endpoint_wait_seconds // settings.poll_seconds),
    )
    kept = [x.base_name for x in leftovers if x.reason is None]
    log.info("Janitor: deleted %d resources, kept %d runs' resources", len(deleted), len(kept))
    return {"deleted": deleted, "kept": kept}


def verify_cleanup(settings: Settings, plan: dict[str, str] | None) -> None:
    """Fail, loudly, if anything of the run is still on SageMaker after the teardown."""
    from bankml.teardown import run_resources, running_jobs

    if plan is None:
        log.info("The run made no plan, so it created nothing: nothing to verify")
        return
    run = RunPlan.from_dict(plan)
    sm = _sagemaker(settings)
    left = {kind: names for kind, names in run_resources(sm, run.base_name).items() if names}
    left.update({f"{kind}_jobs": names for kind, names in running_jobs(sm, run.base_name).items()})
    if left:
        raise RuntimeError(
            f"Still on SageMaker after the teardown (billing!): {left}. Clear the 'teardown' task, "
            "or let the bankml_janitor DAG delete them."
        )
    log.info("Verified: nothing of run %s is left on SageMaker", run.run_id)
