"""The Model Registry over boto3: groups, numbered versions, approval, metrics, metadata, listing,
and CreateModel from a registered version (every response checked against botocore's shapes)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import BUCKET, IMAGES, ROLE_ARN
from .test_hosting import delete_endpoint

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def inference(model_url: str = f"s3://{BUCKET}/output/model.tar.gz") -> dict:
    return {
        "Containers": [{"Image": IMAGES["3.0-5"], "ModelDataUrl": model_url}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


def metrics(key: str) -> dict:
    return {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}}}


def error_of(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as error:
        call(**kwargs)
    return error.value.response["Error"]


@pytest.fixture
def group(sm, request):
    name = request.node.name.replace("_", "-")[:60]
    sm.create_model_package_group(
        ModelPackageGroupName=name, ModelPackageGroupDescription="test group", Tags=[{"Key": "team", "Value": "ml"}]
    )
    yield name
    for page in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=name):
        for summary in page["ModelPackageSummaryList"]:
            sm.delete_model_package(ModelPackageName=summary["ModelPackageArn"])
    sm.delete_model_package_group(ModelPackageGroupName=name)


def test_group_lifecycle_and_errors(sm):
    arn = sm.create_model_package_group(ModelPackageGroupName="Churn-Models")["ModelPackageGroupArn"]
    assert arn == f"{ARN}:model-package-group/churn-models"
    described = sm.describe_model_package_group(ModelPackageGroupName="Churn-Models")
    assert described["ModelPackageGroupName"] == "Churn-Models" and described["ModelPackageGroupStatus"] == "Completed"
    assert sm.describe_model_package_group(ModelPackageGroupName=arn)["ModelPackageGroupArn"] == arn
    assert error_of(sm.create_model_package_group, ModelPackageGroupName="Churn-Models") == {
        "Code": "ValidationException",
        "Message": f"Model Package Group already exists: {arn}",
    }
    names = [
        g["ModelPackageGroupName"]
        for g in sm.list_model_package_groups(NameContains="Churn")["ModelPackageGroupSummaryList"]
    ]
    assert names == ["Churn-Models"]
    sm.delete_model_package_group(ModelPackageGroupName="Churn-Models")
    assert error_of(sm.describe_model_package_group, ModelPackageGroupName="Churn-Models") == {
        "Code": "ValidationException",
        "Message": f"ModelPackageGroup {arn} does not exist.",
    }
    assert error_of(sm.create_model_package_group, ModelPackageGroupName="bad_name")["Message"].startswith(
        "1 validation error detected: Value 'bad_name' at 'modelPackageGroupName' failed to satisfy constraint"
    )


def test_versions_number_from_one_and_are_never_reused(sm, group):
    first = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference())["ModelPackageArn"]
    second = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference())["ModelPackageArn"]
    assert (first, second) == (f"{ARN}:model-package/{group.lower()}/1", f"{ARN}:model-package/{group.lower()}/2")
    sm.delete_model_package(ModelPackageName=second)
    third = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference())["ModelPackageArn"]
    assert third.endswith("/3")
    assert error_of(sm.describe_model_package, ModelPackageName=second) == {
        "Code": "ValidationException",
        "Message": f"ModelPackage {second} does not exist.",
    }


def test_describe_holds_metrics_metadata_and_default_approval(sm, group):
    arn = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="weekly retrain",
        InferenceSpecification=inference(),
        ModelMetrics=metrics("run-1/metrics.json"),
        CustomerMetadataProperties={"run_id": "manual__2026-01-01T00:00:00+00:00"},
    )["ModelPackageArn"]
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelPackageVersion"] == 1 and described["ModelPackageGroupName"] == group
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["ModelPackageStatus"] == "Completed"
    assert described["ModelMetrics"] == metrics("run-1/metrics.json")
    assert described["InferenceSpecification"] == inference()
    assert described["CustomerMetadataProperties"] == {"run_id": "manual__2026-01-01T00:00:00+00:00"}
    assert described["ModelPackageDescription"] == "weekly retrain"


def test_update_approves_and_edits_metadata(sm, group):
    arn = sm.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=inference(), CustomerMetadataProperties={"a": "1", "b": "2"}
    )["ModelPackageArn"]
    created = sm.describe_model_package(ModelPackageName=arn)["LastModifiedTime"]
    updated = sm.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Rejected",
        ApprovalDescription="worse than v1",
        CustomerMetadataProperties={"b": "3", "c": "4"},
        CustomerMetadataPropertiesToRemove=["a"],
    )
    assert updated["ModelPackageArn"] == arn
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Rejected" and described["ApprovalDescription"] == "worse than v1"
    assert described["CustomerMetadataProperties"] == {"b": "3", "c": "4"}
    assert described["LastModifiedTime"] >= created
    assert error_of(sm.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Maybe")["Message"].startswith(
        "1 validation error detected: Value 'Maybe' at 'modelApprovalStatus' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]"
    )
    assert (
        error_of(sm.update_model_package, ModelPackageArn=f"{ARN}:model-package/{group.lower()}/9")["Message"]
        == f"ModelPackage {ARN}:model-package/{group.lower()}/9 does not exist."
    )


def test_list_filters_sort_orders_and_pages(sm, group):
    statuses = ["Approved", "Rejected", "Approved", "PendingManualApproval"]
    for status in statuses:
        sm.create_model_package(
            ModelPackageGroupName=group, InferenceSpecification=inference(), ModelApprovalStatus=status
        )

    def versions(**kwargs) -> list[int]:
        pages = sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group, **kwargs)
        return [s["ModelPackageVersion"] for page in pages for s in page["ModelPackageSummaryList"]]

    assert versions() == [1, 2, 3, 4]  # ascending creation time by default
    assert versions(SortOrder="Descending") == [4, 3, 2, 1]
    assert versions(ModelApprovalStatus="Approved", SortBy="CreationTime", SortOrder="Descending") == [3, 1]
    assert versions(PaginationConfig={"PageSize": 1}) == [1, 2, 3, 4]
    page = sm.list_model_packages(ModelPackageGroupName=group, MaxResults=3)
    assert len(page["ModelPackageSummaryList"]) == 3 and page["NextToken"]
    summary = page["ModelPackageSummaryList"][0]
    assert summary["ModelPackageGroupName"] == group and summary["ModelApprovalStatus"] == "Approved"
    assert versions(ModelPackageType="Unversioned") == []
    assert (
        error_of(sm.list_model_packages, ModelPackageGroupName="no-such-group")["Message"]
        == f"ModelPackageGroup {ARN}:model-package-group/no-such-group does not exist."
    )


def test_group_with_versions_cannot_be_deleted(sm, group):
    sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference())
    error = error_of(sm.delete_model_package_group, ModelPackageGroupName=group)
    assert error["Code"] == "ConflictException" and "delete them first" in error["Message"]


def test_create_package_errors(sm, group):
    assert error_of(
        sm.create_model_package, ModelPackageGroupName="missing-group", InferenceSpecification=inference()
    ) == {
        "Code": "ValidationException",
        "Message": f"ModelPackageGroup {ARN}:model-package-group/missing-group does not exist.",
    }
    assert error_of(
        sm.create_model_package, ModelPackageGroupName=group, ModelPackageName="x", InferenceSpecification=inference()
    )["Message"].startswith("Both ModelPackageName and ModelPackageGroupName")
    assert error_of(sm.create_model_package, InferenceSpecification=inference())["Message"] == "Missing ARN."
    assert (
        "InferenceSpecification is required"
        in error_of(sm.create_model_package, ModelPackageGroupName=group)["Message"]
    )
    bad_metadata = error_of(
        sm.create_model_package,
        ModelPackageGroupName=group,
        InferenceSpecification=inference(),
        CustomerMetadataProperties={"reason": "AUC < champion, by far"},
    )
    assert "at 'customerMetadataProperties.reason.value' failed to satisfy constraint" in bad_metadata["Message"]


def test_tags_on_groups_and_versions(sm, group):
    group_arn = sm.describe_model_package_group(ModelPackageGroupName=group)["ModelPackageGroupArn"]
    assert sm.list_tags(ResourceArn=group_arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    arn = sm.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=inference(), Tags=[{"Key": "run", "Value": "r1"}]
    )["ModelPackageArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "run", "Value": "r1"}]


def test_create_model_from_an_approved_version_serves_it(sm, runtime, dataset, trained_models, group):
    pending = sm.create_model_package(
        ModelPackageGroupName=group, InferenceSpecification=inference(trained_models["3.0-5"])
    )["ModelPackageArn"]
    error = error_of(
        sm.create_model,
        ModelName="from-package",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"ModelPackageName": pending},
    )
    assert error["Message"] == (
        f"Container 1: model package {pending} has ModelApprovalStatus PendingManualApproval; "
        "only an Approved version can be deployed."
    )
    sm.update_model_package(ModelPackageArn=pending, ModelApprovalStatus="Approved")
    name = "from-package"
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"ModelPackageName": pending})
    assert sm.describe_model(ModelName=name)["PrimaryContainer"]["ModelPackageName"] == pending
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})
    scores = runtime.invoke_endpoint(EndpointName=name, Body=dataset["rows"], ContentType="text/csv")["Body"].read()
    assert len(scores.decode().splitlines()) == 5
    delete_endpoint(sm, name)
    missing = f"{ARN}:model-package/{group.lower()}/7"
    assert (
        error_of(
            sm.create_model,
            ModelName="from-missing",
            ExecutionRoleArn=ROLE_ARN,
            PrimaryContainer={"ModelPackageName": missing},
        )["Message"]
        == f"ModelPackage {missing} does not exist."
    )
