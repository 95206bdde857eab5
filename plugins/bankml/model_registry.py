"""Registering each run's model as a version in SageMaker's Model Registry, decided champion/challenger.

One model package group per feature set (`bankml-<feature_set>`): models trained on different
features do not compete. What the decision needs (ROC AUC, the run, the test rows' sha256) is
kept in each version's CustomerMetadataProperties, so deciding reads no S3 object; ModelMetrics
points at the run's metrics.json for people and tools. A run is registered once: its run key is
looked up first, so a retried or cleared task reports the version it registered before.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from bankml.champion import Decision, Version, champion, decide
from bankml.run_plan import RunPlan

log = logging.getLogger(__name__)

GROUP_PREFIX = "bankml"


def group_name(feature_set: str) -> str:
    return f"{GROUP_PREFIX}-{feature_set}"


@dataclass(frozen=True)
class Candidate:
    """What this run offers the registry."""

    run_key: str
    run_id: str
    roc_auc: float
    test_sha256: str
    data_sha256: str
    image: str
    model_url: str
    metrics_uri: str


@dataclass(frozen=True)
class Registration:
    arn: str
    version: int
    status: str
    reason: str
    champion_version: int | None
    champion_roc_auc: float | None
    same_test_rows: bool | None
    registered_before: bool  # True when a retry found this run's version already there

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_group(sm: Any, group: str) -> None:
    """Create the group unless it exists (the service answers ValidationException "already exists")."""
    from botocore.exceptions import ClientError

    try:
        sm.create_model_package_group(
            ModelPackageGroupName=group,
            ModelPackageGroupDescription="bankml: one version per DAG run, champion = latest Approved",
        )
    except ClientError as err:
        if not err.response["Error"].get("Message", "").startswith("Model Package Group already exists"):
            raise


def described_versions(sm: Any, group: str) -> list[dict[str, Any]]:
    """DescribeModelPackage of every version of the group, oldest first."""
    pages = sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group, SortOrder="Ascending")
    return [
        sm.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        for page in pages
        for summary in page["ModelPackageSummaryList"]
    ]


def registered_versions(sm: Any, group: str) -> list[tuple[Version, dict[str, str]]]:
    """Every version of the group with its metadata, oldest first."""
    return [
        (version_of(d, d.get("CustomerMetadataProperties", {})), d.get("CustomerMetadataProperties", {}))
        for d in described_versions(sm, group)
    ]


def version_of(described: dict[str, Any], metadata: dict[str, str]) -> Version:
    try:
        roc_auc: float | None = float(metadata["roc_auc"])
    except (KeyError, ValueError):
        roc_auc = None  # registered by someone else: never a champion to compare with
    return Version(
        version=described["ModelPackageVersion"],
        arn=described["ModelPackageArn"],
        status=described["ModelApprovalStatus"],
        roc_auc=roc_auc,
        run_key=metadata.get("run_key"),
        test_sha256=metadata.get("test_sha256"),
    )


def register_run(sm: Any, group: str, candidate: Candidate, *, min_auc: float, tolerance: float) -> Registration:
    """Register `candidate` as the group's next version, Approved or Rejected; once per run."""
    ensure_group(sm, group)
    versions = registered_versions(sm, group)
    for version, metadata in versions:
        if version.run_key == candidate.run_key:
            return _registration(version, metadata, registered_before=True)
    decision = decide(
        candidate.roc_auc,
        min_auc=min_auc,
        tolerance=tolerance,
        champion=champion([v for v, _ in versions]),
        test_sha256=candidate.test_sha256,
    )
    metadata = _metadata(candidate, decision)
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=f"DAG run {candidate.run_key}",
        InferenceSpecification={
            "Containers": [{"Image": candidate.image, "ModelDataUrl": candidate.model_url}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=decision.status,
        ModelMetrics={
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": candidate.metrics_uri}}
        },
        CustomerMetadataProperties=metadata,
    )["ModelPackageArn"]
    described = sm.describe_model_package(ModelPackageName=arn)
    return _registration(version_of(described, metadata), metadata, registered_before=False)


def _metadata(candidate: Candidate, decision: Decision) -> dict[str, str]:
    metadata = {
        "run_key": candidate.run_key,
        "run_id": _metadata_value(candidate.run_id),
        "roc_auc": f"{candidate.roc_auc:.6f}",
        "test_sha256": candidate.test_sha256,
        "data_sha256": candidate.data_sha256,
        "decision_reason": decision.reason,
    }
    if decision.champion is not None:
        metadata["champion_version"] = str(decision.champion.version)
        metadata["champion_roc_auc"] = f"{decision.champion.roc_auc:.6f}"
        metadata["same_test_rows"] = str(decision.same_test_rows).lower()
    return metadata


def _metadata_value(text: str) -> str:
    """Metadata values allow letters, digits, spaces and _.:/=+-@ only (up to 256 characters)."""
    return "".join(c if c.isalnum() or c in " _.:/=+-@" else "_" for c in text)[:256]


def _registration(version: Version, metadata: dict[str, str], *, registered_before: bool) -> Registration:
    champion_auc = metadata.get("champion_roc_auc")
    same = metadata.get("same_test_rows")
    return Registration(
        arn=version.arn,
        version=version.version,
        status=version.status,
        reason=metadata.get("decision_reason", ""),
        champion_version=int(metadata["champion_version"]) if "champion_version" in metadata else None,
        champion_roc_auc=float(champion_auc) if champion_auc else None,
        same_test_rows=None if same is None else same == "true",
        registered_before=registered_before,
    )


def register_evaluation(
    sm: Any,
    run: RunPlan,
    training_job: dict[str, Any],
    params: dict[str, Any],
    *,
    roc_auc: float,
    test_sha256: str,
    metrics_uri: str,
) -> dict[str, Any]:
    """Register the run's evaluated model in its feature set's group and log the decision for the task log."""
    group = group_name(params["feature_set"])
    candidate = Candidate(
        run_key=run.run_key,
        run_id=run.run_id,
        roc_auc=roc_auc,
        test_sha256=test_sha256,
        data_sha256=params["data_sha256"].lower(),
        image=training_job["AlgorithmSpecification"]["TrainingImage"],
        model_url=training_job["ModelArtifacts"]["S3ModelArtifacts"],
        metrics_uri=metrics_uri,
    )
    registration = register_run(sm, group, candidate, min_auc=params["min_auc"], tolerance=params["champion_tolerance"])
    log.log(
        logging.INFO if registration.status == "Approved" else logging.WARNING,
        "Model registry: %s version %d %s%s: %s",
        group,
        registration.version,
        registration.status,
        " (registered by an earlier try)" if registration.registered_before else "",
        registration.reason,
    )
    if registration.same_test_rows is False:
        log.warning(
            "The champion v%d was measured on other test rows (the data changed): the comparison is not like for like",
            registration.champion_version,
        )
    return {"model_package_group": group, **registration.to_dict()}
