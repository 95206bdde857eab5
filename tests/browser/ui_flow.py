"""A person's path through the Airflow UI, reusable against any stack: a base URL and a login.

Log in, find the DAG, trigger it with changed Params in the trigger form, wait for the run
and read the confusion matrix in the evaluate task's log page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from tests.airflow_api import AirflowApi
from tests.browser.chromium import ARTIFACTS
from tools.airflow_home import DAG_ID
from tools.local_airflow import Login

CHANGED_PARAMS = {"feature_set": "tutorial", "min_auc": 0.7}


def sign_in(page: Any, credentials: Login, screenshot: Path | None = None) -> None:
    """Log in through the UI's form, as a person does; the session cookie then serves every page."""
    page.goto(credentials.url)
    page.get_by_label("Username").wait_for()
    if screenshot is not None:
        page.screenshot(path=screenshot)
    page.get_by_label("Username").fill(credentials.username)
    page.get_by_label("Password").fill(credentials.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{credentials.url}/")


def trigger_from_the_ui_and_read_the_evaluation(
    page: Any, credentials: Login, api: AirflowApi, s3: Any, run_timeout: float, shots: str = ""
) -> dict:
    """Returns the run's metrics.json (read from ``s3``); asserts each step on the way."""
    url = credentials.url
    sign_in(page, credentials, screenshot=ARTIFACTS / f"{shots}01-login.png")

    page.get_by_role("link", name="Dags", exact=True).click()
    page.get_by_role("link", name=DAG_ID, exact=True).click()
    page.wait_for_url(f"{url}/dags/{DAG_ID}")
    page.get_by_text("training_config").first.wait_for()
    page.screenshot(path=ARTIFACTS / f"{shots}02-dag.png")

    page.get_by_role("button", name="Trigger").first.click()
    form = page.get_by_role("dialog")
    form.locator("#element_feature_set").click()
    page.get_by_role("option", name=CHANGED_PARAMS["feature_set"], exact=True).click()
    form.locator("input[name=element_min_auc]").fill(str(CHANGED_PARAMS["min_auc"]))
    page.screenshot(path=ARTIFACTS / f"{shots}03-trigger-form.png", full_page=True)
    with page.expect_response(
        lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST"
    ) as posted:
        form.get_by_role("button", name="Trigger", exact=True).click()
    assert posted.value.ok, posted.value.text()
    triggered = posted.value.json()
    assert (triggered["run_type"], triggered["triggered_by"]) == ("manual", "ui")
    assert {k: triggered["conf"][k] for k in CHANGED_PARAMS} == CHANGED_PARAMS

    run_id = triggered["dag_run_id"]
    api.wait_for_run(run_id, run_timeout)
    page.goto(f"{url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/evaluate")
    report = page.get_by_text("Overall Classification Rate").first
    report.wait_for()
    page.screenshot(path=ARTIFACTS / f"{shots}04-evaluate-log.png", full_page=True)
    log_text = page.locator("body").inner_text()
    assert "Predicted" in log_text and "No Purchase" in log_text, "no confusion matrix in the evaluate log"
    assert "ROC AUC" in log_text

    metrics_uri = urlparse(api.xcom(run_id, "evaluate")["metrics_uri"])
    return json.loads(s3.get_object(Bucket=metrics_uri.netloc, Key=metrics_uri.path.lstrip("/"))["Body"].read())
