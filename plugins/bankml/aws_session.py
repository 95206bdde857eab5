"""A session factory for the Amazon provider's hooks that parses botocore's service models once per process.

Every hook builds a new boto3 session, and every new session has its own botocore loader, so each
client reads and parses its service model JSON again (SageMaker's alone is megabytes): ~0.17 s of
CPU per client here, and a DAG run makes a dozen or more. The provider already shares one loader
among its async (deferrable) sessions; this does the same for the sync ones. Credentials, region
and config still come from each session, so only the read-only model data is shared.

Enabled with the provider's documented setting ``[aws] session_factory`` (environment variable
``AIRFLOW__AWS__SESSION_FACTORY=bankml.aws_session.SharedModelsSessionFactory``), in `make demo`,
`make up`, the tests and docker-compose alike. Without it everything works, only slower.
Only the provider imports this module (while its own hook module loads): imported first, with the
setting on, it would ask the provider for a class it has not defined yet.
"""

from __future__ import annotations

from typing import Any

import boto3
import botocore.loaders
import botocore.session
from airflow.providers.amazon.aws.hooks.base_aws import BaseSessionFactory

_LOADER = botocore.loaders.Loader()


class SharedModelsSessionFactory(BaseSessionFactory):
    """`BaseSessionFactory` whose basic sessions share one botocore data loader (and its cache)."""

    def _create_basic_session(self, session_kwargs: dict[str, Any]) -> boto3.session.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        session = boto3.session.Session(botocore_session=core, **session_kwargs)
        # boto3 appends its resource-model folder to the loader's search paths per session: keep one.
        _LOADER.search_paths[:] = dict.fromkeys(_LOADER.search_paths)
        return session
