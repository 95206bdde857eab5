"""The built-in XGBoost algorithm of SageMaker, re-implemented after aws/sagemaker-xgboost-container.

versions.py (image tags and how they differ), hyperparameters.py and channels.py (the container's validation),
data.py (reading channels), training.py (the train entry point), serving.py (the inference server),
metrics.py, container_log.py, errors.py. The server side (sagemaker/) calls only versions.resolve_image,
training.run / training.parse_metrics and serving.ScoringService.
"""
