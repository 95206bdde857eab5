"""bankml.model_registry against the emulator: one version per run, decided against the champion."""

from __future__ import annotations

from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from bankml.champion import champion
from bankml.model_registry import Candidate, register_run, registered_versions
from tests.emulator_harness import emulator_client
from tools.emulator_process import EmulatorProcess

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
GROUP = "bankml-economic"


@pytest.fixture(scope="module")
def sm(emulator: EmulatorProcess) -> object:
    return emulator_client(emulator.url, "sagemaker")


def candidate(run: str, roc_auc: float, test_sha256: str = "a" * 64) -> Candidate:
    return Candidate(
        run_key=run,
        run_id=f"manual__{run}+00:00",
        roc_auc=roc_auc,
        test_sha256=test_sha256,
        data_sha256="d" * 64,
        image=IMAGE,
        model_url=f"s3://b/{run}/model.tar.gz",
        metrics_uri=f"s3://b/{run}/evaluation/metrics.json",
    )


def register(sm: object, run: Candidate, min_auc: float = 0.75):
    return register_run(sm, GROUP, run, min_auc=min_auc, tolerance=0.005)


def test_runs_compete_with_the_latest_approved_version(sm) -> None:
    first = register(sm, candidate("r1", 0.80))
    assert (first.version, first.status, first.champion_version, first.registered_before) == (
        1,
        "Approved",
        None,
        False,
    )

    again = register(sm, replace(candidate("r1", 0.80), roc_auc=0.1))  # a retry: found by its run key
    assert (again.version, again.status, again.registered_before) == (1, "Approved", True)

    better = register(sm, candidate("r2", 0.81))
    assert (better.version, better.status, better.champion_version, better.same_test_rows) == (2, "Approved", 1, True)

    worse = register(sm, candidate("r3", 0.70), min_auc=0.5)
    assert (worse.version, worse.status, worse.champion_version) == (3, "Rejected", 2)
    assert worse.reason == "ROC AUC 0.7000 is below the champion v2 ROC AUC 0.8100 minus tolerance 0.005"

    gate = register(sm, candidate("r4", 0.74))
    assert (gate.status, gate.reason) == ("Rejected", "ROC AUC 0.7400 is below the quality gate min_auc 0.75")

    other_data = register(sm, candidate("r5", 0.806, test_sha256="b" * 64))
    assert (other_data.status, other_data.champion_version, other_data.same_test_rows) == ("Approved", 2, False)

    versions = [v for v, _ in registered_versions(sm, GROUP)]
    assert [(v.version, v.status) for v in versions] == [
        (1, "Approved"),
        (2, "Approved"),
        (3, "Rejected"),
        (4, "Rejected"),
        (5, "Approved"),
    ]
    assert champion(versions).version == 5
    described = sm.describe_model_package(ModelPackageName=versions[2].arn)
    assert described["CustomerMetadataProperties"]["run_id"] == "manual__r3+00:00"
    assert described["CustomerMetadataProperties"]["data_sha256"] == "d" * 64
    assert described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == "s3://b/r3/evaluation/metrics.json"


def test_an_unusable_group_name_fails_with_the_services_message(sm) -> None:
    with pytest.raises(ClientError, match="at 'modelPackageGroupName' failed to satisfy constraint"):
        register_run(sm, "bankml_bad", candidate("r1", 0.8), min_auc=0.5, tolerance=0.0)


def test_run_ids_outside_the_metadata_alphabet_are_kept_readable(sm) -> None:
    odd = replace(candidate("r9", 0.8), run_id="my run (rerun), #2")
    registration = register_run(sm, "bankml-odd", odd, min_auc=0.5, tolerance=0.0)
    metadata = sm.describe_model_package(ModelPackageName=registration.arn)["CustomerMetadataProperties"]
    assert metadata["run_id"] == "my run _rerun__ _2"
