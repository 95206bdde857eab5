"""The SageMaker control plane and sagemaker-runtime, emulated (moto-like split: models = state, responses = wire)."""
