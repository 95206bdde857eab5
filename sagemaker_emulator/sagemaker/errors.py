"""Service errors with the codes and messages the real SageMaker APIs return."""

from __future__ import annotations


class SageMakerError(Exception):
    """An error answered on the wire as {"__type": code, "message": message} with HTTP `status`."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> SageMakerError:
    """ValidationException: also how SageMaker reports a missing resource (waiters depend on it)."""
    return SageMakerError("ValidationException", message)


def resource_in_use(message: str) -> SageMakerError:
    return SageMakerError("ResourceInUse", message)


def internal_failure(error: BaseException) -> str:
    """The FailureReason of a resource whose background work raised something unexpected."""
    return f"InternalServerError: {type(error).__name__}: {error}"[:1024]
