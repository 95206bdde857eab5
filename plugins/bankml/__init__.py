"""Pipeline library for the bank-marketing XGBoost-on-SageMaker DAG (data, configs, evaluation, teardown)."""
