"""The DAG's task bodies: Airflow context in, plain library calls, small XCom values out.

Each function takes what it needs explicitly, imports heavy libraries lazily (the DAG file
imports this module at parse time) and logs what a person reading the task log wants to
see. Clients come from Airflow's AWS connection, so the same code talks to the emulator or
to AWS depending only on that connection.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bankml.run_plan import RunPlan, plan_run
from bankml.settings import Settings

log = logging.getLogger(__name__)

CHANNEL_CONTENT = "text/csv"


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


def download(settings: Settings, params: dict[str, Any]) -> dict[str, str]:
    """Fetch and verify the UCI archive (or the shipped copy when offline)."""
    from bankml.data.source import fetch_raw_dataset

    raw = fetch_raw_dataset(
        params["data_url"], settings.cache_dir / "raw", expected_sha256=params["data_sha256"]
    )
    # The shipped copy is the same file, but a URL that does not answer is worth a person's look.
    log.log(logging.WARNING if raw.origin == "shipped" else logging.INFO, raw.message)
    return {"path": str(raw.path), "sha256": raw.sha256, "origin": raw.origin}


def staging_dir(settings: Settings, plan: RunPlan) -> Path:
    return settings.cache_dir / "runs" / plan.run_key


def prepare(
    settings: Settings, plan: dict[str, str], raw: dict[str, str], params: dict[str, Any]
) -> dict[str, Any]:
    """Validate the schema, build the feature set, split, and stage the CSV channels."""
    from bankml.data.channels import write_channels
    from bankml.data.features import build_model_frame
    from bankml.data.schema import read_raw
    from bankml.data.split import split_model_frame

    run = RunPlan.from_dict(plan)
    model_frame = build_model_frame(read_raw(Path(raw["path"])), params["feature_set"])  # validates the schema
    splits = split_model_frame(model_frame, params["feature_set"])
    files = write_channels(splits, staging_dir(settings, run))
    features = [c for c in model_frame.columns if c != "y"]
    log.info(
        "Feature set %s: %d features; rows %s",
        params["feature_set"],
        len(features),
        ", ".join(f"{name} {f.rows:,}" for name, f in files.items()),
    )
    return {
        "feature_set": params["feature_set"],
        "features": features,
        "channels": {
            name: {"path": str(f.path), "rows": f.rows, "sha256": f.sha256} for name, f in files.items()
        },
    }


def upload(settings: Settings, plan: dict[str, str], prepared: dict[str, Any]) -> dict[str, str]:
    """Put each channel under the run's own prefix; a retry re-puts identical bytes."""
    import hashlib

    run = RunPlan.from_dict(plan)
    s3 = _s3(settings)
    uploaded: dict[str, str] = {}
    for name, channel in prepared["channels"].items():
        path = Path(channel["path"])
        if not path.exists():
            raise FileNotFoundError(
                f"staged channel {path} is gone (another worker, or a cleaned cache): clear 'prepare' "
                "so that it runs again with this task"
            )
        body = path.read_bytes()
        if hashlib.sha256(body).hexdigest() != channel["sha256"]:
            raise ValueError(f"staged channel {path} changed since 'prepare': clear 'prepare' and rerun")
        key = run.key("data", name, path.name)
        s3.put_object(
            Bucket=run.bucket,
            Key=key,
            Body=body,
            ContentType=CHANNEL_CONTENT,
            Metadata={"sha256": channel["sha256"], "rows": str(channel["rows"])},
        )
        uploaded[name] = run.uri("data", name) + "/"
        log.info("Uploaded %s (%d rows, %.1f MB) to s3://%s/%s", name, channel["rows"], len(body) / 1e6, run.bucket, key)
    return uploaded


def training_config(
    settings: Settings, plan: dict[str, str], uploaded: dict[str, str], params: dict[str, Any]
) -> dict[str, Any]:
    """CreateTrainingJob request for SageMakerTrainingOperator (train and validation only)."""
    from bankml.sagemaker_config import effective_hyperparameters, training_job_config

    run = RunPlan.from_dict(plan)
    channels = {name: uri for name, uri in uploaded.items() if name in ("train", "validation")}
    hyperparameters = effective_hyperparameters(params["hyperparameters"])
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
    uploaded: dict[str, str],
    training: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    """Score the test set through the endpoint, save metrics and plots, then apply the gate."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from botocore.config import Config

    from bankml.evaluation.endpoint_scoring import endpoint_invoker, score, split_labelled_csv
    from bankml.evaluation.metrics import compute_metrics
    from bankml.evaluation.plots import confusion_matrix_png, gain_chart_png, roc_curve_png
    from bankml.evaluation.report import confusion_report, gain_report

    # Stop scoring before the task's execution_timeout, leaving time to report; the timeout itself also
    # cancels what is queued (score() never waits for the queue).
    deadline = time.monotonic() + settings.evaluate_timeout_seconds - min(60, settings.evaluate_timeout_seconds // 10)
    run = RunPlan.from_dict(plan)
    s3 = _s3(settings)
    test_csv = _read_test_set(s3, uploaded["test"])
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
    metrics = compute_metrics(rows.labels, scores)
    log.info("Evaluation of %s\n%s", run.endpoint_name, confusion_report(metrics))
    log.info("Business view\n%s", gain_report(metrics))
    job = training["Training"]
    registration = _register(settings, run, job, params, metrics["roc_auc"], test_csv)
    document = {
        "run_id": run.run_id,
        "run_key": run.run_key,
        "feature_set": params["feature_set"],
        "xgboost_version": params["xgboost_version"],
        "hyperparameters": job.get("HyperParameters", {}),
        "training_job": job["TrainingJobName"],
        "training_final_metrics": {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList", [])},
        "endpoint": run.endpoint_name,
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
        "roc_curve.png": (roc_curve_png(rows.labels, scores), "image/png"),
        "gain_chart.png": (gain_chart_png(rows.labels, scores), "image/png"),
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
    settings: Settings, run: RunPlan, job: dict[str, Any], params: dict[str, Any], roc_auc: float, test_csv: bytes
) -> dict[str, Any]:
    """Register the run's model in its feature set's group, Approved or Rejected against the champion."""
    import hashlib

    from bankml.model_registry import Candidate, group_name, register_run

    group = group_name(params["feature_set"])
    candidate = Candidate(
        run_key=run.run_key,
        run_id=run.run_id,
        roc_auc=roc_auc,
        test_sha256=hashlib.sha256(test_csv).hexdigest(),
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

    instance_type, count, billable = _training_usage(sm, run)
    cost = estimate_cost(
        training_instance_type=instance_type,
        training_billable_seconds=billable,
        training_instance_count=count,
        endpoint_instance_type=report.endpoint_instance_type,
        endpoint_instance_count=report.endpoint_instance_count,
        endpoint_lifetime_seconds=report.endpoint_lifetime_seconds or 0.0,
    )
    log.info(cost.summary())
    s3 = _s3(settings)
    cost_doc = cost.to_dict()
    try:
        metrics_key = run.key("evaluation", "metrics.json")
        document = json.loads(s3.get_object(Bucket=run.bucket, Key=metrics_key)["Body"].read())
        document["cost"] = cost_doc
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
    return {"deleted": report.deleted, "stopped_training_jobs": report.stopped_training_jobs, "cost": cost_doc}


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
    from bankml.teardown import run_resources

    if plan is None:
        log.info("The run made no plan, so it created nothing: nothing to verify")
        return
    run = RunPlan.from_dict(plan)
    sm = _sagemaker(settings)
    left = {kind: names for kind, names in run_resources(sm, run.base_name).items() if names}
    running = [
        job["TrainingJobName"]
        for page in sm.get_paginator("list_training_jobs").paginate(NameContains=run.base_name)
        for job in page["TrainingJobSummaries"]
        if job["TrainingJobStatus"] in ("InProgress", "Stopping")
    ]
    if running:
        left["training_jobs"] = running
    if left:
        raise RuntimeError(
            f"Still on SageMaker after the teardown (billing!): {left}. Clear the 'teardown' task, "
            "or let the bankml_janitor DAG delete them."
        )
    log.info("Verified: nothing of run %s is left on SageMaker", run.run_id)
