"""NameContains listings: every page read, a run's own told apart from names that merely contain its base."""

from __future__ import annotations

from typing import Any

from bankml.listing import named, of_run, run_training_jobs, run_transform_jobs


class PagedSageMaker:
    """Lists in pages of two (SageMaker pages at 10 by default), and records the describes."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names  # list operation -> names
        self.described: list[str] = []

    def get_paginator(self, operation: str) -> Any:
        key, field = {
            "list_training_jobs": ("TrainingJobSummaries", "TrainingJobName"),
            "list_transform_jobs": ("TransformJobSummaries", "TransformJobName"),
            "list_models": ("Models", "ModelName"),
        }[operation]
        names = self.names.get(operation, [])

        class Paginator:
            def paginate(self, NameContains: str):  # noqa: N803
                matching = [n for n in names if NameContains in n]
                for start in range(0, max(len(matching), 1), 2):
                    yield {key: [{field: n} for n in matching[start : start + 2]]}

        return Paginator()

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:  # noqa: N803
        self.described.append(TrainingJobName)
        return {"TrainingJobName": TrainingJobName, "ResourceConfig": {"InstanceType": "ml.m5.xlarge"}}

    def describe_transform_job(self, TransformJobName: str) -> dict[str, Any]:  # noqa: N803
        self.described.append(TransformJobName)
        return {"TransformJobName": TransformJobName}


def test_every_page_is_read() -> None:
    sm = PagedSageMaker({"list_models": [f"bankml-r-model-{n}" for n in range(5)]})
    assert [m["ModelName"] for m in named(sm, "list_models", "bankml-r")] == [f"bankml-r-model-{n}" for n in range(5)]


def test_a_run_owns_only_the_names_that_start_with_its_base() -> None:
    sm = PagedSageMaker({"list_models": ["bankml-r-model-1", "other-bankml-r-model-1", "bankml-q-model-1"]})
    assert [m["ModelName"] for m in of_run(sm, "list_models", "bankml-r")] == ["bankml-r-model-1"]


def test_the_runs_jobs_come_described() -> None:
    sm = PagedSageMaker(
        {
            "list_training_jobs": ["bankml-r", "bankml-r-1764600000", "bankml-q", "x-bankml-r"],
            "list_transform_jobs": ["bankml-r"],
        }
    )
    jobs = run_training_jobs(sm, "bankml-r")
    assert [j["TrainingJobName"] for j in jobs] == ["bankml-r", "bankml-r-1764600000"]
    assert jobs[0]["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert [j["TransformJobName"] for j in run_transform_jobs(sm, "bankml-r")] == ["bankml-r"]
    assert sm.described == ["bankml-r", "bankml-r-1764600000", "bankml-r"]


def test_nothing_listed_is_nothing_described() -> None:
    sm = PagedSageMaker({})
    assert run_training_jobs(sm, "bankml-r") == [] and sm.described == []
