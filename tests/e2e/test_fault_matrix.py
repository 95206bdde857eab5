"""Make the run fail at each stage in turn; the teardown must leave nothing of the run behind.

After every fault: the teardown ran, the emulator lists no endpoint, endpoint config or
model of the run, the DAG run is failed, and what the stages before the fault produced is
still in S3.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.paths import FULL_DATASET

from .scenarios import Outcome, Scenario, run_all

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]  # a deadline for the whole matrix, not a speed check


def _files() -> dict[str, bytes]:
    original = gzip.decompress(FULL_DATASET.read_bytes())
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 1  # one flipped bit: a corrupted download
    header, _, rest = original.partition(b"\r\n")
    renamed = header.replace(b'"euribor3m"', b'"euribor_3m"') + b"\r\n" + rest  # a changed schema
    return {"/tampered.csv": bytes(tampered), "/renamed-column.csv": renamed}


@pytest.fixture(scope="module")
def data_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    files = _files()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files
    server.shutdown()


def scenarios(url: str, files: dict[str, bytes]) -> list[Scenario]:
    renamed_sha = hashlib.sha256(files["/renamed-column.csv"]).hexdigest()
    return [
        Scenario("bad_checksum", conf={"data_url": f"{url}/tampered.csv"}),
        Scenario("bad_schema", conf={"data_url": f"{url}/renamed-column.csv", "data_sha256": renamed_sha}),
        Scenario(
            "upload_error",
            faults={
                "request_errors": {
                    "service": "s3",
                    "method": "PUT",
                    "path_contains": "/data/",
                    "status": 500,
                    "code": "InternalError",
                    "message": "We encountered an internal error.",
                    "count": 1000,
                }
            },
        ),
        Scenario(
            "invalid_hyperparameter",
            conf={"hyperparameters": {"num_round": "10", "eta": "1.5", "objective": "binary:logistic"}},
        ),
        Scenario("training_failure", faults={"fail_next_training_job": "InternalServerError: injected"}),
        Scenario(
            "endpoint_failed",
            faults={
                "fail_next_endpoint": "The primary container for production "
                "variant AllTraffic did not pass the ping health check."
            },
        ),
        Scenario(
            "invocation_errors",
            faults={"invocation_errors": {"after": 2, "count": 1000, "status": 500, "message": "injected model crash"}},
        ),
        Scenario("quality_gate", conf={"min_auc": 0.99}),
        # 7 payloads at 10 s each, one at a time: the 40 s timeout fires while scoring. Airflow's
        # timeout is a SIGALRM: one that lands in a weakref finalizer (seen at load 20, while the
        # task was still importing) is swallowed by Python, so leave room for a slow start.
        Scenario(
            "evaluate_timeout",
            env={"BANKML_EVALUATE_TIMEOUT_SECONDS": "40"},
            conf={"evaluation_workers": 1},
            faults={"invocation_latency": {"seconds": 10, "count": 1000}},
            after=lambda emulator, home: emulator.control("GET", "faults"),
        ),
        # An emulator bug in the deployment thread: the endpoint must end Failed, not stay Creating.
        Scenario("deploy_crash", faults={"crash_next_endpoint": "injected bug"}),
        Scenario(
            "transform_failed",
            conf={"evaluation": "transform"},
            faults={"fail_next_transform_job": "InternalServerError: injected transform failure"},
        ),
    ]


FAILED_TASK = {
    "bad_checksum": "download",
    "bad_schema": "prepare",
    "upload_error": "prepare",  # prepare puts the channels to S3 itself
    "invalid_hyperparameter": "train",
    "training_failure": "train",
    "endpoint_failed": "deploy",
    "invocation_errors": "evaluate",
    "quality_gate": "evaluate",
    "evaluate_timeout": "evaluate",
    "deploy_crash": "deploy",
    "transform_failed": "transform",
}
# What must still be in S3 after the fault, under the run's prefix.
KEPT = {
    "bad_checksum": [],
    "bad_schema": [],
    "upload_error": [],
    "invalid_hyperparameter": ["data/train/train.csv", "data/test/test.csv"],
    "training_failure": ["data/train/train.csv"],
    "endpoint_failed": ["data/train/train.csv", "model.tar.gz"],
    "invocation_errors": ["data/test/test.csv", "model.tar.gz"],
    "quality_gate": ["model.tar.gz", "evaluation/metrics.json", "evaluation/roc_curve.png"],
    "evaluate_timeout": ["data/test/test.csv", "model.tar.gz"],
    "deploy_crash": ["data/train/train.csv", "model.tar.gz"],
    "transform_failed": ["data/test/test.csv", "model.tar.gz"],
}
MESSAGE = {
    "bad_checksum": "failed verification",
    "bad_schema": "euribor3m",
    "upload_error": "InternalError",
    "invalid_hyperparameter": "Hyperparameter eta: 1.5 is not in [0, 1]",
    "training_failure": "InternalServerError: injected",
    "endpoint_failed": "did not pass the ping health check",
    "invocation_errors": "injected model crash",
    "quality_gate": "Quality gate: ROC AUC",
    "evaluate_timeout": "Timeout",
    "deploy_crash": "is Failed: InternalServerError: RuntimeError: injected bug",
    "transform_failed": "InternalServerError: injected transform failure",
}


@pytest.fixture(scope="module")
def outcomes(data_server, airflow_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    url, files = data_server
    return run_all(scenarios(url, files), airflow_template, tmp_path_factory.mktemp("faults"), workers=3)


@pytest.mark.parametrize("name", list(FAILED_TASK))
def test_fault_fails_the_run_and_teardown_leaves_nothing(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    states = outcome.result.task_states
    assert outcome.result.run_state == "failed", outcome.explain()
    assert states[FAILED_TASK[name]] == "failed", outcome.explain()
    assert states["teardown"] == "success", outcome.explain()
    assert states["verify_cleanup"] == "success", outcome.explain()
    assert outcome.leftovers == {}, outcome.leftovers
    assert outcome.all_resources == {"endpoints": [], "endpoint_configs": [], "models": []}


@pytest.mark.parametrize("name", list(FAILED_TASK))
def test_fault_is_explained_in_the_failed_task_log(outcomes: dict[str, Outcome], name: str) -> None:
    assert MESSAGE[name] in outcomes[name].log(FAILED_TASK[name])


@pytest.mark.parametrize("name", list(FAILED_TASK))
def test_artifacts_of_stages_that_succeeded_are_kept(outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    for suffix in KEPT[name]:
        assert any(key.endswith(suffix) for key in outcome.s3_keys), (suffix, outcome.s3_keys)
    if FAILED_TASK[name] in ("download", "prepare"):
        assert not any("/data/" in key for key in outcome.s3_keys)


def test_nothing_downstream_runs_on_a_bad_download(outcomes: dict[str, Outcome]) -> None:
    states = outcomes["bad_checksum"].result.task_states
    assert all(states[t] == "upstream_failed" for t in ("prepare", "train", "deploy", "evaluate"))


def test_quality_gate_saves_metrics_before_failing(outcomes: dict[str, Outcome]) -> None:
    document = outcomes["quality_gate"].documents["metrics.json"]
    assert document["passed_quality_gate"] is False and document["min_auc"] == 0.99
    assert "cost" in document  # the teardown still adds the run's cost
    registry = document["registry"]  # registered before the gate fails: the rejection is on record
    assert (registry["version"], registry["status"]) == (1, "Rejected")
    assert registry["reason"].endswith("is below the quality gate min_auc 0.99")
    assert "(registered Rejected as bankml-economic v1; metrics saved at" in outcomes["quality_gate"].log("evaluate")


def test_failed_endpoint_was_deleted_by_the_teardown(outcomes: dict[str, Outcome]) -> None:
    log = outcomes["endpoint_failed"].log("teardown")
    assert "endpoint/bankml-" in log and "model/bankml-" in log and "endpoint-config/bankml-" in log


def _task_seconds(outcome: Outcome, task_id: str) -> float:
    [(start, end)] = outcome.query(
        "SELECT start_date, end_date FROM task_instance WHERE run_id=? AND task_id=?", task_id
    )
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def test_a_crashed_deployment_fails_deploy_fast(outcomes: dict[str, Outcome]) -> None:
    """The endpoint ends Failed at once, so `deploy` fails on its first poll instead of waiting out
    BANKML_ENDPOINT_WAIT_SECONDS (1800 s here) for an endpoint stuck in Creating; the bound is generous."""
    outcome = outcomes["deploy_crash"]
    assert "Endpoint bankml-" in outcome.log("deploy")
    assert _task_seconds(outcome, "deploy") < 300
    assert "endpoint/bankml-" in outcome.log("teardown")


def test_evaluate_timeout_stops_scoring_at_the_deadline(outcomes: dict[str, Outcome]) -> None:
    """7 payloads at 10 s each, one at a time, 40 s to do it: scoring must stop at its deadline and
    cancel the rest, so the endpoint served fewer invocations than there were payloads."""
    outcome = outcomes["evaluate_timeout"]
    log = outcome.log("evaluate")
    payloads = int(re.search(r"in (\d+) payloads, 1 at a time", log).group(1))
    served = 1000 - outcome.after_value["invocation_latency"]["count"]
    assert "Timeout: scoring stopped at its deadline" in log and "queued payloads were cancelled" in log
    assert served < payloads, (served, payloads)
