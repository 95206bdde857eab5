"""One instance of a training job: a process per host, forked by runner_pool.py (run_job).

Does what the SageMaker platform does on an instance around an algorithm container: downloads the
channels from S3 into an /opt/ml-like directory (all objects, or the host's share for ShardedByS3Key),
writes input/config/*.json (resourceconfig.json names the host and its peers), runs the container's
train entry point, streams its log lines to the host's CloudWatch Logs stream, and, on the host whose
container wrote a model, tars model/ into model.tar.gz and uploads it. It reports secondary statuses
and metrics to the parent as JSON lines on FD. It talks to S3 and Logs through the emulator's HTTP
endpoint, as a real container talks to AWS.
"""

from __future__ import annotations

import json
import signal
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, TextIO

import xgboost
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from ..aws_clients import client, object_keys, split_s3_uri
from ..scratch import UnsafePath, inside
from ..xgboost_container import training
from ..xgboost_container.distributed import Network
from ..xgboost_container.versions import resolve_image
from .job_logs import CloudWatchLog

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class JobFailure(Exception):
    """A platform-side failure (data download, model upload); str() is the FailureReason."""


class TrainingRun:
    def __init__(self, spec: dict[str, Any], events: TextIO) -> None:
        self.spec = spec
        self.request = spec["request"]
        self.opt_ml = Path(spec["opt_ml"])
        self.host, self.hosts = spec["current_host"], spec["hosts"]
        self.events = events
        self.s3 = client("s3", spec["endpoint_url"], spec["region"])
        self.cloudwatch = CloudWatchLog(
            client("logs", spec["endpoint_url"], spec["region"]),
            TRAINING_LOG_GROUP,
            f"{spec['job_name']}/{self.host}-{int(time.time())}",
        )

    def report(self, **event: Any) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    def log(self, line: str) -> None:
        """The container's stdout: to CloudWatch, to this process's output, and metrics to the parent."""
        self.cloudwatch.write(line)
        print(line, flush=True)
        metrics = training.parse_metrics(line)
        if metrics:
            self.report(metrics=metrics)

    def run(self) -> int:
        try:
            return self._run()
        except JobFailure as failure:
            return self._fail(str(failure))
        except Exception as error:  # a platform bug: the job still ends with a reason, not a bare exit code
            return self._fail(f"InternalServerError: {type(error).__name__}: {error}")
        finally:
            self.cloudwatch.close()

    def _fail(self, reason: str) -> int:
        (self.opt_ml / "output").mkdir(parents=True, exist_ok=True)
        (self.opt_ml / "output" / "failure").write_text(reason)
        return 1

    def _run(self) -> int:
        version = resolve_image(self.request["AlgorithmSpecification"]["TrainingImage"])
        self.report(status="Downloading", message="Downloading the training image")
        self._check_output_bucket()
        self._prepare_directories()
        for channel in self.request.get("InputDataConfig", []):
            self._download_channel(channel)
        time.sleep(self.spec["step_seconds"])
        self.report(status="Training", message="Training image download completed. Training in progress.")
        started = time.monotonic()
        if self.spec["threads"]:
            xgboost.set_config(nthread=self.spec["threads"])  # the instance's share of this machine's CPUs
        first_port, second_port = self.spec["tracker_ports"]
        network = Network(ports=(first_port, second_port))
        returncode = training.run(self.opt_ml, version, self.log, network)
        time.sleep(max(0.0, self.spec["training_seconds"] - (time.monotonic() - started)))
        if returncode != 0:
            return returncode
        if not any((self.opt_ml / "model").iterdir()):
            return 0  # not the master of a distributed job: the master's model is the job's
        self.report(status="Uploading", message="Uploading generated training model")
        self._upload_model()
        time.sleep(self.spec["step_seconds"])
        return 0

    def _prepare_directories(self) -> None:
        config_dir = self.opt_ml / "input" / "config"
        for directory in (
            config_dir,
            self.opt_ml / "input" / "data",
            self.opt_ml / "model",
            self.opt_ml / "output" / "data",
        ):
            directory.mkdir(parents=True, exist_ok=True)
        mode = self.request["AlgorithmSpecification"].get("TrainingInputMode", "File")
        input_config = {}
        for channel in self.request.get("InputDataConfig", []):
            entry = {
                "TrainingInputMode": channel.get("InputMode", mode),
                "S3DistributionType": channel["DataSource"]["S3DataSource"].get(
                    "S3DataDistributionType", "FullyReplicated"
                ),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            }
            if "ContentType" in channel:
                entry["ContentType"] = channel["ContentType"]
            input_config[channel["ChannelName"]] = entry
        (config_dir / "hyperparameters.json").write_text(json.dumps(self.request.get("HyperParameters", {})))
        (config_dir / "inputdataconfig.json").write_text(json.dumps(input_config))
        (config_dir / "resourceconfig.json").write_text(
            json.dumps({"current_host": self.host, "hosts": self.hosts, "network_interface_name": "eth0"})
        )

    def _download_channel(self, channel: dict[str, Any]) -> None:
        """S3Prefix semantics: every object whose key starts with the prefix, kept relative to its folder."""
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, prefix = split_s3_uri(uri)
        target = self._inside(self.opt_ml / "input" / "data", channel["ChannelName"], "channel name")
        target.mkdir(parents=True, exist_ok=True)
        keys = object_keys(self.s3, bucket, prefix)
        if not keys:
            raise JobFailure(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure '
                f"that the bucket exists in the selected region ({self.spec['region']}), that objects exist under "
                f'that S3 prefix, and that the role "{self.request["RoleArn"]}" has "s3:ListBucket" permissions on '
                f'bucket "{bucket}".'
            )
        folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
        if channel["DataSource"]["S3DataSource"].get("S3DataDistributionType") == "ShardedByS3Key":
            index, count = self.hosts.index(self.host), len(self.hosts)
            keys = sorted(keys)[index::count]  # object i goes to host i mod N; a host may get none
        for key in keys:
            destination = self._inside(target, key[len(folder) :], f'S3 key "s3://{bucket}/{key}"')
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                self.s3.download_file(bucket, key, str(destination))
            except (BotoCoreError, ClientError) as error:
                raise JobFailure(
                    f'ClientError: Data download failed: could not download "s3://{bucket}/{key}": {error}'
                ) from None

    @staticmethod
    def _inside(root: Path, relative: str, what: str) -> Path:
        """Where a request-derived name lands; one that would land outside its directory fails the job."""
        try:
            return inside(root, relative)
        except UnsafePath:
            raise JobFailure(
                f"ClientError: Data download failed: the {what} does not name a file inside "
                f"the channel directory (it contains '..' or resolves outside it)."
            ) from None

    def _check_output_bucket(self) -> None:
        """Fail at the start, with S3's own error, rather than after training when the upload fails."""
        output = self.request["OutputDataConfig"]["S3OutputPath"]
        bucket, _ = split_s3_uri(output)
        try:
            self.s3.head_bucket(Bucket=bucket)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            reason = (
                "NoSuchBucket: The specified bucket does not exist" if code in ("404", "NoSuchBucket") else str(error)
            )
            raise JobFailure(
                f"ClientError: Cannot write to S3OutputPath {output}: {reason} (bucket {bucket!r})."
            ) from None
        except BotoCoreError as error:
            raise JobFailure(f"ClientError: Cannot write to S3OutputPath {output}: {error}") from None

    def _upload_model(self) -> None:
        archive = self.opt_ml.parent / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted((self.opt_ml / "model").iterdir()):
                tar.add(path, arcname=path.name)
        bucket, key = split_s3_uri(self.spec["model_artifacts"])
        try:
            self.s3.upload_file(str(archive), bucket, key)
        except (BotoCoreError, ClientError, S3UploadFailedError) as error:
            raise JobFailure(
                f"ClientError: Failed to upload model artifacts to {self.spec['model_artifacts']}: {error}"
            ) from None


def run_job(spec_path: Path, events_fd: int) -> int:
    """The host's one job (its spec in spec_path); events go to events_fd, which this closes."""
    # The platform stops a job with SIGTERM: exit through `finally` so buffered log lines reach CloudWatch.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with open(events_fd, "w", encoding="utf-8") as events:
        return TrainingRun(json.loads(spec_path.read_text()), events).run()
