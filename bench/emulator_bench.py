"""Benchmark the SageMaker emulator's InvokeEndpoint.

Starts the emulator on a free port, trains the tutorial's XGBoost model on the tutorial split
(rebuilt here from the shipped bank-additional-full.csv.gz with the recipe in tests/data/README.md),
deploys it and prints:
  - InvokeEndpoint latency p50/p99 for a one-row CSV payload;
  - seconds to score the 12,357-row test set through the endpoint (a few large CSV chunks sent
    concurrently) next to in-process xgboost prediction of the same rows on the same model (both
    warmed up, then the median of SCORING_RUNS alternated runs: the machine may be shared);
  - errors under 50 concurrent clients;
  - evaluation without an endpoint: a Batch Transform job over the same rows (create to Completed, and
    the job's own TransformStartTime to TransformEndTime; median of TRANSFORM_RUNS jobs), next to the
    endpoint path (create to InService, plus scoring).
Run: .venv/bin/python bench/emulator_bench.py
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import xgboost as xgb
from botocore.config import Config
from botocore.exceptions import ClientError

from tools.local_setup import client_kwargs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "plugins" / "bankml" / "resources" / "bank-additional-full.csv.gz"  # the copy the project ships
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "emulator-bench"
HYPERPARAMETERS = {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.8",
                   "objective": "binary:logistic", "num_round": "100"}  # fmt: skip
CHUNKS = 4
SCORING_RUNS = 15
LATENCY_CALLS = 300
CLIENTS = 50
CALLS_PER_CLIENT = 20
TRANSFORM_RUNS = 5


def tutorial_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The AWS tutorial's bank_clean recipe and its 70/30 split (sample(frac=1, random_state=1729))."""
    data = pd.read_csv(DATA, sep=";")
    data["no_previous_contact"] = np.where(data["pdays"] == 999, 1, 0)
    data["not_working"] = np.where(np.isin(data["job"], ["student", "retired", "unemployed"]), 1, 0)
    model_data = pd.get_dummies(data, dtype=np.uint8)
    model_data = model_data.drop(
        ["duration", "emp.var.rate", "cons.price.idx", "cons.conf.idx", "euribor3m", "nr.employed"], axis=1
    )
    shuffled = model_data.sample(frac=1, random_state=1729)
    cut = int(0.7 * len(shuffled))
    return shuffled.iloc[:cut], shuffled.iloc[cut:]


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(header=False, index=False).encode()


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_emulator", "--port", str(port), "--create-bucket", BUCKET],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return process, f"http://127.0.0.1:{port}"


def train_and_deploy(sm, s3, train: pd.DataFrame) -> tuple[str, float]:
    """The model's artifacts URL and the seconds from CreateEndpoint to InService."""
    labelled = pd.concat([train["y_yes"], train.drop(["y_no", "y_yes"], axis=1)], axis=1)
    s3.put_object(Bucket=BUCKET, Key="train/train.csv", Body=to_csv(labelled))
    sm.create_training_job(
        TrainingJobName="bench",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/train"}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        HyperParameters=HYPERPARAMETERS,
    )  # fmt: skip
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="bench", WaiterConfig={"Delay": 1, "MaxAttempts": 600}
    )
    job = sm.describe_training_job(TrainingJobName="bench")
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"training failed: {job.get('FailureReason')}")
    artifacts = job["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(
        ModelName="bench", PrimaryContainer={"Image": IMAGE, "ModelDataUrl": artifacts}, ExecutionRoleArn=ROLE
    )
    sm.create_endpoint_config(EndpointConfigName="bench", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "bench", "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}])  # fmt: skip
    started = time.perf_counter()
    sm.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="bench", WaiterConfig={"Delay": 0.1, "MaxAttempts": 1200})
    return artifacts, time.perf_counter() - started


def transform_once(sm, s3, number: int) -> tuple[float, float, np.ndarray]:
    """One Batch Transform job over the test rows: (create to Completed, start to end, scores)."""
    name = f"bench-transform-{number}"
    started = time.perf_counter()
    sm.create_transform_job(
        TransformJobName=name, ModelName="bench",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/transform-in/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/transform-out/{name}", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
    )  # fmt: skip
    sm.get_waiter("transform_job_completed_or_stopped").wait(
        TransformJobName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 3000}
    )
    wall = time.perf_counter() - started
    job = sm.describe_transform_job(TransformJobName=name)
    body = s3.get_object(Bucket=BUCKET, Key=f"transform-out/{name}/test.csv.out")["Body"].read()
    return (
        wall,
        (job["TransformEndTime"] - job["TransformStartTime"]).total_seconds(),
        np.array(body.split(), dtype=float),
    )


def local_booster(s3, artifacts: str) -> xgb.Booster:
    bucket, _, key = artifacts.removeprefix("s3://").partition("/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        raw = tar.extractfile("xgboost-model").read()
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster


def invoke(runtime, body: bytes) -> bytes:
    return runtime.invoke_endpoint(EndpointName="bench", Body=body, ContentType="text/csv")["Body"].read()


def main() -> None:
    train, test = tutorial_split()
    features = test.drop(["y_no", "y_yes"], axis=1)
    process, url = start_emulator()
    try:
        aws = client_kwargs(url)
        sm, s3 = boto3.client("sagemaker", **aws), boto3.client("s3", **aws)
        runtime = boto3.client(
            "sagemaker-runtime", config=Config(max_pool_connections=CLIENTS, retries={"total_max_attempts": 1}), **aws
        )
        print(f"training on {train.shape[0]} rows and deploying (image {IMAGE})...", flush=True)
        artifacts, deploy_seconds = train_and_deploy(sm, s3, train)

        one_row = to_csv(features.iloc[:1])
        invoke(runtime, one_row)  # warm up the connection
        latencies = []
        for _ in range(LATENCY_CALLS):
            started = time.perf_counter()
            invoke(runtime, one_row)
            latencies.append((time.perf_counter() - started) * 1000)
        p50, p99 = np.percentile(latencies, [50, 99])
        print(f"InvokeEndpoint latency, 1-row payload ({LATENCY_CALLS} calls): p50 {p50:.1f} ms, p99 {p99:.1f} ms")

        chunks = [to_csv(features.iloc[rows]) for rows in np.array_split(np.arange(len(features)), CHUNKS)]
        matrix = features.to_numpy(dtype=np.float32)
        booster = local_booster(s3, artifacts)

        def score_endpoint() -> tuple[float, np.ndarray]:
            started = time.perf_counter()
            with ThreadPoolExecutor(CHUNKS) as pool:
                answers = list(pool.map(lambda body: invoke(runtime, body), chunks))
            seconds = time.perf_counter() - started
            return seconds, np.array([float(v) for answer in answers for v in answer.decode().split()])

        def score_in_process() -> tuple[float, np.ndarray]:
            started = time.perf_counter()
            scores = booster.predict(xgb.DMatrix(matrix))
            return time.perf_counter() - started, scores

        score_endpoint(), score_in_process()  # warm up both: connections, allocations, OpenMP threads
        endpoint_runs, local_runs = [], []
        for _ in range(SCORING_RUNS):  # alternated, so both see the same background load
            endpoint_runs.append(score_endpoint())
            local_runs.append(score_in_process())
        endpoint_seconds = float(np.median([seconds for seconds, _ in endpoint_runs]))
        local_seconds = float(np.median([seconds for seconds, _ in local_runs]))
        difference = max(
            float(np.max(np.abs(served - local))) for (_, served), (_, local) in zip(endpoint_runs, local_runs)
        )
        print(
            f"score {len(features):,} rows: endpoint {endpoint_seconds:.3f} s ({CHUNKS} concurrent CSV chunks), "
            f"in-process {local_seconds:.3f} s, ratio {endpoint_seconds / local_seconds:.1f}x "
            f"(medians of {SCORING_RUNS} runs); max |difference| {difference:.2e}"
        )

        s3.put_object(Bucket=BUCKET, Key="transform-in/test.csv", Body=to_csv(features))
        transforms = [transform_once(sm, s3, number) for number in range(TRANSFORM_RUNS)]
        transform_wall = float(np.median([wall for wall, _, _ in transforms]))
        transform_job = float(np.median([job for _, job, _ in transforms]))
        transform_difference = max(float(np.max(np.abs(scores - endpoint_runs[0][1]))) for _, _, scores in transforms)
        print(
            f"evaluate {len(features):,} rows without an endpoint: transform job {transform_wall:.2f} s create to "
            f"Completed ({transform_job:.2f} s TransformStartTime to TransformEndTime; medians of {TRANSFORM_RUNS} "
            f"jobs; emulator step_seconds 0.2 included) vs endpoint {deploy_seconds:.2f} s to InService + "
            f"{endpoint_seconds:.3f} s scoring = {deploy_seconds + endpoint_seconds:.2f} s; "
            f"max |transform - endpoint| {transform_difference:.2e}"
        )

        bodies = [one_row, to_csv(features.iloc[:100])]

        def client(index: int) -> int:
            errors = 0
            for call in range(CALLS_PER_CLIENT):
                try:
                    invoke(runtime, bodies[(index + call) % 2])
                except ClientError:
                    errors += 1
            return errors

        with ThreadPoolExecutor(CLIENTS) as pool:
            errors = sum(pool.map(client, range(CLIENTS)))
        print(f"{CLIENTS} concurrent clients x {CALLS_PER_CLIENT} calls: {errors} errors")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
