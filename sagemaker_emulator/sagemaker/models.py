"""SageMaker control-plane state and lifecycles (the moto-like "models" half).

One `SageMakerBackend` holds every resource of the emulated account/region behind a single
lock. Operations take and return plain dicts shaped like botocore's service model (times are
epoch seconds); the wire format lives in responses.py. Long-running work (training jobs,
endpoint deployments and deletions) runs on background threads so every API call returns at
once, like the real service.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

from ..faults import Faults
from ..scratch import create_scratch_dir
from ..settings import Settings
from .errors import SageMakerError, internal_failure, resource_in_use, validation_error
from .hosting import Deployment, DeploymentFailure, EndpointLogger, deploy_variant
from .job_supervisor import JobSupervisor, TrainingHost
from .jobs import JobHost
from .listing import modified_matches as _modified_matches
from .listing import page as _page
from .listing import status_matches as _status_matches
from .processing import ProcessingJobs
from .registry import ModelRegistry
from .resources import Endpoint, EndpointConfig, Model, ResourceTable, TrainingJob
from .runner_pool import RunnerPool
from .transform import TransformJobs

SUPPORTED_S3_DATA_TYPES = ("S3Prefix",)
SUPPORTED_INPUT_MODES = ("File",)
SUPPORTED_COMPRESSION = ("None",)
log = logging.getLogger(__name__)

_TRANSIENT_ENDPOINT_STATES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


class SageMakerBackend:
    """All SageMaker resources of the emulated account and region."""

    def __init__(self, settings: Settings, faults: Faults) -> None:
        self.settings = settings
        self.faults = faults
        self.lock = threading.RLock()
        self.workdir = create_scratch_dir()
        self.runners = RunnerPool(warm=settings.warm_training_runner)
        self.training_jobs = ResourceTable[TrainingJob](
            "training-job", self.arn, missing="Requested resource not found.",
            duplicate="Training job names must be unique within an AWS account and region, and a training job "
                      "with this name already exists ({arn})",
            duplicate_error=resource_in_use,
        )  # fmt: skip
        self.supervisors: dict[str, JobSupervisor] = {}
        self.models = ResourceTable[Model](
            "model",
            self.arn,
            missing='Could not find model "{arn}".',
            duplicate='Cannot create already existing model "{arn}".',
        )
        self.endpoint_configs = ResourceTable[EndpointConfig](
            "endpoint-config",
            self.arn,
            missing='Could not find endpoint configuration "{arn}".',
            duplicate='Cannot create already existing endpoint configuration "{arn}".',
        )
        self.endpoints = ResourceTable[Endpoint](
            "endpoint",
            self.arn,
            missing='Could not find endpoint "{arn}".',
            duplicate='Cannot create already existing endpoint "{arn}".',
        )
        self.tags: dict[str, list[dict[str, str]]] = {}
        self.endpoint_logger = EndpointLogger(settings)
        self.job_host = JobHost(
            lock=self.lock,
            settings=settings,
            workdir=self.workdir,
            arn=self.arn,
            store_tags=self._store_tags,
            find_model=self.models.get,
            take_transform_failure=faults.take_transform_failure,
        )
        self.transform = TransformJobs(self.job_host)
        self.processing = ProcessingJobs(self.job_host)
        self.registry = ModelRegistry(self.arn)
        self.training_host = TrainingHost(
            lock=self.lock,
            take_runner=self.runners.take,
            is_current=self.training_jobs.holds,
        )

    def arn(self, kind: str, name: str) -> str:
        """ARNs lower-case the resource name, like the real service."""
        return f"arn:aws:sagemaker:{self.settings.region}:{self.settings.account_id}:{kind}/{name.lower()}"

    # ---- lifecycle of the whole backend -------------------------------------------------

    def reset(self) -> None:
        """Forget every resource, stopping running jobs (POST /_emulator/reset)."""
        with self.lock:
            supervisors = list(self.supervisors.values())
            self.training_jobs.clear()
            self.supervisors.clear()
            self.models.clear()
            self.endpoint_configs.clear()
            for endpoint in self.endpoints:
                endpoint.generation += 1
            self.endpoints.clear()
            self.registry.reset()
            self.tags.clear()
            self.transform.forget()
            processing_runs = self.processing.reset()
        for supervisor in supervisors:
            supervisor.kill()
        for run in processing_runs:
            run.kill()

    def health(self) -> dict[str, Any]:
        """Identity and resource counts (GET /_emulator/health)."""
        with self.lock:
            counts = {
                "training_jobs": len(self.training_jobs),
                "models": len(self.models),
                "endpoint_configs": len(self.endpoint_configs),
                "endpoints": len(self.endpoints),
            }
        return {"region": self.settings.region, "account": self.settings.account_id, "resources": counts}

    def shutdown(self) -> None:
        self.reset()
        self.runners.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ---- tags ----------------------------------------------------------------------------

    def _store_tags(self, arn: str, tags: list[dict[str, str]] | None) -> None:
        if tags:
            self._merge_tags(arn, tags)

    def _merge_tags(self, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
        current = {tag["Key"]: tag["Value"] for tag in self.tags.get(arn, [])}
        current.update({tag["Key"]: tag.get("Value", "") for tag in tags})
        if len(current) > 50:
            raise validation_error("Tags exceed the limit of 50 tags per resource.")
        self.tags[arn] = [{"Key": k, "Value": v} for k, v in current.items()]
        return self.tags[arn]

    def _require_arn(self, arn: str) -> None:
        known = (
            self.training_jobs.arns()
            + self.models.arns()
            + self.endpoint_configs.arns()
            + self.endpoints.arns()
            + self.transform.arns()
            + self.processing.arns()
            + list(self.registry.arns())
        )
        if arn not in known:
            raise validation_error(f"Resource {arn} does not exist or is not supported.")

    def add_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._require_arn(params["ResourceArn"])
            return {"Tags": self._merge_tags(params["ResourceArn"], params["Tags"])}

    def list_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._require_arn(params["ResourceArn"])
            return {"Tags": list(self.tags.get(params["ResourceArn"], []))}

    def delete_tags(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._require_arn(params["ResourceArn"])
            keys = set(params["TagKeys"])
            self.tags[params["ResourceArn"]] = [
                t for t in self.tags.get(params["ResourceArn"], []) if t["Key"] not in keys
            ]
            return {}

    # ---- what Describe, Delete and List of a table share ---------------------------------

    def _describe(self, table: ResourceTable[Any], name: str) -> dict[str, Any]:
        with self.lock:
            return table.get(name).describe()

    def _delete(self, table: ResourceTable[Any], name: str) -> dict[str, Any]:
        with self.lock:
            resource = table.get(name)
            table.remove(resource)
            self.tags.pop(resource.arn, None)
            return {}

    def _list(
        self,
        table: ResourceTable[Any],
        params: dict[str, Any],
        key: str,
        *,
        by_status: bool = False,
        default_order: str = "Descending",
    ) -> dict[str, Any]:
        """A List* answer; `by_status`: the kind has StatusEquals and LastModifiedTimeAfter/Before filters."""
        with self.lock:
            resources = [
                r
                for r in table
                if not by_status
                or (_status_matches(r.status, params) and _modified_matches(r.last_modified_time, params))
            ]
            return _page(resources, params, key, default_order=default_order)

    # ---- training jobs -------------------------------------------------------------------

    def create_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_training_request(params)
        name = params["TrainingJobName"]
        with self.lock:
            arn = self.training_jobs.new_arn(name)
            running = sum(1 for job in self.training_jobs if not job.finished)
            limit = self.settings.limits.max_training_jobs
            if running >= limit:
                raise SageMakerError(
                    "ResourceLimitExceeded",
                    f"The account-level service limit 'training jobs running at once' is {limit}, with current "
                    f"utilization of {running}. Wait for a job to finish, or start the emulator with a higher "
                    "SAGEMAKER_EMULATOR_MAX_TRAINING_JOBS.",
                )
            instances, most = params["ResourceConfig"]["InstanceCount"], self.settings.limits.max_training_instances
            if instances > most:
                raise SageMakerError(
                    "ResourceLimitExceeded",
                    f"The account-level service limit '{params['ResourceConfig'].get('InstanceType')} for training job "
                    f"usage' is {most} Instances, with a request delta of {instances} Instances: this emulator runs "
                    "one process per instance on this machine. Use fewer instances, or start the emulator with a "
                    "higher SAGEMAKER_EMULATOR_MAX_TRAINING_INSTANCES.",
                )
            now = time.time()
            job = self.training_jobs.add(TrainingJob(name=name, arn=arn, request=params, creation_time=now))
            job.transition("Starting", "Preparing the instances for training")
            self._store_tags(job.arn, params.get("Tags"))
            supervisor = JobSupervisor(
                self.training_host, self.settings, self.workdir, job, self.faults.take_training_failure()
            )
            self.supervisors[name] = supervisor
        supervisor.start()
        return {"TrainingJobArn": job.arn}

    def describe_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe(self.training_jobs, params["TrainingJobName"])

    def stop_training_job(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            job = self.training_jobs.get(params["TrainingJobName"])
            if job.status != "InProgress":
                raise validation_error(f"The request was rejected because the training job is in status {job.status}.")
            job.transition("Stopping", "Stopping the training job", status="Stopping")
            supervisor = self.supervisors[job.name]
        supervisor.stop()
        return {}

    def list_training_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.training_jobs, params, "TrainingJobSummaries", by_status=True, default_order="Ascending")

    # ---- models --------------------------------------------------------------------------

    def create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelName"]
        _check_model_request(params)
        with self.lock:
            arn = self.models.new_arn(name)
            params = self._resolve_model_packages(params)
            self.models.add(Model(name=name, arn=arn, request=params, creation_time=time.time()))
            self._store_tags(arn, params.get("Tags"))
            return {"ModelArn": arn}

    def _resolve_model_packages(self, params: dict[str, Any]) -> dict[str, Any]:
        """Containers naming a registered version get its image and model data (what the endpoint runs)."""
        if "PrimaryContainer" in params:
            return {**params, "PrimaryContainer": self._resolved(params["PrimaryContainer"], 1)}
        return {**params, "Containers": [self._resolved(c, n) for n, c in enumerate(params["Containers"], start=1)]}

    def _resolved(self, container: dict[str, Any], number: int) -> dict[str, Any]:
        return self.registry.resolve_container(container, number) if "ModelPackageName" in container else container

    def describe_model(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe(self.models, params["ModelName"])

    def delete_model(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete(self.models, params["ModelName"])

    def list_models(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.models, params, "Models")

    # ---- endpoint configs ----------------------------------------------------------------

    def create_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointConfigName"]
        with self.lock:
            arn = self.endpoint_configs.new_arn(name)
            for variant in params["ProductionVariants"]:
                if "ModelName" not in variant:
                    raise validation_error(f"ModelName is required for production variant {variant['VariantName']}.")
                self.models.get(variant["ModelName"])
            self.endpoint_configs.add(EndpointConfig(name=name, arn=arn, request=params, creation_time=time.time()))
            self._store_tags(arn, params.get("Tags"))
            return {"EndpointConfigArn": arn}

    def describe_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe(self.endpoint_configs, params["EndpointConfigName"])

    def delete_endpoint_config(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._delete(self.endpoint_configs, params["EndpointConfigName"])

    def list_endpoint_configs(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.endpoint_configs, params, "EndpointConfigs")

    # ---- endpoints -----------------------------------------------------------------------

    def create_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        with self.lock:
            arn = self.endpoints.new_arn(name)
            config = self.endpoint_configs.get(params["EndpointConfigName"])
            now = time.time()
            endpoint = self.endpoints.add(
                Endpoint(name=name, arn=arn, config_name=config.name, creation_time=now, last_modified_time=now)
            )
            self._store_tags(arn, params.get("Tags"))
            self._start_deployment(endpoint, config, self.settings.delays.endpoint_creating_seconds)
            return {"EndpointArn": arn}

    def update_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            endpoint = self.endpoints.get(params["EndpointName"])
            if endpoint.status in _TRANSIENT_ENDPOINT_STATES:
                raise validation_error(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            config = self.endpoint_configs.get(params["EndpointConfigName"])
            endpoint.set_status("Updating")
            endpoint.failure_reason = None
            self._start_deployment(endpoint, config, self.settings.delays.endpoint_updating_seconds)
            return {"EndpointArn": endpoint.arn}

    def _start_deployment(self, endpoint: Endpoint, config: EndpointConfig, delay: float) -> None:
        """Load every variant's model on a thread; the endpoint keeps serving its old deployment until then."""
        endpoint.generation += 1
        generation = endpoint.generation
        variants = [
            (variant, self.models.get(variant["ModelName"]).request) for variant in config.request["ProductionVariants"]
        ]
        injected_failure = self.faults.take_endpoint_failure()
        injected_crash = self.faults.take_endpoint_crash()

        def deploy() -> None:
            started = time.monotonic()
            if injected_crash is not None:
                raise RuntimeError(injected_crash)
            try:
                if injected_failure is not None:
                    raise DeploymentFailure(injected_failure)
                deployment = Deployment(
                    [
                        deploy_variant(v, m, self.settings, self.endpoint_logger, endpoint.name, self.workdir)
                        for v, m in variants
                    ]
                )
                failure = None
            except DeploymentFailure as error:
                deployment, failure = None, str(error)
            time.sleep(max(0.0, delay - (time.monotonic() - started)))
            with self.lock:
                if endpoint.generation != generation or not self.endpoints.holds(endpoint):
                    return  # deleted or superseded meanwhile
                if deployment is not None:
                    endpoint.deployment = deployment
                    endpoint.config_name = config.name
                    endpoint.set_status("InService")
                else:
                    endpoint.failure_reason = failure
                    endpoint.set_status("Failed")

        self._in_background(f"deploy-{endpoint.name}", deploy, endpoint, generation)

    def _in_background(self, name: str, work: Callable[[], None], endpoint: Endpoint, generation: int) -> None:
        """Run an endpoint's transition on a thread; whatever it raises ends the endpoint Failed, with why."""

        def run() -> None:
            try:
                work()
            except Exception as error:  # an emulator bug must never leave the endpoint Creating forever
                log.exception("%s crashed", name)
                with self.lock:
                    if self.endpoints.holds(endpoint) and endpoint.generation == generation:
                        endpoint.failure_reason = internal_failure(error)
                        endpoint.set_status("Failed")

        threading.Thread(target=run, name=name, daemon=True).start()

    def describe_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe(self.endpoints, params["EndpointName"])

    def delete_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            endpoint = self.endpoints.get(params["EndpointName"])
            if endpoint.status == "Deleting":
                return {}
            endpoint.generation += 1
            generation = endpoint.generation
            endpoint.deployment = None
            endpoint.set_status("Deleting")
            self.tags.pop(endpoint.arn, None)
        delay = self.settings.delays.endpoint_deleting_seconds

        def remove() -> None:
            time.sleep(delay)
            with self.lock:
                if self.endpoints.holds(endpoint) and endpoint.generation == generation:
                    self.endpoints.remove(endpoint)

        self._in_background(f"delete-{endpoint.name}", remove, endpoint, generation)
        return {}

    def list_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.endpoints, params, "Endpoints", by_status=True)

    def serving_deployment(self, name: str) -> Deployment | None:
        """What InvokeEndpoint should call for `name`, or None when nothing is deployed."""
        with self.lock:
            endpoint = self.endpoints.find(name)
            return endpoint.deployment if endpoint and endpoint.status != "Deleting" else None


def _check_training_request(params: dict[str, Any]) -> None:
    """Service-side checks the model cannot express, and inputs this emulator cannot honour."""
    if not params.get("AlgorithmSpecification", {}).get("TrainingImage"):
        raise validation_error(
            "AlgorithmSpecification.TrainingImage is required: this emulator runs the built-in XGBoost image only."
        )
    for member in ("ResourceConfig", "StoppingCondition"):
        if member not in params:
            raise validation_error(
                f"1 validation error detected: Value null at '{member[0].lower() + member[1:]}' failed to satisfy constraint: Member must not be null"
            )
    if not params["ResourceConfig"].get("InstanceCount"):
        raise validation_error(
            "ResourceConfig.InstanceCount must be at least 1: instance groups (heterogeneous clusters) are not "
            "supported by sagemaker-emulator."
        )
    mode = params["AlgorithmSpecification"].get("TrainingInputMode", "File")
    if mode not in SUPPORTED_INPUT_MODES:
        raise validation_error(
            f"TrainingInputMode {mode} is not supported by sagemaker-emulator; supported: {', '.join(SUPPORTED_INPUT_MODES)}."
        )
    names = [channel["ChannelName"] for channel in params.get("InputDataConfig", [])]
    if len(names) != len(set(names)):
        raise validation_error("Channel names must be unique within InputDataConfig.")
    for channel in params.get("InputDataConfig", []):
        source = channel["DataSource"].get("S3DataSource")
        if source is None:
            raise validation_error(
                f"Channel {channel['ChannelName']}: only S3DataSource is supported by sagemaker-emulator."
            )
        if source["S3DataType"] not in SUPPORTED_S3_DATA_TYPES:
            raise validation_error(
                f"Channel {channel['ChannelName']}: S3DataType {source['S3DataType']} is not supported by sagemaker-emulator; supported: {', '.join(SUPPORTED_S3_DATA_TYPES)}."
            )
        if channel.get("InputMode", mode) not in SUPPORTED_INPUT_MODES:
            raise validation_error(
                f"Channel {channel['ChannelName']}: InputMode {channel['InputMode']} is not supported by sagemaker-emulator; supported: {', '.join(SUPPORTED_INPUT_MODES)}."
            )
        if channel.get("CompressionType", "None") not in SUPPORTED_COMPRESSION:
            raise validation_error(
                f"Channel {channel['ChannelName']}: CompressionType {channel['CompressionType']} is not supported by sagemaker-emulator; supported: {', '.join(SUPPORTED_COMPRESSION)}."
            )
        if not source["S3Uri"].startswith("s3://"):
            raise validation_error(
                f"Channel {channel['ChannelName']}: S3Uri must be an s3:// URL, got {source['S3Uri']!r}."
            )
    if not params["OutputDataConfig"]["S3OutputPath"].startswith("s3://"):
        raise validation_error(
            f"OutputDataConfig.S3OutputPath must be an s3:// URL, got {params['OutputDataConfig']['S3OutputPath']!r}."
        )


def _check_model_request(params: dict[str, Any]) -> None:
    """Every container must name what to run: an image, or a registered model package version."""
    if not params.get("PrimaryContainer") and not params.get("Containers"):
        raise validation_error("1 validation error detected: either PrimaryContainer or Containers must be specified.")
    if params.get("PrimaryContainer") and params.get("Containers"):
        raise validation_error("Specify either PrimaryContainer or Containers, not both.")
    containers = [params["PrimaryContainer"]] if params.get("PrimaryContainer") else params["Containers"]
    for number, container in enumerate(containers, start=1):
        if not container.get("Image") and not container.get("ModelPackageName"):
            raise validation_error(f"Container {number}: Image must be specified (or ModelPackageName).")
