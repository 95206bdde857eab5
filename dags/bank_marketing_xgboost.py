"""
### Bank marketing: train, deploy, evaluate and always tear down XGBoost on SageMaker

The AWS tutorial *build, train and deploy a machine learning model with SageMaker* as one
DAG: will a client subscribe to a term deposit (UCI bank-marketing data, CC BY 4.0)?

| task | what it does |
|---|---|
| `plan` (setup) | fixes this run's resource names, S3 prefix and tags; creates nothing |
| `preflight` | checks credentials, bucket, execution role and the region's XGBoost image |
| `download` | fetches the UCI archive, verifies its sha256 (offline: the copy shipped with the project) and stores it in the S3 raw cache `s3://<bucket>/<prefix>/raw/<sha256>.csv.gz` (skipped when there) |
| `prepare` | reads the raw file from S3, validates the schema, builds the feature set, splits deterministically, puts the CSV channels under `s3://<bucket>/<prefix>/<run key>/data/` |
| `training_config`, `train` | `SageMakerTrainingOperator` with the built-in XGBoost image; its CloudWatch log and status changes in the task log |
| `choose_evaluation` | follows Param `evaluation`: `endpoint` (deploy, evaluate) or `transform` (transform, evaluate_transform) |
| `deploy` | model, endpoint config and endpoint, waiting for InService |
| `evaluate` | scores the test set through the endpoint; confusion matrix, metrics, gain/lift, plots to S3; registers the model as a new version of `bankml-<feature_set>` in the Model Registry, Approved or Rejected against the champion (latest Approved, within `champion_tolerance`); then the quality gate `min_auc` |
| `transform` | `SageMakerTransformOperator`: a Batch Transform job scores the test set (no endpoint) |
| `evaluate_transform` | the same metrics, report, plots and quality gate from the transform job's output |
| `teardown` | stops running jobs, deletes the endpoint, its configs and models (runs whatever failed before it) and logs the run's cost |
| `verify_cleanup` | fails the run loudly if anything of it is still on SageMaker (a leftover would keep billing) |

A forgotten endpoint keeps billing, so `teardown` is an Airflow teardown task: it runs when
any task after `plan` fails, and the run still shows the failure. Airflow ignores a
teardown's own state for the run's state (and `on_failure_fail_dagrun` would hide the body's
failures instead), so `verify_cleanup` checks SageMaker after it: leftovers fail the run. The same DAG runs on the
local SageMaker emulator and on AWS: only the `aws_default` connection differs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, TriggerRule, setup, task, teardown

from bankml import tasks
from bankml.dag_params import dag_params, evaluation_path
from bankml.operators import RunEndpointOperator
from bankml.settings import Settings
from bankml.training_operator import TailedTrainingOperator
from bankml.transform_operator import RunTransformOperator

settings = Settings.from_env()

with DAG(
    dag_id="bank_marketing_xgboost",
    description="Train, deploy, evaluate and tear down XGBoost on SageMaker (UCI bank marketing)",
    doc_md=__doc__,
    schedule=settings.schedule,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    params=dag_params(),
    default_args={"retries": settings.task_retries, "retry_delay": timedelta(seconds=settings.retry_delay_seconds)},
    tags=["bankml", "sagemaker", "xgboost"],
) as dag:

    @setup
    @task(retries=0)
    def plan(dag_run=None) -> dict:
        return tasks.plan(settings, dag_run)

    @task
    def preflight(params=None) -> dict:
        return tasks.preflight(settings, params)

    @task
    def download(run_plan: dict, params=None) -> dict:
        return tasks.download(settings, run_plan, params)

    @task
    def prepare(run_plan: dict, raw: dict, params=None) -> dict:
        return tasks.prepare(settings, run_plan, raw, params)

    @task
    def training_config(run_plan: dict, checked: dict, prepared: dict, params=None) -> dict:
        return tasks.training_config(settings, run_plan, checked, prepared, params)

    @task(execution_timeout=timedelta(seconds=settings.evaluate_timeout_seconds))
    def evaluate(run_plan: dict, prepared: dict, training: dict, params=None) -> dict:
        return tasks.evaluate(settings, run_plan, prepared, training, params)

    @task.branch(retries=0)
    def choose_evaluation(params=None) -> str:
        return evaluation_path(params)

    @task
    def evaluate_transform(run_plan: dict, transform: dict, training: dict, params=None) -> dict:
        return tasks.evaluate_transform(settings, run_plan, transform, training, params)

    @teardown
    @task(task_id="teardown")
    def delete_run_resources(run_plan: dict) -> dict:
        return tasks.teardown(settings, run_plan)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def verify_cleanup(ti=None) -> None:
        tasks.verify_cleanup(settings, ti.xcom_pull(task_ids="plan"))

    run_plan = plan()
    checked = preflight()
    raw = download(run_plan)
    run_plan >> checked >> raw
    prepared = prepare(run_plan, raw)

    train = TailedTrainingOperator(
        task_id="train",
        config=training_config(run_plan, checked, prepared),
        aws_conn_id=settings.aws_conn_id,
        check_interval=settings.poll_seconds,
        describe_interval=settings.training_describe_seconds,
    )
    deploy = RunEndpointOperator(
        task_id="deploy",
        plan=run_plan,
        training=train.output,
        role_arn=settings.role_arn,
        instance_type="{{ params.endpoint_instance_type }}",
        aws_conn_id=settings.aws_conn_id,
        wait=settings.endpoint_wait(),
    )
    transform = RunTransformOperator(
        task_id="transform",
        plan=run_plan,
        training=train.output,
        prepared=prepared,
        role_arn=settings.role_arn,
        instance_type="{{ params.endpoint_instance_type }}",
        aws_conn_id=settings.aws_conn_id,
        check_interval=settings.poll_seconds,
        wait_seconds=settings.evaluate_timeout_seconds,
    )
    evaluation = evaluate(run_plan, prepared, train.output)
    transform_evaluation = evaluate_transform(run_plan, transform.output, train.output)
    cleanup = delete_run_resources(run_plan).as_teardown(setups=run_plan)
    train >> choose_evaluation() >> [deploy, transform]
    deploy >> evaluation
    [evaluation, transform_evaluation] >> cleanup >> verify_cleanup()
