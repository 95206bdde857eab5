"""Errors of the emulated XGBoost container.

UserError and AlgorithmError mirror the container's `sagemaker_algorithm_toolkit.exceptions`
(same names, same "(caused by X)" suffix) because their text ends up, verbatim, in FailureReason.
UnsupportedImageError and ModelLoadError are the emulator's own: they never reach a job's log, only
the server side's control plane (a FailureReason, an endpoint's status).
"""

from __future__ import annotations


class ToolkitError(Exception):
    """Base of the container's errors: the message, plus "(caused by <type>)" when wrapping one."""

    def __init__(self, message: str, caused_by: BaseException | None = None) -> None:
        if caused_by is not None:
            message = f"{message} (caused by {type(caused_by).__name__})"
        super().__init__(message)
        self.message = message
        self.caused_by = caused_by


class UserError(ToolkitError):
    """A failure the user can fix (hyperparameters, channels, data)."""


class AlgorithmError(ToolkitError):
    """A failure of the algorithm itself, or of something the emulator does not reproduce."""


class UnsupportedImageError(ValueError):
    """The training or inference image is not one the emulator implements; str() names the supported ones."""


class ModelLoadError(Exception):
    """The model artefact cannot be served; str() is a user-facing reason."""


def xgboost_message(error: BaseException) -> str:
    """An xgboost error's text without the native stack trace xgboost appends (paths of this machine's library)."""
    return str(error).split("\nStack trace:")[0]


def is_peer_failure(reason: str) -> bool:
    """Whether a FailureReason is xgboost's collective losing another host (not this host's own fault).
    Here, not in `distributed`, so the emulator's job supervisor can tell without importing xgboost."""
    return "src/collective/" in reason
