"""Expectations more than one suite holds the pipeline to, written once."""

# What evaluate and evaluate_transform push to XCom: small values only (the documents stay in S3).
EVALUATION_SUMMARY_KEYS = {
    "accuracy",
    "roc_auc",
    "f1",
    "rows",
    "evaluation_seconds",
    "metrics_uri",
    "gain_at_20",
    "model_package_arn",
    "model_version",
    "approval_status",
    "approval_reason",
}

# A successful run with the default evaluation=endpoint: choose_evaluation skips the Batch Transform path,
# and every other task succeeds.
ENDPOINT_RUN_NOT_SUCCESS = {"transform": "skipped", "evaluate_transform": "skipped"}
