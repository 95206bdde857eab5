"""Batch Transform: Create/Describe/List/StopTransformJob, each job scoring S3 objects on its own thread.

A job plays the platform around the model's serving container: it loads the model like an endpoint
(ModelDataUrl fetched, extracted, loaded into the container's ScoringService), reads every object
under the input prefix, cuts it into requests (batch_records.py), sends them to the container's
/invocations with up to MaxConcurrentTransforms in flight, and writes `<S3OutputPath>/<key>.out`.
Unset BatchStrategy, MaxPayloadInMB and MaxConcurrentTransforms come from the container's
/execution-parameters, as the service does. Logs go to /aws/sagemaker/TransformJobs: the container's
stream `<job>/<instance>` and per-object errors on `<job>/<instance>/data-log`.
States: InProgress -> Completed | Failed | Stopping -> Stopped.
"""

from __future__ import annotations

import gzip
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..aws_clients import client, key_below_prefix, object_keys, split_s3_uri
from ..xgboost_container.errors import ModelLoadError, UnsupportedImageError
from ..xgboost_container.versions import resolve_image
from .batch_records import (
    MIB,
    FilterSyntaxError,
    JsonPath,
    RecordError,
    answer_records,
    batches,
    is_csv,
    join,
    parse_record,
    render_record,
    split_records,
)
from .errors import validation_error
from .hosting import DeploymentFailure, fetch_model_data
from .job_logs import CloudWatchLog
from .jobs import BackgroundJob, JobFailure, JobHost, JobRun, JobTable

if TYPE_CHECKING:  # it imports xgboost: preloaded after the start (hosting.preload_serving), else by the first job
    from ..xgboost_container.serving import ScoringService

TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
MAX_PAYLOAD_LIMIT_MB = 100  # the service's upper bound for MaxPayloadInMB
SUPPORTED_SPLIT_TYPES = ("None", "Line")
SUPPORTED_COMPRESSION = ("None", "Gzip")


@dataclass
class TransformJob(BackgroundJob):
    noun = "TransformJob"
    kind = "transform-job"

    def describe(self) -> dict[str, Any]:
        result = super().describe()
        if self.failure_reason:
            result["FailureReason"] = self.failure_reason
        if self.start_time is not None:
            result["TransformStartTime"] = self.start_time
        if self.end_time is not None:
            result["TransformEndTime"] = self.end_time
        return result

    def summary(self) -> dict[str, Any]:
        result = super().summary()
        if self.end_time is not None:
            result["TransformEndTime"] = self.end_time
        if self.failure_reason:
            result["FailureReason"] = self.failure_reason
        return result


def _with_defaults(params: dict[str, Any]) -> dict[str, Any]:
    """The request as DescribeTransformJob shows it: unset members filled like the service fills them."""
    from ..xgboost_container.serving import execution_parameters

    defaults = execution_parameters()
    request = {
        "BatchStrategy": defaults["BatchStrategy"],
        "MaxPayloadInMB": defaults["MaxPayloadInMB"],
        "MaxConcurrentTransforms": defaults["MaxConcurrentTransforms"],
        **params,
    }
    request["TransformInput"] = {"CompressionType": "None", "SplitType": "None", **params["TransformInput"]}
    request["TransformOutput"] = {"AssembleWith": "None", **params["TransformOutput"]}
    request["DataProcessing"] = {
        "InputFilter": "$",
        "OutputFilter": "$",
        "JoinSource": "None",
        **params.get("DataProcessing", {}),
    }
    return request


def _check_request(request: dict[str, Any]) -> None:
    """Service-side rules the model cannot express, and what this emulator cannot honour, as ValidationExceptions."""
    source = request["TransformInput"]["DataSource"]["S3DataSource"]
    if source["S3DataType"] != "S3Prefix":
        raise validation_error(
            f"S3DataType {source['S3DataType']} is not supported by sagemaker-emulator; supported: S3Prefix."
        )
    for name, uri in (
        ("TransformInput.DataSource.S3DataSource.S3Uri", source["S3Uri"]),
        ("TransformOutput.S3OutputPath", request["TransformOutput"]["S3OutputPath"]),
    ):
        if not uri.startswith("s3://"):
            raise validation_error(f"{name} must be an s3:// URL, got {uri!r}.")
    split = request["TransformInput"]["SplitType"]
    if split not in SUPPORTED_SPLIT_TYPES:
        raise validation_error(
            f"SplitType {split} is not supported by sagemaker-emulator; supported: {', '.join(SUPPORTED_SPLIT_TYPES)}."
        )
    payload = request["MaxPayloadInMB"]
    if payload > MAX_PAYLOAD_LIMIT_MB:
        raise validation_error(f"MaxPayloadInMB must be at most {MAX_PAYLOAD_LIMIT_MB}, got {payload}.")
    if payload == 0:
        raise validation_error(
            "MaxPayloadInMB 0 (streaming) is not supported by sagemaker-emulator or the XGBoost container; give 1 to 100."
        )
    if request["MaxConcurrentTransforms"] < 1:
        raise validation_error("MaxConcurrentTransforms must be at least 1.")
    processing = request["DataProcessing"]
    for member in ("InputFilter", "OutputFilter"):
        try:
            JsonPath.parse(processing[member])
        except FilterSyntaxError as error:
            raise validation_error(f"DataProcessing.{member}: {error}.") from None
    needs_records = (
        processing["JoinSource"] == "Input" or processing["InputFilter"] != "$" or processing["OutputFilter"] != "$"
    )
    if needs_records and split != "Line":
        raise validation_error(
            "DataProcessing filters and JoinSource=Input need records: set TransformInput.SplitType to Line."
        )


class TransformJobs(JobTable[TransformJob]):
    """The transform jobs of the emulated account."""

    job_type = TransformJob

    def _checked(self, params: dict[str, Any]) -> dict[str, Any]:
        request = _with_defaults(params)
        _check_request(request)
        return request

    def _admit(self, job: TransformJob) -> Callable[[threading.Event], TransformRun]:
        """A job of a missing model is refused; an armed fault is the next stored job's."""
        host = self.host
        model = host.find_model(job.request["ModelName"]).request
        return lambda stop: TransformRun(host, job, model, stop, host.take_transform_failure(), self.owns)


class TransformRun(JobRun[TransformJob]):
    """One job's work; a job told to stop ends Stopped, whatever its work ended with."""

    stop_wins = True

    def __init__(
        self,
        host: JobHost,
        job: TransformJob,
        model: dict[str, Any],
        stop: threading.Event,
        injected_failure: str | None,
        is_current: Callable[[TransformJob], bool],
    ) -> None:
        super().__init__(host, job, stop, is_current)
        self.model = model
        self.injected_failure = injected_failure
        instance = f"i-{secrets.token_hex(8)}-{int(time.time())}"
        self.stream = f"{job.name}/{instance}"
        self._logs: dict[str, CloudWatchLog] = {}

    def _clean_up(self) -> None:
        for stream in self._logs.values():
            self._quietly(stream.close)

    def _log(self, line: str, data_log: bool = False) -> None:
        """Best effort: a logging failure must never fail the job."""
        stream = f"{self.stream}/data-log" if data_log else self.stream
        try:
            if stream not in self._logs:
                logs = client("logs", self.settings.internal_url, self.settings.region)
                self._logs[stream] = CloudWatchLog(logs, TRANSFORM_LOG_GROUP, stream)
            self._logs[stream].write(line)
        except (BotoCoreError, ClientError):
            pass

    @staticmethod
    def _quietly(action: Any) -> None:
        try:
            action()
        except (BotoCoreError, ClientError):
            pass

    def _run(self) -> str:
        if self.stop.wait(self.settings.delays.step_seconds):
            return "Stopped"
        with self.host.lock:
            self.job.started()
        if self.injected_failure is not None:
            raise JobFailure(self.injected_failure)
        s3 = client("s3", self.settings.internal_url, self.settings.region)
        service = self._load_model()
        self._check_output_bucket(s3)
        keys, prefix, bucket = self._input_objects(s3)
        self._log(f"Loaded model into {self._container()['Image']}; transforming {len(keys)} object(s)")
        with ThreadPoolExecutor(
            max_workers=self.request["MaxConcurrentTransforms"], thread_name_prefix=f"transform-{self.job.name}"
        ) as pool:
            for key in keys:
                if self.stop.is_set():
                    return "Stopped"
                self._transform_object(s3, pool, service, bucket, key, key_below_prefix(key, prefix))
        return "Completed"

    def _container(self) -> dict[str, Any]:
        return self.model.get("PrimaryContainer") or self.model["Containers"][0]

    def _load_model(self) -> ScoringService:
        container = self._container()
        try:
            version = resolve_image(container["Image"])
        except UnsupportedImageError as error:
            raise JobFailure(
                f"ClientError: Image {container['Image']} of model {self.model['ModelName']} "
                f"cannot run a transform job: {error}"
            ) from None
        with tempfile.TemporaryDirectory(prefix="transform-", dir=self.host.workdir) as tmp:
            try:
                if container.get("ModelDataUrl"):
                    fetch_model_data(container["ModelDataUrl"], Path(tmp), self.settings)
                from ..xgboost_container.serving import ScoringService

                return ScoringService.from_model_dir(Path(tmp), version)
            except DeploymentFailure as error:
                raise JobFailure(f"ClientError: {error}") from None
            except ModelLoadError as error:
                self._log(f"Failed to load the model: {error}")
                raise JobFailure(
                    "ClientError: The model container did not pass the ping health check. "
                    "See job logs for more information."
                ) from None

    def _check_output_bucket(self, s3: Any) -> None:
        output = self.request["TransformOutput"]["S3OutputPath"]
        bucket, _ = split_s3_uri(output)
        try:
            s3.head_bucket(Bucket=bucket)
        except (BotoCoreError, ClientError) as error:
            raise JobFailure(f"ClientError: Cannot write to S3OutputPath {output}: {error}") from None

    def _input_objects(self, s3: Any) -> tuple[list[str], str, str]:
        """Every object under the S3Prefix (keys, the prefix, the bucket)."""
        uri = self.request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = split_s3_uri(uri)
        keys = object_keys(s3, bucket, prefix)
        if not keys:
            raise JobFailure(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. '
                f"Please ensure that the bucket exists in the selected region ({self.settings.region}) "
                "and that objects exist under that S3 prefix."
            )
        return sorted(keys), prefix, bucket

    def _transform_object(
        self, s3: Any, pool: ThreadPoolExecutor, service: ScoringService, bucket: str, key: str, relative: str
    ) -> None:
        source = self.request["TransformInput"]
        output = self.request["TransformOutput"]
        processing = self.request["DataProcessing"]
        content_type, accept = source.get("ContentType"), output.get("Accept")
        try:
            data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            if source["CompressionType"] == "Gzip":
                data = gzip.decompress(data)
        except (BotoCoreError, ClientError, OSError, EOFError) as error:
            raise JobFailure(f'ClientError: Could not read input object "s3://{bucket}/{key}": {error}') from None
        try:
            records = split_records(data, source["SplitType"])
            input_filter = JsonPath.parse(processing["InputFilter"])
            sent = (
                records
                if input_filter.identity
                else [render_record(input_filter.apply(parse_record(r, content_type)), content_type) for r in records]
            )
            groups = list(batches(sent, self.request["BatchStrategy"], self.request["MaxPayloadInMB"] * MIB))
        except RecordError as error:
            self._log(f"{bucket}/{key}: ClientError: {error}", data_log=True)
            raise JobFailure(
                f"ClientError: {error} (object s3://{bucket}/{key}). See job logs for more information."
            ) from None
        futures = [pool.submit(self._invoke, service, b"\n".join(group), content_type, accept) for group in groups]
        answers = []
        for future in futures:
            if self.stop.is_set():
                for pending in futures:
                    pending.cancel()
                return
            status, body = future.result()
            if status >= 400:
                self._log(
                    f"{bucket}/{key}: {'ClientError' if status < 500 else 'ServerError'}: {status}", data_log=True
                )
                self._log(f"{bucket}/{key}: {body.decode('utf-8', errors='replace')[:2000]}", data_log=True)
                kind = "ClientError" if status < 500 else "AlgorithmError"
                raise JobFailure(f"{kind}: See job logs for more information")
            answers.append(body)
        body = self._assemble(records, groups, answers, accept or "text/csv")
        destination_bucket, prefix = split_s3_uri(output["S3OutputPath"])
        destination = f"{prefix.rstrip('/')}/{relative}.out" if prefix.rstrip("/") else f"{relative}.out"
        try:
            s3.put_object(Bucket=destination_bucket, Key=destination, Body=body)
        except (BotoCoreError, ClientError) as error:
            raise JobFailure(
                f"ClientError: Failed to upload s3://{destination_bucket}/{destination}: {error}"
            ) from None

    @staticmethod
    def _invoke(
        service: ScoringService, payload: bytes, content_type: str | None, accept: str | None
    ) -> tuple[int, bytes]:
        result = service.invoke(payload, content_type, accept)
        return result.status, result.body

    def _assemble(self, records: list[bytes], groups: list[list[bytes]], answers: list[bytes], accept: str) -> bytes:
        """The object's output: answers concatenated (None) or one record a line (Line), joined and filtered."""
        processing = self.request["DataProcessing"]
        joining = processing["JoinSource"] == "Input"
        output_filter = JsonPath.parse(processing["OutputFilter"])
        if self.request["TransformOutput"]["AssembleWith"] != "Line" and not joining and output_filter.identity:
            return b"".join(answers)
        content_type = self.request["TransformInput"].get("ContentType")
        as_csv = is_csv(accept) and (not joining or is_csv(content_type))
        lines: list[bytes] = []
        position = 0
        try:
            for group, answer in zip(groups, answers):
                outputs = answer_records(answer, accept)
                inputs = records[position : position + len(group)]
                position += len(group)
                if joining and len(outputs) != len(inputs):
                    raise RecordError(
                        f"The answer holds {len(outputs)} records for {len(inputs)} input records, "
                        "so JoinSource=Input cannot join them"
                    )
                for original, output in zip(inputs, outputs) if joining else ((None, o) for o in outputs):
                    if not joining and output_filter.identity:
                        lines.append(output)
                        continue
                    value = parse_record(output, accept)
                    if joining:
                        value = join(parse_record(original, content_type), value)
                    lines.append(render_record(output_filter.apply(value), "text/csv" if as_csv else accept))
        except RecordError as error:
            raise JobFailure(f"ClientError: {error}. See job logs for more information.") from None
        return b"".join(line + b"\n" for line in lines)
