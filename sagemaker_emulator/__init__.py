"""A local SageMaker emulator: control plane, sagemaker-runtime and (via moto) S3, CloudWatch Logs,
STS and IAM on one port. Start it with `python -m sagemaker_emulator`; see README.md."""

import os
import sys

# The emulator's "instances" share this machine's cores with Airflow, the browser and each other.
# libgomp (xgboost's OpenMP runtime) by default spins idle threads before sleeping: on 2 busy
# cores one tutorial training took 4x the CPU and 3.5x the wall time it takes with passive waiting,
# which changes no result. libgomp reads this when xgboost loads it; a setting of your own wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Model archives are unpacked with tarfile's extraction filters (filter="data"), which
# Python added in 3.11.4; older interpreters would fail at the first deploy, not here.
if sys.version_info < (3, 11, 4):
    raise RuntimeError(
        f"sagemaker_emulator needs Python 3.11.4 or newer (tarfile extraction filters); "
        f"this is {sys.version.split()[0]} at {sys.executable}"
    )
