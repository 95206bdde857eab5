"""Processing jobs: Create/Describe/List/StopProcessingJob for the SageMaker scikit-learn processing image.

A job plays the platform around the container on its own thread: every `ProcessingInputs[].S3Input` is
downloaded to its `LocalPath` (under `/opt/ml/processing/`, which here is the job's own directory; every
path is confined to it as training channels are), `AppSpecification.ContainerEntrypoint` +
`ContainerArguments` run in a child process with the job's `Environment`, its output lines go to
/aws/sagemaker/ProcessingJobs stream `<job>/algo-1-<epoch>`, and at the end (`S3UploadMode=EndOfJob`)
every output's `LocalPath` is uploaded to its `S3Uri`. `StopProcessingJob` and
`StoppingCondition.MaxRuntimeInSeconds` end the child like training (SIGTERM, SIGKILL after a grace period).
The container here is this machine's Python with the emulator's packages (scikit-learn, pandas, numpy):
`python3`/`python` run `sys.executable`, and any `/opt/ml/...` in the entrypoint or arguments names the
job's directory; paths a script builds itself are not rewritten.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from ..aws_clients import client, key_below_prefix, object_keys, split_s3_uri
from ..scratch import UnsafePath, inside
from .errors import validation_error
from .job_logs import CloudWatchLog
from .job_supervisor import end_process
from .jobs import BackgroundJob, JobFailure, JobHost, JobRun, JobTable

PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
CONTAINER_ROOT = "/opt/ml/"
PROCESSING_ROOT = "/opt/ml/processing/"
SKLEARN_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/sagemaker-scikit-learn:[\w.-]+$")
SUPPORTED_IMAGES = "<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-scikit-learn:<version> (e.g. 1.2-1-cpu-py3)"
PYTHON_NAMES = ("python", "python3")


@dataclass
class ProcessingJob(BackgroundJob):
    noun = "ProcessingJob"
    kind = "processing-job"
    exit_message: str | None = None

    def describe(self) -> dict[str, Any]:
        result = {**super().describe(), "LastModifiedTime": self.last_modified_time, **self._outcome()}
        if self.start_time is not None:
            result["ProcessingStartTime"] = self.start_time
        return result

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), **self._outcome()}

    def _outcome(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.end_time is not None:
            result["ProcessingEndTime"] = self.end_time
        if self.failure_reason:
            result["FailureReason"] = self.failure_reason
        if self.exit_message:
            result["ExitMessage"] = self.exit_message
        return result


def _check_request(params: dict[str, Any]) -> None:
    """What the emulator cannot honour is refused at Create with a clear ValidationException."""
    for item in params.get("ProcessingInputs", []):
        source = item.get("S3Input")
        if source is None:
            raise validation_error(
                f"ProcessingInput {item['InputName']}: only S3Input is supported by sagemaker-emulator."
            )
        for member, supported in (
            ("S3DataType", ("S3Prefix",)),
            ("S3InputMode", ("File",)),
            ("S3CompressionType", ("None",)),
        ):
            if source.get(member, supported[0]) not in supported:
                raise validation_error(
                    f"ProcessingInput {item['InputName']}: {member} {source[member]} is not supported "
                    f"by sagemaker-emulator; supported: {', '.join(supported)}."
                )
        _check_local_path(item["InputName"], source.get("LocalPath"))
        if not source["S3Uri"].startswith("s3://"):
            raise validation_error(
                f"ProcessingInput {item['InputName']}: S3Uri must be an s3:// URL, got {source['S3Uri']!r}."
            )
    for item in params.get("ProcessingOutputConfig", {}).get("Outputs", []):
        target = item.get("S3Output")
        if target is None:
            raise validation_error(
                f"ProcessingOutput {item['OutputName']}: only S3Output is supported by sagemaker-emulator."
            )
        if target["S3UploadMode"] != "EndOfJob":
            raise validation_error(
                f"ProcessingOutput {item['OutputName']}: S3UploadMode {target['S3UploadMode']} is not "
                "supported by sagemaker-emulator; supported: EndOfJob."
            )
        _check_local_path(item["OutputName"], target.get("LocalPath"))
        if not target["S3Uri"].startswith("s3://"):
            raise validation_error(
                f"ProcessingOutput {item['OutputName']}: S3Uri must be an s3:// URL, got {target['S3Uri']!r}."
            )
    if not params["AppSpecification"].get("ContainerEntrypoint"):
        raise validation_error(
            "AppSpecification.ContainerEntrypoint is required by sagemaker-emulator: the scikit-learn "
            'image has no default entrypoint (e.g. ["python3", "/opt/ml/processing/input/code/run.py"]).'
        )


def _check_local_path(name: str, local_path: str | None) -> None:
    if not local_path or not local_path.startswith(PROCESSING_ROOT):
        raise validation_error(f"{name}: LocalPath must be a directory under {PROCESSING_ROOT}, got {local_path!r}.")


class ProcessingJobs(JobTable[ProcessingJob]):
    """The processing jobs of the emulated account; each keeps its run, to kill its child on a reset."""

    job_type = ProcessingJob

    def _checked(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_request(params)
        return params

    def _admit(self, job: ProcessingJob) -> Callable[[threading.Event], ProcessingRun]:
        return lambda stop: ProcessingRun(self.host, job, stop, self.owns)


class ProcessingRun(JobRun[ProcessingJob]):
    """One job's platform work and its child process, which a reset kills."""

    def __init__(
        self,
        host: JobHost,
        job: ProcessingJob,
        stop: threading.Event,
        is_current: Callable[[ProcessingJob], bool],
    ) -> None:
        super().__init__(host, job, stop, is_current)
        self.jobdir = inside(host.workdir / "processing", job.name)
        self.root = self.jobdir / "opt_ml"
        self._process: subprocess.Popen[bytes] | None = None
        self._tail: list[str] = []  # the child's last output lines, for the FailureReason

    def kill(self) -> None:
        """Forget the job (reset/shutdown): end the child at once."""
        super().kill()
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def _clean_up(self) -> None:
        shutil.rmtree(self.jobdir, ignore_errors=True)

    def _run(self) -> str:
        if self.stop.wait(self.settings.delays.step_seconds):
            return "Stopped"
        self.jobdir.mkdir(parents=True, exist_ok=True)
        with self.host.lock:
            self.job.started()
        image = self.request["AppSpecification"]["ImageUri"]
        if not SKLEARN_IMAGE.match(image):
            raise JobFailure(
                f"ClientError: Image {image} is not supported by this SageMaker emulator. "
                f"Supported images: {SUPPORTED_IMAGES}."
            )
        s3 = client("s3", self.settings.internal_url, self.settings.region)
        for item in self.request.get("ProcessingInputs", []):
            self._download(s3, item)
        outputs = self.request.get("ProcessingOutputConfig", {}).get("Outputs", [])
        for item in outputs:
            self._local(item["S3Output"]["LocalPath"], item["OutputName"]).mkdir(parents=True, exist_ok=True)
        returncode, stopped_by = self._run_child()
        if stopped_by == "Stopped":
            return "Stopped"
        if stopped_by == "MaxRuntimeExceeded":  # as for training: Stopped, with why
            with self.host.lock:
                self.job.exit_message = (
                    "MaxRuntimeExceeded: the job ran longer than MaxRuntimeInSeconds "
                    f"({self.request['StoppingCondition']['MaxRuntimeInSeconds']} s)"
                )
            return "Stopped"
        if returncode != 0:
            raise JobFailure(self._failure_reason(returncode))
        for item in outputs:
            self._upload(s3, item)
        return "Completed"

    def _local(self, local_path: str, name: str) -> Path:
        """Where a container path lands in the job's directory; one that escapes it fails the job."""
        try:
            return inside(self.root, local_path.removeprefix(CONTAINER_ROOT))
        except UnsafePath:
            raise JobFailure(
                f"ClientError: {name}: LocalPath {local_path!r} does not name a directory inside "
                f"{PROCESSING_ROOT} (it contains '..' or resolves outside it)."
            ) from None

    def _download(self, s3: Any, item: dict[str, Any]) -> None:
        """S3Prefix: every object under the prefix, at its path below the prefix, into LocalPath."""
        source = item["S3Input"]
        target = self._local(source["LocalPath"], item["InputName"])
        target.mkdir(parents=True, exist_ok=True)
        bucket, prefix = split_s3_uri(source["S3Uri"])
        keys = object_keys(s3, bucket, prefix)
        if not keys:
            raise JobFailure(
                f'ClientError: No S3 objects found under S3 URL "{source["S3Uri"]}" given in input {item["InputName"]}.'
            )
        for key in keys:
            try:
                destination = inside(target, key_below_prefix(key, prefix))
            except UnsafePath:
                raise JobFailure(
                    f'ClientError: Data download failed: S3 key "s3://{bucket}/{key}" does not name a '
                    f"file inside {source['LocalPath']}."
                ) from None
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                s3.download_file(bucket, key, str(destination))
            except (BotoCoreError, ClientError) as error:
                raise JobFailure(
                    f'ClientError: Data download failed: could not download "s3://{bucket}/{key}": {error}'
                ) from None

    def _upload(self, s3: Any, item: dict[str, Any]) -> None:
        target = item["S3Output"]
        local = self._local(target["LocalPath"], item["OutputName"])
        bucket, prefix = split_s3_uri(target["S3Uri"])
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            key = f"{prefix.rstrip('/')}/{path.relative_to(local).as_posix()}".lstrip("/")
            try:
                s3.upload_file(str(path), bucket, key)
            except (BotoCoreError, ClientError, S3UploadFailedError) as error:
                raise JobFailure(
                    f"ClientError: Failed to upload output {item['OutputName']} to s3://{bucket}/{key}: {error}"
                ) from None

    def _command(self) -> list[str]:
        spec = self.request["AppSpecification"]
        command = [*spec["ContainerEntrypoint"], *spec.get("ContainerArguments", [])]
        return [
            sys.executable if i == 0 and part in PYTHON_NAMES else self._container_path(part)
            for i, part in enumerate(command)
        ]

    def _container_path(self, part: str) -> str:
        return f"{self.root}/{part.removeprefix(CONTAINER_ROOT)}" if part.startswith(CONTAINER_ROOT) else part

    def _run_child(self) -> tuple[int, str | None]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.jobdir),
            "PYTHONUNBUFFERED": "1",
            **self.request.get("Environment", {}),
        }
        logs = CloudWatchLog(
            client("logs", self.settings.internal_url, self.settings.region),
            PROCESSING_LOG_GROUP,
            f"{self.job.name}/algo-1-{int(time.time())}",
        )
        try:
            self._process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.jobdir,
            )
        except OSError as error:
            logs.close()
            raise JobFailure(f"AlgorithmError: cannot run the entrypoint {self._command()[0]!r}: {error}") from None
        reader = threading.Thread(target=self._read_output, args=(logs,), daemon=True)
        reader.start()
        stopped_by = None
        deadline = time.monotonic() + self.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86400)
        while self._process.poll() is None:
            if self.stop.wait(0.05):
                stopped_by = "Stopped"
                break
            if time.monotonic() > deadline:
                stopped_by = "MaxRuntimeExceeded"
                with self.host.lock:
                    self.job.set_status("Stopping")
                break
        end_process(self._process)
        reader.join(timeout=5)
        logs.close()
        return self._process.returncode, stopped_by

    def _read_output(self, logs: CloudWatchLog) -> None:
        assert self._process is not None and self._process.stdout is not None
        for raw in self._process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            logs.write(line)
            self._tail = [*self._tail[-19:], line]

    def _failure_reason(self, returncode: int) -> str:
        how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
        with self.host.lock:
            self.job.exit_message = "\n".join(self._tail[-5:])[:1024] or None
        last = f": {self._tail[-1]}" if self._tail else ""
        return f"AlgorithmError: The processing container {how}{last}"
