"""A person's path through the Airflow UI: log in, find the DAG, trigger it with a changed Param,
and read the confusion matrix in the evaluate task's log once the run has succeeded."""

from __future__ import annotations

import json
from urllib.parse import quote, urlparse

import boto3
import pytest

from tools.airflow_home import DAG_ID
from tools.local_airflow import Login, Stack

from .conftest import ARTIFACTS, AirflowApi, sign_in

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 600  # the scheduled run goes first (one active run at a time), then ours


@pytest.mark.timeout(900)
def test_trigger_from_the_ui_with_a_changed_param_and_read_the_evaluation_log(
        api: AirflowApi, stack: Stack, credentials: Login, page) -> None:
    sign_in(page, credentials, screenshot=ARTIFACTS / "01-login.png")

    page.get_by_role("link", name="Dags", exact=True).click()
    page.get_by_role("link", name=DAG_ID, exact=True).click()
    page.wait_for_url(f"{credentials.url}/dags/{DAG_ID}")
    page.get_by_text("training_config").first.wait_for()
    page.screenshot(path=ARTIFACTS / "02-dag.png")

    page.get_by_role("button", name="Trigger").first.click()
    form = page.get_by_role("dialog")
    form.locator("#element_feature_set").click()
    page.get_by_role("option", name="tutorial", exact=True).click()
    form.locator("input[name=element_min_auc]").fill("0.7")
    page.screenshot(path=ARTIFACTS / "03-trigger-form.png", full_page=True)
    with page.expect_response(lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns")
                              and r.request.method == "POST") as posted:
        form.get_by_role("button", name="Trigger", exact=True).click()
    assert posted.value.ok, posted.value.text()
    triggered = posted.value.json()
    assert (triggered["run_type"], triggered["triggered_by"]) == ("manual", "ui")
    assert triggered["conf"]["feature_set"] == "tutorial" and triggered["conf"]["min_auc"] == 0.7

    run_id = triggered["dag_run_id"]
    api.wait_for_run(run_id, RUN_TIMEOUT)
    page.goto(f"{credentials.url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/evaluate")
    report = page.get_by_text("Overall Classification Rate").first
    report.wait_for()
    page.screenshot(path=ARTIFACTS / "04-evaluate-log.png", full_page=True)
    log_text = page.locator("body").inner_text()
    assert "Predicted" in log_text and "No Purchase" in log_text, "no confusion matrix in the evaluate log"
    assert "ROC AUC" in log_text

    # The changed Params reached the tasks: the saved evaluation names them.
    evaluation = api.get(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/evaluate/xcomEntries/return_value")
    metrics_uri = urlparse(evaluation["value"]["metrics_uri"])
    s3 = boto3.client("s3", endpoint_url=stack.emulator_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    document = json.loads(s3.get_object(Bucket=metrics_uri.netloc, Key=metrics_uri.path.lstrip("/"))["Body"].read())
    assert (document["feature_set"], document["min_auc"]) == ("tutorial", 0.7)
