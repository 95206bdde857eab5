"""
### Bank marketing: train, deploy, evaluate and always tear down XGBoost on SageMaker

The AWS tutorial *build, train and deploy a machine learning model with SageMaker* as one
DAG: will a client subscribe to a term deposit (UCI bank-marketing data, CC BY 4.0)?

| task | what it does |
|---|---|
| `plan` (setup) | fixes this run's resource names, S3 prefix and tags; creates nothing |
| `preflight` | checks credentials, bucket, execution role and the region's XGBoost image |
| `download` | fetches the UCI archive and verifies its sha256 (offline: the copy shipped with the project) |
| `prepare` | validates the schema, builds the feature set, splits deterministically, writes CSV channels |
| `upload` | puts the channels under `s3://<bucket>/<prefix>/<run key>/data/` |
| `training_config`, `train` | `SageMakerTrainingOperator` with the built-in XGBoost image; its CloudWatch log and status changes in the task log |
| `deploy` | model, endpoint config and endpoint, waiting for InService |
| `evaluate` | scores the test set through the endpoint; confusion matrix, metrics, gain/lift, plots to S3; registers the model as a new version of `bankml-<feature_set>` in the Model Registry, Approved or Rejected against the champion (latest Approved, within `champion_tolerance`); then the quality gate `min_auc` |
| `teardown` | deletes the endpoint, its configs and models (runs whatever failed before it) and logs the run's cost |
| `verify_cleanup` | fails the run loudly if anything of it is still on SageMaker (a leftover would keep billing) |

A forgotten endpoint keeps billing, so `teardown` is an Airflow teardown task: it runs when
any task after `plan` fails, and the run still shows the failure. Airflow ignores a
teardown's own state for the run's state (and `on_failure_fail_dagrun` would hide the body's
failures instead), so `verify_cleanup` checks SageMaker after it: leftovers fail the run. The same DAG runs on the
local SageMaker emulator and on AWS: only the `aws_default` connection differs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, TriggerRule, setup, task, teardown

from bankml import tasks
from bankml.dag_params import dag_params
from bankml.operators import RunEndpointOperator
from bankml.settings import Settings
from bankml.training_operator import TailedTrainingOperator

settings = Settings.from_env()

with DAG(
    dag_id="bank_marketing_xgboost",
    description="Train, deploy, evaluate and tear down XGBoost on SageMaker (UCI bank marketing)",
    doc_md=__doc__,
    schedule=settings.schedule,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
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
    def preflight(params=None) -> None:
        tasks.preflight(settings, params)

    @task
    def download(params=None) -> dict:
        return tasks.download(settings, params)

    @task
    def prepare(run_plan: dict, raw: dict, params=None) -> dict:
        return tasks.prepare(settings, run_plan, raw, params)

    @task
    def upload(run_plan: dict, prepared: dict) -> dict:
        return tasks.upload(settings, run_plan, prepared)

    @task
    def training_config(run_plan: dict, uploaded: dict, params=None) -> dict:
        return tasks.training_config(settings, run_plan, uploaded, params)

    @task(execution_timeout=timedelta(seconds=settings.evaluate_timeout_seconds))
    def evaluate(run_plan: dict, uploaded: dict, training: dict, params=None) -> dict:
        return tasks.evaluate(settings, run_plan, uploaded, training, params)

    @teardown
    @task(task_id="teardown")
    def delete_run_resources(run_plan: dict) -> dict:
        return tasks.teardown(settings, run_plan)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def verify_cleanup(ti=None) -> None:
        tasks.verify_cleanup(settings, ti.xcom_pull(task_ids="plan"))

    run_plan = plan()
    raw = download()
    run_plan >> preflight() >> raw
    uploaded = upload(run_plan, prepare(run_plan, raw))

    train = TailedTrainingOperator(
        task_id="train",
        config=training_config(run_plan, uploaded),
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
        check_interval=settings.poll_seconds,
        wait_seconds=settings.endpoint_wait_seconds,
    )
    evaluation = evaluate(run_plan, uploaded, train.output)
    cleanup = delete_run_resources(run_plan).as_teardown(setups=run_plan)
    train >> deploy >> evaluation >> cleanup >> verify_cleanup()
