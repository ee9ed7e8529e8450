"""Bedrock runtime errors as the emulator answers them (restJson1 error shape)."""

from __future__ import annotations

from collections.abc import Mapping

# Bedrock runtime error code -> HTTP status (botocore's bedrock-runtime service model; the last
# two are the generic AWS front-end answers for an unparsable body and an unknown route).
STATUS_BY_CODE: Mapping[str, int] = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ModelStreamErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
    "SerializationException": 400,
    "UnknownOperationException": 404,
}

# What Bedrock says with each error when a fault is injected without a message of its own.
DEFAULT_MESSAGES: Mapping[str, str] = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ServiceUnavailableException": "Bedrock is unable to process your request.",
    "ModelTimeoutException": "Model has timed out in processing the request. Try your request "
    "again.",
    "InternalServerException": "The server encountered an internal error while processing the "
    "request.",
    "ModelNotReadyException": "Model is not ready to serve inference requests. The AWS SDK will "
    "automatically retry the operation.",
    "ModelErrorException": "The model returned an error.",
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ResourceNotFoundException": "Model not found.",
    "ServiceQuotaExceededException": "Your request exceeds the service quota for your account.",
}


class BedrockError(Exception):
    """An error answered with Bedrock's status, `x-amzn-ErrorType` header and JSON message."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS_BY_CODE.get(code, 400)


def validation(message: str) -> BedrockError:
    """Return a ValidationException, Bedrock's answer to most bad requests."""
    return BedrockError("ValidationException", message)


def constraint(value: object, path: str, rule: str) -> BedrockError:
    """Return the ValidationException the service framework raises for a modelled constraint."""
    shown = "null" if value is None else f"'{value}'"
    return validation(
        f"1 validation error detected: Value {shown} at '{path}' failed to satisfy "
        f"constraint: Member must {rule}"
    )


def serialization(path: str, expected: str) -> BedrockError:
    """Return the SerializationException for a body member of the wrong JSON type."""
    return BedrockError("SerializationException", f"Expected {expected} at '{path}'.")
