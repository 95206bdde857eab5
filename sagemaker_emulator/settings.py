"""Emulator settings: identity, network address and state-transition delays.

Everything has a default that makes a whole train -> deploy -> invoke -> delete cycle take
seconds; each value can be overridden from the environment (documented in README.md).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields

ACCOUNT_ID = "123456789012"  # moto's default account: S3, Logs and IAM agree with SageMaker
DEFAULT_REGION = "us-east-1"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


@dataclass
class Delays:
    """Seconds a resource spends in each transient state (mutable at runtime via /_emulator/delays)."""

    step_seconds: float = 0.2  # pause at every secondary status of a training job
    training_seconds: float = 0.0  # minimum time a job spends in its Training step
    endpoint_creating_seconds: float = 0.3
    endpoint_updating_seconds: float = 0.3
    endpoint_deleting_seconds: float = 0.3

    @classmethod
    def from_env(cls) -> Delays:
        """Read SAGEMAKER_EMULATOR_<FIELD> (e.g. SAGEMAKER_EMULATOR_STEP_SECONDS=1)."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"SAGEMAKER_EMULATOR_{f.name.upper()}")
            if raw is not None:
                values[f.name] = float(raw)
        return cls(**values)

    def update(self, changes: dict[str, float]) -> None:
        """Apply a partial update already checked against control.DELAYS_SPEC."""
        for key, value in changes.items():
            setattr(self, key, float(value))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Limits:
    """What one client may cost the machine the emulator runs on (see README "Limits")."""

    invocation_timeout_seconds: float = 60.0  # SageMaker's: the model must answer within 60 s
    max_model_bytes: int = 1024**3  # extracted ModelDataUrl (and the archive itself): a tar bomb stops here
    max_model_files: int = 10_000
    max_training_jobs: int = 4  # running at once: each is a process with xgboost in it
    max_training_instances: int = 4  # InstanceCount of one training job: each instance is such a process

    @classmethod
    def from_env(cls) -> Limits:
        """Read SAGEMAKER_EMULATOR_<FIELD>; every limit must be a positive number."""
        values: dict[str, float] = {}
        for f in fields(cls):
            name = f"SAGEMAKER_EMULATOR_{f.name.upper()}"
            raw = os.environ.get(name)
            if raw is None:
                continue
            try:
                value = float(raw) if f.type == "float" else int(raw)
            except ValueError:
                raise ValueError(f"{name} must be a {f.type}, got {raw!r}") from None
            if value <= 0:
                raise ValueError(f"{name} must be > 0, got {raw!r}")
            values[f.name] = value
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    region: str = DEFAULT_REGION
    account_id: str = ACCOUNT_ID
    create_buckets: list[str] = field(default_factory=list)
    create_roles: list[str] = field(default_factory=list)
    allow_origins: list[str] = field(default_factory=list)  # browser origins allowed in; none by default
    delays: Delays = field(default_factory=Delays)
    limits: Limits = field(default_factory=Limits)
    # Start the forkserver that training hosts are forked from (it imports xgboost once, ~4 s of CPU)
    # with the emulator, so the first job waits for no import; off, the first job starts it
    # (sagemaker/runner_pool.py). Either way an emulator pays the imports once, not per job.
    warm_training_runner: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            host=os.environ.get("SAGEMAKER_EMULATOR_HOST", DEFAULT_HOST),
            port=int(os.environ.get("SAGEMAKER_EMULATOR_PORT", DEFAULT_PORT)),
            region=os.environ.get("SAGEMAKER_EMULATOR_REGION", DEFAULT_REGION),
            create_buckets=_env_list("SAGEMAKER_EMULATOR_CREATE_BUCKETS"),
            create_roles=_env_list("SAGEMAKER_EMULATOR_CREATE_ROLES"),
            allow_origins=_env_list("SAGEMAKER_EMULATOR_ALLOW_ORIGINS"),
            delays=Delays.from_env(),
            limits=Limits.from_env(),
            warm_training_runner=os.environ.get("SAGEMAKER_EMULATOR_WARM_TRAINING_RUNNER", "1") != "0",
        )

    @property
    def internal_url(self) -> str:
        """URL the emulator's own workers (training jobs, endpoint loaders) use to reach it."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"
