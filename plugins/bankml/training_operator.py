"""SageMakerTrainingOperator that tails the CloudWatch log and re-describes the job as often as asked.

The provider's print_log path re-describes the job only every 30 s (a constant in
`SageMakerHook.describe_training_job_with_log`), so a 3 s job holds its task for 30 s, and
a status change shows up in the log that late. Here the provider still creates the job
(config preprocessing, unique names on retry); the wait is our own loop over the hook's
public methods: new log events every `check_interval` seconds, a DescribeTrainingJob
every `describe_interval` seconds, the same status messages the provider prints.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.providers.amazon.aws.hooks.sagemaker import (
    Position,
    SageMakerHook,
    secondary_training_status_changed,
    secondary_training_status_message,
)
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator

from bankml.settings import MIN_POLL_SECONDS

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class TrainingJobFailed(RuntimeError):
    """The job ended Failed or Stopped; the message carries SageMaker's FailureReason."""


class TailedTrainingOperator(SageMakerTrainingOperator):
    """Creates the training job, then follows its status and its CloudWatch log into the task log."""

    def __init__(self, *, describe_interval: float, **kwargs: Any) -> None:
        if describe_interval < MIN_POLL_SECONDS:
            raise ValueError(f"describe_interval must be at least {MIN_POLL_SECONDS} s, got {describe_interval}")
        super().__init__(wait_for_completion=False, print_log=False, deferrable=False, **kwargs)
        self.describe_interval = describe_interval

    def execute(self, context: Any) -> dict:
        super().execute(context)  # creates the job; returns at once since we wait ourselves
        name = self.config["TrainingJobName"]
        description = self.follow(name)
        status = description["TrainingJobStatus"]
        if status in self.hook.failed_states:
            reason = description.get("FailureReason", "(no FailureReason given)")
            raise TrainingJobFailed(f"Training job {name} is {status}: {reason}")
        billable = SageMakerHook.count_billable_seconds(
            training_start_time=description["TrainingStartTime"],
            training_end_time=description["TrainingEndTime"],
            instance_count=description["ResourceConfig"]["InstanceCount"],
        )
        self.log.info("Training job %s %s; billable seconds: %d", name, status, billable)
        return self.serialize_result(name)

    def follow(self, name: str) -> dict:
        """Tail the job's log streams until it is terminal, then read what came after; its last description."""
        description = self.hook.describe_training_job(name)
        self.log.info(secondary_training_status_message(description, None))
        instances = description["ResourceConfig"]["InstanceCount"]
        positions: dict[str, Position] = {}
        deadline = time.monotonic() + self.max_ingestion_time if self.max_ingestion_time else None
        last_describe = time.monotonic()
        while description["TrainingJobStatus"] in self.hook.non_terminal_states:
            time.sleep(self.check_interval)
            self._print_new_events(name, instances, positions)
            if time.monotonic() - last_describe >= self.describe_interval:
                current = self.hook.describe_training_job(name)
                last_describe = time.monotonic()
                if secondary_training_status_changed(current, description):
                    self.log.info(secondary_training_status_message(current, description))
                description = current
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"Training job {name} took more than {self.max_ingestion_time} s")
        self._print_new_events(name, instances, positions)  # lines written just before the job ended
        return description

    def _print_new_events(self, name: str, instances: int, positions: dict[str, Position]) -> None:
        if len(positions) < instances:
            positions.update(
                (stream, Position(0, 0)) for stream in self._streams(name, instances) if stream not in positions
            )
        if not positions:
            return
        streams = sorted(positions)
        for index, event in self.hook.multi_stream_iter(LOG_GROUP, streams, positions):
            self.log.info(event["message"])
            stream = streams[index]
            timestamp, skip = positions[stream]
            same = event["timestamp"] == timestamp
            positions[stream] = Position(event["timestamp"], skip + 1 if same else 1)

    def _streams(self, name: str, instances: int) -> list[str]:
        """Streams appear as containers start writing; none yet (or no log group) is normal."""
        logs = self.hook.logs_hook.get_conn()
        try:
            found = logs.describe_log_streams(
                logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/", orderBy="LogStreamName", limit=instances
            )
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [stream["logStreamName"] for stream in found["logStreams"]]
