"""The "Model quality" page as a FastAPI app the Airflow API server mounts (see bankml_ui_plugin).

Every route needs an authenticated Airflow session: the UI's JWT cookie or a bearer token,
checked by the API server's own auth manager. Registry and S3 reads use the project's AWS
connection, like the DAG. Airflow imports plugins in every process (scheduler, workers), so the
heavy imports wait for the first request.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

URL_PREFIX = "/bankml"
DAG_ID = "bank_marketing_xgboost"
_bearer = HTTPBearer(auto_error=False)


async def authenticated(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Any:
    """The Airflow user of a bearer token, else of the UI's session cookie; 401/403 otherwise."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
    from airflow.api_fastapi.core_api.security import resolve_user_from_token

    token = (
        bearer.credentials
        if bearer and bearer.scheme.lower() == "bearer"
        else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    )
    return await resolve_user_from_token(token)


@cache
def _clients() -> tuple[Any, Any]:
    """Built once per API server process: a client loads botocore's SageMaker model (megabytes of
    JSON), which costs more than the page itself. A changed connection needs an API server restart."""
    from bankml import aws
    from bankml.settings import Settings

    settings = Settings.from_env()
    return aws.sagemaker(settings), aws.s3(settings)


def _rows(feature_set: str | None = None) -> list[Any]:
    from bankml.dag_params import FEATURE_SETS
    from bankml.model_quality import group_rows

    if feature_set is not None and feature_set not in FEATURE_SETS:
        raise HTTPException(404, f"unknown feature set {feature_set!r}; known: {', '.join(FEATURE_SETS)}")
    sm, s3 = _clients()
    return [row for name in ([feature_set] if feature_set else FEATURE_SETS) for row in group_rows(sm, s3, name)]


def create_app() -> FastAPI:
    app = FastAPI(title="bankml model quality", dependencies=[Depends(authenticated)])

    @app.get("/models", response_class=HTMLResponse)
    def page() -> str:
        from bankml.model_quality import render_page

        return render_page(_rows(), DAG_ID, URL_PREFIX)

    @app.get("/trend/{feature_set}.png")
    def trend(feature_set: str) -> Response:
        from bankml.model_quality import trend_png

        return Response(trend_png(_rows(feature_set)), media_type="image/png")

    @app.get("/image/{feature_set}/{version}/{name}")
    def image(feature_set: str, version: int, name: str) -> Response:
        from bankml.model_quality import split_s3_uri

        row = next((r for r in _rows(feature_set) if r.version == version), None)
        uri = row.image_uri(name) if row else None
        if uri is None:
            raise HTTPException(404, f"no image {name!r} for {feature_set} v{version}")
        bucket, key = split_s3_uri(uri)
        return Response(_clients()[1].get_object(Bucket=bucket, Key=key)["Body"].read(), media_type="image/png")

    return app
