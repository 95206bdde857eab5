"""The DAG files: import cleanly, cheaply, and wire the teardown as the issue requires."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "xgboost", "sklearn", "matplotlib", "sagemaker", "numpy")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["bank_marketing_xgboost"]


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == {"bank_marketing_xgboost", "bankml_janitor"}


def test_task_chain(dag) -> None:
    up = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
    assert up["preflight"] == ["plan"]
    assert up["download"] == ["plan", "preflight"]
    # tasks hand data over in S3 only: prepare writes the channels itself, no upload step
    assert up["prepare"] == ["download", "plan"]
    assert up["training_config"] == ["plan", "preflight", "prepare"]  # the image preflight resolved
    assert "upload" not in up
    assert up["train"] == ["training_config"]
    assert "train" in up["deploy"] and "deploy" in up["evaluate"]
    assert up["teardown"] == ["evaluate", "evaluate_transform", "plan"]
    assert up["verify_cleanup"] == ["teardown"]


def test_teardown_is_wired_to_the_plan_setup(dag) -> None:
    plan, teardown = dag.get_task("plan"), dag.get_task("teardown")
    assert plan.is_setup and not plan.is_teardown
    # on_failure_fail_dagrun would make the teardown the run's only leaf and hide body failures
    assert teardown.is_teardown and not teardown.on_failure_fail_dagrun
    verify = dag.get_task("verify_cleanup")
    assert verify.trigger_rule == "all_done" and not verify.is_teardown
    # every task that creates or uses a SageMaker resource is inside the setup/teardown scope
    for task_id in ("train", "deploy", "evaluate", "transform", "evaluate_transform"):
        assert "plan" in dag.get_task(task_id).get_flat_relative_ids(upstream=True)
    assert teardown.trigger_rule == "all_done_setup_success"
    assert [t.task_id for t in dag.tasks if t.is_setup] == ["plan"]


def test_exactly_one_evaluation_path_runs(dag) -> None:
    """The branch picks deploy (then evaluate) or transform (then evaluate_transform); the other path is skipped."""
    from bankml.dag_params import evaluation_path

    branch = dag.get_task("choose_evaluation")
    assert sorted(branch.downstream_task_ids) == ["deploy", "transform"] and branch.upstream_task_ids == {"train"}
    assert evaluation_path({"evaluation": "endpoint"}) == "deploy"
    assert evaluation_path({"evaluation": "transform"}) == "transform"
    assert "transform" in dag.get_task("evaluate_transform").upstream_task_ids
    assert "deploy" not in dag.get_task("transform").get_flat_relative_ids(upstream=True)
    assert dag.params.dump()["evaluation"] == "endpoint"


def test_scheduling_and_params(dag) -> None:
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.doc_md and "teardown" in dag.doc_md
    params = dag.params.dump()
    assert params["feature_set"] == "economic"
    assert params["xgboost_version"] == "3.0-5"
    assert "silent" not in params["hyperparameters"]
    assert set(params) >= {
        "feature_set",
        "hyperparameters",
        "xgboost_version",
        "training_instance_type",
        "endpoint_instance_type",
        "min_auc",
    }


@pytest.mark.parametrize(
    "conf, message",
    [
        ({"feature_set": "all"}, "feature_set"),
        ({"min_auc": 1.5}, "min_auc"),
        ({"xgboost_version": "0.90-1"}, "xgboost_version"),
        ({"evaluation": "notebook"}, "evaluation"),
    ],
)
def test_bad_trigger_conf_is_refused(dag, conf, message) -> None:
    from airflow.sdk.definitions.param import ParamsDict

    params = ParamsDict(dag.params)
    with pytest.raises(Exception, match=message):
        params.update(conf)
        params.validate()


def test_dag_file_imports_no_heavy_library(tmp_path: Path) -> None:
    """Parsing runs in the dag-processor loop: keep pandas, xgboost, sagemaker & co out of it."""
    code = (
        "import importlib.util, json, sys, time\n"
        "t = time.perf_counter()\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(ROOT / 'dags/bank_marketing_xgboost.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    assert _in_a_fresh_interpreter(code, tmp_path) == []


def _in_a_fresh_interpreter(code: str, home: Path, **env: str) -> object:
    """What `code` printed last, as JSON, run by a fresh interpreter with only PATH, AIRFLOW_HOME and `env`."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(home), **env},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_janitor_dag(dagbag) -> None:
    janitor = dagbag.dags["bankml_janitor"]
    assert [t.task_id for t in janitor.tasks] == ["sweep"]
    assert janitor.catchup is False and janitor.max_active_runs == 1
    assert janitor.params.dump()["ttl_minutes"] == 240


def test_airflow_loads_only_the_ui_plugin_from_the_plugins_folder(tmp_path: Path) -> None:
    """Airflow imports every .py file under plugins/ as a top-level module, at every process start:
    plugins/.airflowignore keeps the bankml library out (it was 2 s of imports, and modules named
    `tasks`, `settings`, `plots` beside bankml's own)."""
    code = (
        "import json, sys\n"
        "from airflow import plugins_manager\n"
        "names = [p['name'] for p in plugins_manager.get_plugin_info(['name'])]\n"
        f"print(json.dumps([names, [m for m in {HEAVY + ('tasks', 'settings', 'plots')!r} if m in sys.modules]]))\n"
    )
    loaded = _in_a_fresh_interpreter(
        code, tmp_path, AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"), AIRFLOW__CORE__LOAD_EXAMPLES="False"
    )
    assert loaded == [["bankml_ui"], []]
