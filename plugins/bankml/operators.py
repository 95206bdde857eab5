"""SageMakerEndpointOperator made safe to retry and to clear within one DAG run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerEndpointOperator
from botocore.exceptions import WaiterError

from bankml.run_plan import RunPlan
from bankml.sagemaker_config import endpoint_config
from bankml.settings import Wait
from bankml.teardown import TeardownReport, delete_endpoint, is_absent

log = logging.getLogger(__name__)
TRANSITIONAL = {"Creating", "Updating", "SystemUpdating", "RollingBack"}


class RunEndpointOperator(SageMakerEndpointOperator):
    """Deploys the run's trained model to the run's one endpoint.

    The provider's operator creates the Model and EndpointConfig unconditionally and falls
    back to UpdateEndpoint when the endpoint exists. That breaks on a retry: the model name
    is taken, and a Failed endpoint cannot be updated. Here each try gets its own model and
    endpoint config (the try number is in their names), and an endpoint left Failed (or
    stuck) by an earlier try is deleted first; a healthy one is updated in place. The
    teardown deletes the models and configs of every try.

    `wait` (Settings.endpoint_wait) bounds the wait for InService. The provider's `max_ingestion_time`
    (documented as seconds) is passed to the waiter as its attempt count, so 1800 meant
    1800 polls, 15 hours at 30 s; here it is the wait's attempt count, derived from seconds.
    """

    template_fields: Sequence[str] = (
        *SageMakerEndpointOperator.template_fields,
        "plan",
        "training",
        "role_arn",
        "instance_type",
    )

    def __init__(
        self,
        *,
        plan: Any,
        training: Any,
        role_arn: str,
        instance_type: str,
        wait: Wait,
        instance_count: int = 1,
        **kwargs: Any,
    ) -> None:
        if "max_ingestion_time" in kwargs or "check_interval" in kwargs:
            raise TypeError("RunEndpointOperator takes wait (a Wait), not max_ingestion_time or check_interval")
        super().__init__(config={}, check_interval=wait.delay, max_ingestion_time=wait.max_attempts, **kwargs)
        self.wait = wait
        self.plan = plan
        self.training = training
        self.role_arn = role_arn
        self.instance_type = instance_type
        self.instance_count = instance_count

    def execute(self, context: Any) -> dict:
        plan = RunPlan.from_dict(self.plan)
        job = self.training["Training"]
        self.config = endpoint_config(
            plan,
            try_number=context["ti"].try_number,
            image_uri=job["AlgorithmSpecification"]["TrainingImage"],
            model_data_url=job["ModelArtifacts"]["S3ModelArtifacts"],
            role_arn=self.role_arn,
            instance_type=self.instance_type,
            instance_count=self.instance_count,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._remove_unusable_endpoint(plan.endpoint_name)
        try:
            return super().execute(context)
        except WaiterError as err:
            raise RuntimeError(self._failure(plan.endpoint_name, err)) from err

    def _failure(self, name: str, err: Exception) -> str:
        """The waiter only says 'Failed'; the endpoint's FailureReason says why."""
        try:
            described = self.hook.conn.describe_endpoint(EndpointName=name)
        except Exception:  # the reason is a nicety: never mask the original failure
            return f"Endpoint {name} did not reach InService: {err}"
        reason = described.get("FailureReason", "no FailureReason given")
        return f"Endpoint {name} is {described['EndpointStatus']}: {reason}"

    def _remove_unusable_endpoint(self, name: str) -> None:
        from botocore.exceptions import ClientError

        sm = self.hook.conn
        try:
            status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
            if status in TRANSITIONAL:
                log.info("Endpoint %s is %s from an earlier try: waiting for it to settle", name, status)
                try:
                    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig=self.wait.waiter_config())
                except WaiterError:
                    pass
                status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        except ClientError as err:
            if is_absent(err):
                return
            raise
        if status == "InService":
            log.info("Endpoint %s is InService from an earlier try: it will be updated", name)
            return
        log.warning("Endpoint %s is %s from an earlier try: deleting it first", name, status)
        delete_endpoint(sm, name, TeardownReport(), self.wait)
