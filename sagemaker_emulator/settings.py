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

    def update(self, changes: dict[str, object]) -> None:
        """Apply a partial update; raises ValueError naming the bad key or value."""
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown delay {key!r}; known: {', '.join(sorted(known))}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"delay {key!r} must be a number >= 0, got {value!r}")
        for key, value in changes.items():
            setattr(self, key, float(value))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    region: str = DEFAULT_REGION
    account_id: str = ACCOUNT_ID
    create_buckets: list[str] = field(default_factory=list)
    create_roles: list[str] = field(default_factory=list)
    delays: Delays = field(default_factory=Delays)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            host=os.environ.get("SAGEMAKER_EMULATOR_HOST", DEFAULT_HOST),
            port=int(os.environ.get("SAGEMAKER_EMULATOR_PORT", DEFAULT_PORT)),
            region=os.environ.get("SAGEMAKER_EMULATOR_REGION", DEFAULT_REGION),
            create_buckets=_env_list("SAGEMAKER_EMULATOR_CREATE_BUCKETS"),
            create_roles=_env_list("SAGEMAKER_EMULATOR_CREATE_ROLES"),
            delays=Delays.from_env(),
        )

    @property
    def internal_url(self) -> str:
        """URL the emulator's own workers (training jobs, endpoint loaders) use to reach it."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"
