"""Airflow plugin: the "Model quality" page, in the UI's navigation and on the DAG's page."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from bankml.model_quality_app import URL_PREFIX, create_app


class BankmlUiPlugin(AirflowPlugin):
    name = "bankml_ui"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "bankml model quality"}]
    external_views = [
        {
            "name": "Model quality",
            "href": f"{URL_PREFIX}/models",
            "destination": "nav",
            "category": "browse",
            "url_route": "bankml-model-quality",
        },
        {
            "name": "Model quality",
            "href": f"{URL_PREFIX}/models",
            "destination": "dag",
            "url_route": "bankml-model-quality-dag",
        },
    ]
