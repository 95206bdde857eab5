"""SageMakerTransformOperator for the run's evaluation by Batch Transform (Param evaluation=transform)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTransformOperator

from bankml.run_plan import RunPlan
from bankml.sagemaker_config import transform_job_config
from bankml.settings import MIN_POLL_SECONDS


class RunTransformOperator(SageMakerTransformOperator):
    """Scores the run's labelled test channel with a transform job of the run's trained model.

    Like the deploy, each try creates its own model (the try number is in its name), so the teardown
    finds every one by the run's base name; a job name taken by an earlier try gets the provider's
    "-<epoch>" suffix. The job keeps only "label,score" per row (see TRANSFORM_DATA_PROCESSING).
    `wait_seconds` bounds the wait for the job (the provider's max_ingestion_time, in seconds).
    """

    template_fields: Sequence[str] = (
        *SageMakerTransformOperator.template_fields,
        "plan",
        "training",
        "prepared",
        "role_arn",
        "instance_type",
    )

    def __init__(
        self,
        *,
        plan: Any,
        training: Any,
        prepared: Any,
        role_arn: str,
        instance_type: str,
        wait_seconds: int = 3600,
        check_interval: float = 30,
        **kwargs: Any,
    ) -> None:
        if wait_seconds < 1 or check_interval < MIN_POLL_SECONDS:
            raise ValueError(
                f"wait_seconds must be >= 1 and check_interval >= {MIN_POLL_SECONDS}, got {wait_seconds} and {check_interval}"
            )
        super().__init__(config={}, check_interval=check_interval, max_ingestion_time=wait_seconds, **kwargs)
        self.plan = plan
        self.training = training
        self.prepared = prepared
        self.role_arn = role_arn
        self.instance_type = instance_type

    def execute(self, context: Any) -> dict:
        job = self.training["Training"]
        self.config = transform_job_config(
            RunPlan.from_dict(self.plan),
            try_number=context["ti"].try_number,
            image_uri=job["AlgorithmSpecification"]["TrainingImage"],
            model_data_url=job["ModelArtifacts"]["S3ModelArtifacts"],
            role_arn=self.role_arn,
            instance_type=self.instance_type,
            test_uri=self.prepared["channels"]["test"]["uri"],
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return super().execute(context)
