"""A local SageMaker emulator: control plane, sagemaker-runtime and (via moto) S3, CloudWatch Logs,
STS and IAM on one port. Start it with `python -m sagemaker_emulator`; see README.md."""

import sys

# Model archives are unpacked with tarfile's extraction filters (filter="data"), which
# Python added in 3.11.4; older interpreters would fail at the first deploy, not here.
if sys.version_info < (3, 11, 4):
    raise RuntimeError(
        f"sagemaker_emulator needs Python 3.11.4 or newer (tarfile extraction filters); "
        f"this is {sys.version.split()[0]} at {sys.executable}"
    )
