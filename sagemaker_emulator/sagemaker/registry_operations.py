"""The Model Registry's API operations: request dict in, response dict out, under the backend's lock.

The state lives in registry.py; tags and the lock are the backend's, so AddTags/ListTags and
/_emulator/reset cover registry resources like every other one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .models import SageMakerBackend, _page

OPERATIONS = (
    "CreateModelPackageGroup", "DescribeModelPackageGroup", "ListModelPackageGroups", "DeleteModelPackageGroup",
    "CreateModelPackage", "DescribeModelPackage", "ListModelPackages", "UpdateModelPackage", "DeleteModelPackage",
)  # fmt: skip


class RegistryOperations:
    def __init__(self, backend: SageMakerBackend) -> None:
        self.backend = backend
        self.registry = backend.registry

    def create_model_package_group(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            group = self.registry.create_group(params)
            self.backend._store_tags(group.arn, params.get("Tags"))
            return {"ModelPackageGroupArn": group.arn}

    def describe_model_package_group(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            return self.registry.group(params["ModelPackageGroupName"]).describe()

    def list_model_package_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            return _page(self.registry.list_groups(), params, "ModelPackageGroupSummaryList", default_order="Ascending")

    def delete_model_package_group(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            group = self.registry.delete_group(params["ModelPackageGroupName"])
            self.backend.tags.pop(group.arn, None)
            return {}

    def create_model_package(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            package = self.registry.create_package(params)
            self.backend._store_tags(package.arn, params.get("Tags"))
            return {"ModelPackageArn": package.arn}

    def describe_model_package(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            return self.registry.package(params["ModelPackageName"]).describe()

    def list_model_packages(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            return _page(
                self.registry.list_packages(params), params, "ModelPackageSummaryList", default_order="Ascending"
            )

    def update_model_package(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            return {"ModelPackageArn": self.registry.update_package(params).arn}

    def delete_model_package(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.backend.lock:
            package = self.registry.delete_package(params["ModelPackageName"])
            self.backend.tags.pop(package.arn, None)
            return {}


def registry_handlers(
    backend: SageMakerBackend, snake: Callable[[str], str]
) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    operations = RegistryOperations(backend)
    return {operation: getattr(operations, snake(operation)) for operation in OPERATIONS}
