"""Bedrock runtime errors as the emulator answers them (restJson1 error shape)."""

from __future__ import annotations

# Bedrock runtime error code -> HTTP status (botocore's bedrock-runtime service model).
STATUS_BY_CODE: dict[str, int] = {
    "ValidationException": 400,
    "SerializationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
    "UnknownOperationException": 404,
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
