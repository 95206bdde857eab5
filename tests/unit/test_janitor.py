from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bankml.janitor import find_leftovers

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class FakeSageMaker:
    """Just the listing calls the janitor makes."""

    def __init__(self, resources: dict[str, dict[str, dict[str, str]]]) -> None:
        self.resources = resources  # kind -> name -> tags

    def get_paginator(self, operation: str):
        kind, key, field, arn = {
            "list_endpoints": ("endpoint", "Endpoints", "EndpointName", "EndpointArn"),
            "list_endpoint_configs": ("endpoint-config", "EndpointConfigs", "EndpointConfigName", "EndpointConfigArn"),
            "list_models": ("model", "Models", "ModelName", "ModelArn"),
            "list_transform_jobs": ("transform-job", "TransformJobSummaries", "TransformJobName", "TransformJobArn"),
        }[operation]
        items = [
            {field: name, arn: f"arn:{kind}/{name}"}
            for name in self.resources.get(kind, {})
            if name.startswith("bankml-")
        ]

        class Paginator:
            def paginate(self, NameContains: str):  # noqa: N803
                yield {key: [i for i in items if NameContains in i[field]]}

        return Paginator()

    def list_tags(self, ResourceArn: str):  # noqa: N803
        kind, _, name = ResourceArn.removeprefix("arn:").partition("/")
        return {"Tags": [{"Key": k, "Value": v} for k, v in self.resources[kind][name].items()]}


def tags(run_id: str, age: timedelta, project: str = "bankml") -> dict[str, str]:
    return {
        "project": project,
        "dag_id": "bank_marketing_xgboost",
        "run_id": run_id,
        "created_at": (NOW - age).isoformat(timespec="seconds"),
    }


def test_runs_are_grouped_and_judged_by_state_and_age() -> None:
    sm = FakeSageMaker(
        {
            "endpoint": {
                "bankml-a": tags("run-a", timedelta(minutes=5)),
                "bankml-b": tags("run-b", timedelta(hours=9)),
                "bankml-c": tags("run-c", timedelta(minutes=5)),
            },
            "endpoint-config": {
                "bankml-a-config-1": tags("run-a", timedelta(minutes=6)),
                "bankml-d-config-2": tags("run-d", timedelta(minutes=1)),
            },
            "model": {
                "bankml-d-model-2": tags("run-d", timedelta(minutes=1)),
                "bankml-x": tags("run-x", timedelta(days=1), project="other"),
                "unrelated": tags("run-u", timedelta(days=1)),
            },
        }
    )
    states = {"run-a": "running", "run-b": "running", "run-c": "failed", "run-d": None}
    found = {
        x.base_name: x for x in find_leftovers(sm, run_state=lambda d, r: states[r], now=NOW, ttl=timedelta(hours=4))
    }
    assert set(found) == {"bankml-a", "bankml-b", "bankml-c", "bankml-d"}
    assert found["bankml-a"].reason is None  # young, run alive: kept
    assert found["bankml-a"].created_at == NOW - timedelta(minutes=6)  # earliest resource of the run
    assert "older than the TTL" in found["bankml-b"].reason
    assert "is failed" in found["bankml-c"].reason
    assert "unknown to Airflow" in found["bankml-d"].reason


def test_transform_jobs_and_renamed_resources_belong_to_their_run() -> None:
    """A run whose only leftover is a (running) transform job is found; "-<epoch>" renames keep their base."""
    sm = FakeSageMaker(
        {
            "transform-job": {
                "bankml-e": tags("run-e", timedelta(minutes=5)),
                "bankml-f-1764590000": tags("run-f", timedelta(minutes=5)),
            },
            "model": {"bankml-f-model-1-1764590000": tags("run-f", timedelta(minutes=4))},
        }
    )
    found = {
        x.base_name: x for x in find_leftovers(sm, run_state=lambda d, r: "failed", now=NOW, ttl=timedelta(hours=4))
    }
    assert set(found) == {"bankml-e", "bankml-f"}
    assert all("is failed" in x.reason for x in found.values())


def test_a_zero_ttl_deletes_even_live_runs() -> None:
    sm = FakeSageMaker({"endpoint": {"bankml-a": tags("run-a", timedelta(seconds=1))}})
    [leftover] = find_leftovers(sm, run_state=lambda d, r: "running", now=NOW, ttl=timedelta(0))
    assert leftover.reason and "TTL" in leftover.reason
