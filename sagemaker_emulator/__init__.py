"""A local SageMaker emulator: control plane, sagemaker-runtime and (via moto) S3, CloudWatch Logs,
STS and IAM on one port. Start it with `python -m sagemaker_emulator`; see README.md."""
