"""What `make demo` prints about a run, from `airflow dags test` output as Airflow 3.3 writes it."""

from __future__ import annotations

from tools.demo_report import (
    exception_message,
    first_failed_task,
    param_error,
    task_log,
    task_table,
    warnings_of,
)

TRAIN_FAILED = """\
2026-12-01T10:42:40.551162Z [info     ] [DAG TEST] starting task_id=train map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1501
2026-12-01T10:42:49.360093Z [info     ] 2026-12-01 10:42:48 Failed - Training job failed [airflow.task.operators.bankml.training_operator.TailedTrainingOperator] loc=training_operator.py:71
2026-12-01T10:42:49.370935Z [error    ] Task failed with exception     [task] loc=task_runner.py:1676
Traceback (most recent call last):
  File "/x/airflow/sdk/execution_time/task_runner.py", line 1579, in _run_task_and_map_outcome
    result = _execute_task(context=context, ti=ti, log=log)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/x/plugins/bankml/training_operator.py", line 47, in execute
    raise TrainingJobFailed(f"Training job {name} is {status}: {reason}")
bankml.training_operator.TrainingJobFailed: Training job bankml-20261201-104219-f73e310c is Failed: AlgorithmError: framework error: 
Traceback (most recent call last):
  File "/x/sagemaker_emulator/xgboost_container/hyperparameters.py", line 105, in validate_range
    raise UserError(f"Hyperparameter {self.name}: {value} is not in {self.range}")
UserError: Hyperparameter num_round: 0 is not in [1, +inf)

Hyperparameter num_round: 0 is not in [1, +inf)
2026-12-01T10:42:49.372171Z [info     ] ::group::Post Execute          [task] loc=task_runner.py:1677
2026-12-01T10:42:49.460883Z [info     ] [DAG TEST] end task task_id=train map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1563
2026-12-01T10:42:50.551162Z [info     ] [DAG TEST] starting task_id=teardown map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1501
2026-12-01T10:42:50.651162Z [info     ] Deleted nothing [bankml.teardown] loc=teardown.py:1
2026-12-01T10:42:50.751162Z [info     ] [DAG TEST] end task task_id=teardown map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1563
"""

DEPLOY_CHAINED = """\
2026-12-01T10:50:00.000000Z [info     ] [DAG TEST] starting task_id=deploy map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1501
2026-12-01T10:50:09.000000Z [error    ] Task failed with exception     [task] loc=task_runner.py:1676
Traceback (most recent call last):
  File "/x/plugins/bankml/operators.py", line 70, in execute
    return super().execute(context)
botocore.exceptions.WaiterError: Waiter EndpointInService failed: Waiter encountered a terminal failure state: For expression "EndpointStatus" we matched expected path: "Failed"

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/x/plugins/bankml/operators.py", line 72, in execute
    raise RuntimeError(self._failure(plan.endpoint_name, err)) from err
RuntimeError: Endpoint bankml-x is Failed: The primary container did not pass the ping health check.
2026-12-01T10:50:09.100000Z [info     ] [DAG TEST] end task task_id=deploy map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1563
"""


def test_the_failed_tasks_whole_message_with_the_reason_inside_it() -> None:
    message = exception_message(task_log(TRAIN_FAILED, "train"))
    assert message.startswith("bankml.training_operator.TrainingJobFailed: Training job bankml-")
    assert "is Failed: AlgorithmError: framework error:" in message
    assert message.endswith("Hyperparameter num_round: 0 is not in [1, +inf)")
    assert "::group::" not in message and "task_runner.py" not in message


def test_of_a_chain_the_exception_the_task_raised_last() -> None:
    message = exception_message(task_log(DEPLOY_CHAINED, "deploy"))
    assert (
        message
        == "RuntimeError: Endpoint bankml-x is Failed: The primary container did not pass the ping health check."
    )


def test_a_task_without_an_exception_or_not_run() -> None:
    assert exception_message(task_log(TRAIN_FAILED, "teardown")) is None
    assert task_log(TRAIN_FAILED, "evaluate") == ""


def test_the_first_failed_task_in_run_order_not_the_teardown() -> None:
    states = {"plan": "success", "train": "failed", "deploy": "upstream_failed", "teardown": "failed"}
    assert first_failed_task(states, ["plan", "train", "teardown", "deploy"]) == "train"
    assert first_failed_task({"plan": "success"}, ["plan"]) is None


def test_airflows_param_message_verbatim() -> None:
    output = (
        "Traceback ...\nairflow.sdk.exceptions.ParamValidationError: Invalid input for param min_auc: "
        "2 is greater than the maximum of 1\n"
    )
    assert param_error(output) == "Invalid input for param min_auc: 2 is greater than the maximum of 1"
    assert param_error(TRAIN_FAILED) is None


def test_the_pipelines_warnings_once_each_without_the_logger() -> None:
    line = (
        "2026-12-01T10:42:36.924774Z [warning  ] WARNING: could not download https://x (gaierror). Using the "
        "copy shipped with bankml [bankml.tasks] loc=tasks.py:105"
    )
    other = "2026-12-01T10:42:36.924774Z [warning  ] deprecated thing [airflow.models] loc=x.py:1"
    assert warnings_of("\n".join([line, other, line])) == [
        "WARNING: could not download https://x (gaierror). Using the copy shipped with bankml"
    ]


def test_the_task_table_says_what_did_not_run() -> None:
    states = {
        "plan": "success",
        "train": "failed",
        "deploy": "upstream_failed",
        "evaluate": "skipped",
        "verify_cleanup": None,
    }
    table = task_table(states, {"plan": 1.04, "train": 6.1}, ["plan", "train", "deploy", "evaluate", "verify_cleanup"])
    assert table == (
        "plan 1.0, train 6.1 (failed), deploy upstream failed, evaluate skipped, verify_cleanup did not run"
    )
