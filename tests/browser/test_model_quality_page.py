"""The "Model quality" page in the UI: after two runs of the default feature set it shows two
versions, one champion, and images that load; it is listed as a plugin view; it needs a session."""

from __future__ import annotations

import time

import httpx
import pytest

from tools.airflow_home import DAG_ID
from tools.local_airflow import Login

from tests.airflow_api import AirflowApi
from tests.browser.chromium import ARTIFACTS

from .ui_flow import sign_in

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 600


def _first_run(api: AirflowApi) -> dict:
    deadline = time.monotonic() + 120
    while not (runs := api.runs()):
        assert time.monotonic() < deadline, "the scheduler created no run after the DAG was unpaused"
        time.sleep(2)
    return runs[-1]


@pytest.mark.timeout(1500)
def test_two_runs_show_two_versions_one_champion_and_their_images(api: AirflowApi, credentials: Login, page) -> None:
    api.wait_for_run(_first_run(api)["dag_run_id"], RUN_TIMEOUT)  # the scheduled run: version 1
    triggered = api.client.post(f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {}})
    assert triggered.is_success, triggered.text
    api.wait_for_run(triggered.json()["dag_run_id"], RUN_TIMEOUT)  # the same model again: version 2

    assert httpx.get(f"{credentials.url}/bankml/models", timeout=30).status_code == 401  # no session, no page
    views = [v for p in api.get("/plugins")["plugins"] if p["name"] == "bankml_ui" for v in p["external_views"]]
    assert {(v["name"], v["destination"]) for v in views} == {("Model quality", "nav"), ("Model quality", "dag")}

    sign_in(page, credentials)
    page.goto(f"{credentials.url}/bankml/models")
    page.locator("table").wait_for()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=ARTIFACTS / "model-quality.png", full_page=True)
    rows = page.locator("tr[data-version]")
    assert rows.count() == 2, page.content()[:3000]
    assert page.locator("tr.champion").count() == 1 and "★ champion" in page.locator("tr.champion").inner_text()
    assert page.locator("td.status", has_text="Approved").count() == 2
    images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])")
    assert len(images) == 1 + 2 * 3 and all(loaded for _, loaded in images), images  # trend + 3 per version
