from datetime import UTC, datetime

from bankml.run_plan import MAX_NAME_LENGTH, SAGEMAKER_NAME, RunPlan, plan_run

AFTER = datetime(2026, 11, 28, 1, 50, 7, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 1, 51, tzinfo=UTC)


def make(run_id: str = "manual__2026-11-28T01:50:07.123456+00:00", **kw) -> RunPlan:
    args = dict(
        dag_id="bank_marketing_xgboost", run_id=run_id, run_after=AFTER, bucket="b", prefix="bankml/", created_at=NOW
    )
    args.update(kw)
    return plan_run(**args)


def test_same_run_same_names():
    assert make() == make()
    assert make().to_dict() == RunPlan.from_dict(make().to_dict()).to_dict()


def test_different_runs_never_share_names_or_prefix():
    a, b = make("manual__a"), make("manual__b")
    assert a.base_name != b.base_name
    assert a.run_prefix != b.run_prefix


def test_names_are_valid_sagemaker_names_with_retry_suffixes():
    plan = make("scheduled__" + "x" * 200)
    for name in (
        plan.training_job_name + "-1764294600",
        plan.model_name(12),
        plan.endpoint_config_name(12),
        plan.endpoint_name,
    ):
        assert len(name) <= MAX_NAME_LENGTH
        assert SAGEMAKER_NAME.match(name), name
    assert plan.base_name.startswith("bankml-20261128-015007-")


def test_s3_layout_is_under_the_run_prefix():
    plan = make()
    assert plan.uri("data", "train") == f"s3://b/bankml/{plan.run_key}/data/train"
    assert make(prefix="").key("x") == f"{plan.run_key}/x"


def test_tags_identify_project_dag_and_run():
    tags = {t["Key"]: t["Value"] for t in make().tags("2026-11-28T02:00:00+00:00")}
    assert tags == {
        "project": "bankml",
        "dag_id": "bank_marketing_xgboost",
        "run_id": "manual__2026-11-28T01:50:07.123456+00:00",
        "created_at": "2026-11-28T02:00:00+00:00",
    }


def test_an_invalid_dag_id_cannot_make_invalid_names():
    # dag ids only enter names through the hash, so any dag id gives valid names
    assert SAGEMAKER_NAME.match(make(dag_id="weird dag/id").base_name)
