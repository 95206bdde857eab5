"""
### bankml janitor: delete SageMaker resources that runs left behind

Teardown tasks delete a run's endpoint whatever failed, but not when the worker itself dies.
Every resource the pipeline creates is tagged `project=bankml`, `dag_id`, `run_id` and
`created_at`; this DAG deletes a run's endpoint, endpoint configs and models when that run
is no longer running, or when they are older than `ttl_minutes` even if it is.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from airflow.sdk import DAG, Param, task

from bankml.settings import Settings

settings = Settings.from_env()

with DAG(
    dag_id="bankml_janitor",
    description="Delete SageMaker endpoints, configs and models that bankml runs left behind",
    doc_md=__doc__,
    schedule=os.environ.get("BANKML_JANITOR_SCHEDULE", "*/15 * * * *"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    params={
        "ttl_minutes": Param(
            240,
            type="integer",
            minimum=0,
            title="Delete resources older than this even when their run still looks alive",
        )
    },
    tags=["bankml", "sagemaker", "cost"],
) as dag:

    @task(retries=0)
    def sweep(params=None, ti=None) -> dict:
        from bankml.janitor import sweep_task  # botocore and the teardown: not at parse time

        return sweep_task(settings, params, ti)

    sweep()
