"""The "Model quality" app against the emulator: rows from the registry and metrics.json, the
champion marked, images served from S3, and no page without an Airflow session."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bankml.evaluation.plots import roc_curve_png
from bankml.model_quality_app import authenticated, create_app
from bankml.model_registry import Candidate, register_run
from tests.emulator_harness import emulator_clients
from tools.emulator_process import EmulatorProcess
from tools.local_setup import BUCKET, connection_uri

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
PNG = roc_curve_png([0, 1, 0, 1], [0.1, 0.9, 0.4, 0.6])


@pytest.fixture(scope="module")
def emulator(emulator: EmulatorProcess) -> EmulatorProcess:
    """The shared emulator (conftest.py) with two runs registered, r1 the champion."""
    sm, s3 = emulator_clients(emulator.url, "sagemaker", "s3").values()
    s3.create_bucket(Bucket=BUCKET)
    for run, auc in (("r1", 0.80), ("r2", 0.70)):
        prefix = f"bankml/{run}/evaluation"
        document = {
            "metrics": {
                "roc_auc": auc,
                "pr_auc": 0.45,
                "accuracy": 0.9,
                "gain": [{"fraction_called": 0.2, "share_of_subscribers": 0.64}],
            },
            "cost": {"total_usd": 0.0002},
        }
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/metrics.json", Body=json.dumps(document).encode())
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/roc_curve.png", Body=PNG)
        candidate = Candidate(
            run_key=run,
            run_id=f"manual__{run}",
            roc_auc=auc,
            test_sha256="a" * 64,
            data_sha256="d" * 64,
            image=IMAGE,
            model_url=f"s3://{BUCKET}/{run}/model.tar.gz",
            metrics_uri=f"s3://{BUCKET}/{prefix}/metrics.json",
        )
        register_run(sm, "bankml-economic", candidate, min_auc=0.5, tolerance=0.005)
    return emulator


@pytest.fixture
def client(emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", connection_uri(emulator.url))
    return TestClient(create_app())


@pytest.fixture
def signed_in(client: TestClient) -> Iterator[TestClient]:
    client.app.dependency_overrides[authenticated] = lambda: "tester"
    yield client
    client.app.dependency_overrides.clear()


@pytest.mark.parametrize("path", ["/models", "/trend/economic.png", "/image/economic/1/roc_curve.png"])
def test_nothing_without_an_airflow_session(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}


def test_page_lists_versions_newest_first_with_the_champion(signed_in: TestClient) -> None:
    page = signed_in.get("/models").text
    assert page.index('data-version="2"') < page.index('data-version="1"')
    assert page.count("★ champion") == 1 and '<tr class="champion" data-version="1">' in page
    assert '<td class="status">Rejected</td>' in page and '<td class="status">Approved</td>' in page
    assert '<a href="/dags/bank_marketing_xgboost/runs/manual__r1">manual__r1</a>' in page
    assert "<td>0.8000</td>" in page and "<td>64.0%</td>" in page and "<td>$0.0002</td>" in page
    assert 'src="/bankml/trend/economic.png"' in page and "Feature set tutorial" not in page


def test_images_come_from_s3_and_only_the_known_ones(signed_in: TestClient) -> None:
    image = signed_in.get("/image/economic/1/roc_curve.png")
    assert image.status_code == 200 and image.content == PNG
    assert signed_in.get("/image/economic/1/metrics.json").status_code == 404
    assert signed_in.get("/image/economic/9/roc_curve.png").status_code == 404
    assert signed_in.get("/image/payroll/1/roc_curve.png").status_code == 404
    trend = signed_in.get("/trend/economic.png")
    assert trend.headers["content-type"] == "image/png" and trend.content.startswith(b"\x89PNG")


def test_a_second_load_only_lists_and_an_approval_change_shows(
    signed_in: TestClient, emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bankml import model_quality, model_quality_app

    sm, s3 = emulator_clients(emulator.url, "sagemaker", "s3").values()
    calls: list[str] = []
    for client in (sm, s3):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    monkeypatch.setattr(model_quality_app, "_clients", lambda: (sm, s3))
    monkeypatch.setattr(model_quality, "_descriptions", {})
    monkeypatch.setattr(model_quality, "_documents", {})

    signed_in.get("/models")
    assert calls.count("DescribeModelPackage") == 2 and calls.count("GetObject") == 2
    calls.clear()
    signed_in.get("/models")
    assert set(calls) == {"ListModelPackages"}  # both metrics.json hold their cost: final, cached

    rejected = sm.list_model_packages(ModelPackageGroupName="bankml-economic", ModelApprovalStatus="Rejected")
    sm.update_model_package(
        ModelPackageArn=rejected["ModelPackageSummaryList"][0]["ModelPackageArn"], ModelApprovalStatus="Approved"
    )
    calls.clear()
    page = signed_in.get("/models").text
    assert calls.count("DescribeModelPackage") == 1
    assert '<tr class="champion" data-version="2">' in page  # approved by hand: the latest Approved
