"""The Model Registry: model package groups holding numbered, approvable model package versions.

State only, shaped like botocore's service model; the backend (models.py) owns the lock and the
tags, and routes the operations here. Nothing is read from S3: ModelMetrics only point at objects,
as on the real service, and a version is Completed as soon as it is created (the service
validates nothing for a package without a ValidationSpecification).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import SageMakerError, validation_error

APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
CREATED_BY: dict[str, Any] = {}  # UserContext: the emulator has no IAM identities to name


@dataclass
class ModelPackage:
    group: str
    version: int
    arn: str
    request: dict[str, Any]
    creation_time: float
    approval_status: str
    last_modified_time: float
    approval_description: str | None = None
    customer_metadata: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.group  # versioned packages are named after their group

    def _identity(self) -> dict[str, Any]:
        return {
            "ModelPackageName": self.group,
            "ModelPackageGroupName": self.group,
            "ModelPackageVersion": self.version,
            "ModelPackageArn": self.arn,
        }

    def describe(self) -> dict[str, Any]:
        kept = {
            k: v
            for k, v in self.request.items()
            if k
            not in ("Tags", "ModelPackageGroupName", "ModelApprovalStatus", "ClientToken", "CustomerMetadataProperties")
        }
        result: dict[str, Any] = {
            **self._identity(),
            **kept,
            "CreationTime": self.creation_time,
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "ModelApprovalStatus": self.approval_status,
            "CreatedBy": dict(CREATED_BY),
            "LastModifiedTime": self.last_modified_time,
            "LastModifiedBy": dict(CREATED_BY),
        }
        if self.approval_description is not None:
            result["ApprovalDescription"] = self.approval_description
        if self.customer_metadata:
            result["CustomerMetadataProperties"] = dict(self.customer_metadata)
        return result

    def summary(self) -> dict[str, Any]:
        result = {
            **self._identity(),
            "CreationTime": self.creation_time,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": self.approval_status,
        }
        if "ModelPackageDescription" in self.request:
            result["ModelPackageDescription"] = self.request["ModelPackageDescription"]
        return result


@dataclass
class ModelPackageGroup:
    name: str
    arn: str
    description: str | None
    creation_time: float
    versions: dict[int, ModelPackage] = field(default_factory=dict)
    last_version: int = 0  # numbers are never reused, even after a version is deleted

    def describe(self) -> dict[str, Any]:
        return {**self.summary(), "CreatedBy": dict(CREATED_BY)}

    def summary(self) -> dict[str, Any]:
        result = {
            "ModelPackageGroupName": self.name,
            "ModelPackageGroupArn": self.arn,
            "CreationTime": self.creation_time,
            "ModelPackageGroupStatus": "Completed",
        }
        if self.description is not None:
            result["ModelPackageGroupDescription"] = self.description
        return result


class ModelRegistry:
    """Every model package group of the account and region (the caller holds the backend's lock)."""

    def __init__(self, arn: Callable[[str, str], str]) -> None:
        self._arn = arn
        self.groups: dict[str, ModelPackageGroup] = {}

    def reset(self) -> None:
        self.groups.clear()

    def arns(self) -> Iterable[str]:
        for group in self.groups.values():
            yield group.arn
            yield from (package.arn for package in group.versions.values())

    # ---- groups --------------------------------------------------------------------------

    def create_group(self, params: dict[str, Any]) -> ModelPackageGroup:
        name = params["ModelPackageGroupName"]
        arn = self._arn("model-package-group", name)
        if name in self.groups:
            # The provider's SageMakerRegisterModelVersionOperator matches this prefix.
            raise validation_error(f"Model Package Group already exists: {arn}")
        group = ModelPackageGroup(name, arn, params.get("ModelPackageGroupDescription"), time.time())
        self.groups[name] = group
        return group

    def group(self, name_or_arn: str) -> ModelPackageGroup:
        name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        group = next((g for g in self.groups.values() if g.name == name or g.arn == name_or_arn), None)
        if group is None:
            arn = name_or_arn if name_or_arn.startswith("arn:") else self._arn("model-package-group", name)
            raise validation_error(f"ModelPackageGroup {arn} does not exist.")
        return group

    def delete_group(self, name_or_arn: str) -> ModelPackageGroup:
        group = self.group(name_or_arn)
        if group.versions:
            raise SageMakerError(
                "ConflictException",
                f"Model Package Group {group.arn} still holds {len(group.versions)} model package(s); "
                "delete them first.",
            )
        del self.groups[group.name]
        return group

    def list_groups(self) -> list[ModelPackageGroup]:
        return list(self.groups.values())

    # ---- versions ------------------------------------------------------------------------

    def create_package(self, params: dict[str, Any]) -> ModelPackage:
        if params.get("ModelPackageName") and params.get("ModelPackageGroupName"):
            raise validation_error(
                "Both ModelPackageName and ModelPackageGroupName are provided in the input. "
                "Cannot determine which one to use."
            )
        if params.get("ModelPackageName"):
            raise validation_error(
                "Unversioned model packages (ModelPackageName) are not supported by "
                "sagemaker-emulator; give ModelPackageGroupName to register a version."
            )
        if not params.get("ModelPackageGroupName"):
            raise validation_error("Missing ARN.")
        if "InferenceSpecification" not in params:
            raise validation_error(
                "InferenceSpecification is required for a model package version in a Model Package Group."
            )
        group = self.group(params["ModelPackageGroupName"])
        group.last_version += 1
        version = group.last_version
        now = time.time()
        package = ModelPackage(
            group=group.name,
            version=version,
            arn=self._arn("model-package", f"{group.name}/{version}"),
            request=params,
            creation_time=now,
            approval_status=params.get("ModelApprovalStatus", "PendingManualApproval"),
            last_modified_time=now,
            customer_metadata=dict(params.get("CustomerMetadataProperties", {})),
        )
        group.versions[version] = package
        return package

    def package(self, name_or_arn: str) -> ModelPackage:
        """A version by its ARN (`.../model-package/<group>/<n>`); an unversioned name is never found."""
        group_name, _, number = name_or_arn.partition(":model-package/")[2].rpartition("/")
        group = next((g for g in self.groups.values() if g.name.lower() == group_name.lower()), None)
        package = group.versions.get(int(number)) if group and number.isdigit() else None
        if package is None:
            arn = name_or_arn if name_or_arn.startswith("arn:") else self._arn("model-package", name_or_arn)
            raise validation_error(f"ModelPackage {arn} does not exist.")
        return package

    def update_package(self, params: dict[str, Any]) -> ModelPackage:
        package = self.package(params["ModelPackageArn"])
        if "ModelApprovalStatus" in params:
            package.approval_status = params["ModelApprovalStatus"]
        if "ApprovalDescription" in params:
            package.approval_description = params["ApprovalDescription"]
        for key in params.get("CustomerMetadataPropertiesToRemove", []):
            package.customer_metadata.pop(key, None)
        package.customer_metadata.update(params.get("CustomerMetadataProperties", {}))
        if len(package.customer_metadata) > 50:
            raise validation_error("CustomerMetadataProperties exceed the limit of 50 entries per model package.")
        if "InferenceSpecification" in params:
            package.request = {**package.request, "InferenceSpecification": params["InferenceSpecification"]}
        package.last_modified_time = time.time()
        return package

    def delete_package(self, name_or_arn: str) -> ModelPackage:
        package = self.package(name_or_arn)
        del self.groups[package.group].versions[package.version]
        return package

    def list_packages(self, params: dict[str, Any]) -> list[ModelPackage]:
        """Versions matching ListModelPackages' filters (without a group: every group's versions)."""
        if params.get("ModelPackageType") == "Unversioned":
            return []
        groups = (
            [self.group(params["ModelPackageGroupName"])] if "ModelPackageGroupName" in params else self.groups.values()
        )
        packages = [p for g in groups for p in g.versions.values()]
        if "ModelApprovalStatus" in params:
            packages = [p for p in packages if p.approval_status == params["ModelApprovalStatus"]]
        return packages

    def resolve_container(self, container: dict[str, Any], number: int) -> dict[str, Any]:
        """A CreateModel container naming a ModelPackageName, with the version's image and model data
        filled in (what the endpoint runs); an unapproved version cannot be deployed."""
        package = self.package(container["ModelPackageName"])
        if package.approval_status != "Approved":
            raise validation_error(
                f"Container {number}: model package {package.arn} has ModelApprovalStatus "
                f"{package.approval_status}; only an Approved version can be deployed."
            )
        source = package.request["InferenceSpecification"]["Containers"][0]
        return {**{k: source[k] for k in ("Image", "ModelDataUrl", "Environment") if k in source}, **container}
