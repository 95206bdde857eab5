"""Benchmark multi-instance training in the SageMaker emulator: 1, 2 and 4 instances on the bank data.

Starts the emulator on a free port, puts the tutorial's training split into S3 as SHARDS objects and
trains the tutorial's model (3.0-5 image) once per row: one instance on all of it, then 2 and 4
instances with ShardedByS3Key (each host reads its share; xgboost's collective joins them into one
model) and 2 instances FullyReplicated (each host reads everything). Prints, per row, the wall time
from CreateTrainingJob to Completed, the job's own TrainingStartTime to TrainingEndTime, and the test
ROC AUC of the uploaded model. All hosts share this machine's cores: each gets cores / instances threads.
Run: .venv/bin/python -m bench.multi_instance_bench
"""

from __future__ import annotations

import time

import boto3
import xgboost as xgb
from sklearn.metrics import roc_auc_score

from bench.emulator_bench import (
    BUCKET,
    HYPERPARAMETERS,
    IMAGE,
    ROLE,
    local_booster,
    start_emulator,
    to_csv,
    tutorial_split,
)
from tools.local_setup import client_kwargs

SHARDS = 4
RUNS = [(1, "FullyReplicated"), (2, "ShardedByS3Key"), (4, "ShardedByS3Key"), (2, "FullyReplicated")]


def train(sm, instances: int, distribution: str) -> tuple[float, float, str]:
    """(create to Completed, TrainingStartTime to TrainingEndTime, model artifacts) of one job."""
    name = f"bench-{instances}-{distribution.lower()}"
    started = time.perf_counter()
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        InputDataConfig=[{"ChannelName": "train", "ContentType": "text/csv",
                          "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/shards/",
                                                          "S3DataDistributionType": distribution}}}],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": instances, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
        HyperParameters=HYPERPARAMETERS,
    )  # fmt: skip
    sm.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 3000}
    )
    wall = time.perf_counter() - started
    job = sm.describe_training_job(TrainingJobName=name)
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"{name} failed: {job.get('FailureReason')}")
    own = (job["TrainingEndTime"] - job["TrainingStartTime"]).total_seconds()
    return wall, own, job["ModelArtifacts"]["S3ModelArtifacts"]


def main() -> None:
    train_split, test = tutorial_split()
    labelled = train_split[["y_yes"] + [c for c in train_split.columns if c not in ("y_no", "y_yes")]]
    features = xgb.DMatrix(test.drop(["y_no", "y_yes"], axis=1).to_numpy(dtype=float))
    process, url = start_emulator()
    try:
        aws = client_kwargs(url)
        sm, s3 = boto3.client("sagemaker", **aws), boto3.client("s3", **aws)
        size = -(-len(labelled) // SHARDS)
        for shard in range(SHARDS):
            part = labelled.iloc[shard * size : (shard + 1) * size]
            s3.put_object(Bucket=BUCKET, Key=f"shards/part-{shard}.csv", Body=to_csv(part))
        print(f"multi-instance training: {len(labelled)} rows in {SHARDS} objects, tutorial hyperparameters, "
              f"test AUC on {len(test)} rows", flush=True)  # fmt: skip
        print(
            f"{'instances':>9}  {'distribution':<16}  {'create→Completed s':>18}  {'training s':>10}  {'test AUC':>8}"
        )
        for instances, distribution in RUNS:
            wall, own, artifacts = train(sm, instances, distribution)
            auc = roc_auc_score(test["y_yes"], local_booster(s3, artifacts).predict(features))
            print(f"{instances:>9}  {distribution:<16}  {wall:>18.1f}  {own:>10.1f}  {auc:>8.4f}", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
