"""sagemaker-runtime's wire format: its errors (restJson1) and its PayloadPart event stream.

Codes, statuses and members follow botocore's sagemaker-runtime service model. Error bodies name
members as the shapes do (Message, OriginalStatusCode, ...), so botocore fills them in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from . import eventstream
from .errors import BedrockError
from .wire import Reply, json_reply

# Emulator's choice: the namespace after the code (botocore keeps only what precedes ':').
ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.sagemaker.runtime/"

# sagemaker-runtime error code -> HTTP status (the service model's httpStatusCode).
STATUS_BY_CODE: Mapping[str, int] = {
    "ValidationError": 400,
    "ModelError": 424,
    "ModelNotReadyException": 429,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "InternalDependencyException": 530,
}

# Emulator's choice: what an injected fault says when given no message of its own.
DEFAULT_MESSAGES: Mapping[str, str] = {
    "ValidationError": "The request is not valid (emulated).",
    "ModelError": "Received server error (500) from primary (emulated).",
    "ModelNotReadyException": "The model is not ready to serve inference requests (emulated).",
    "InternalFailure": "An internal failure occurred (emulated).",
    "ServiceUnavailable": "The service is unavailable. Try your request again (emulated).",
    "InternalDependencyException": "An internal dependency failed (emulated).",
}

# ModelStreamError's documented ErrorCode values; any other in-stream break is reported as the
# first (the model ran over its invocation time).
STREAM_ERROR_CODES = ("ModelInvocationTimeExceeded", "StreamBroken")
STREAM_FAILURE = "InternalStreamFailure"
# Emulator's choice: the :content-type of a PayloadPart (its Bytes are the event's payload).
PART_CONTENT_TYPE = "application/octet-stream"


class SageMakerError(BedrockError):
    """A sagemaker-runtime error, with the members its shape adds to Message (ModelError's)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        fields: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(code, message, status if status is not None else STATUS_BY_CODE[code])
        self.fields: Mapping[str, object] = dict(fields or {})


def validation_error(message: str) -> SageMakerError:
    """Return a ValidationError, SageMaker's answer to a request it refuses itself."""
    return SageMakerError("ValidationError", message)


def internal_failure() -> SageMakerError:
    """Return the InternalFailure that stands for an emulator bug."""
    return SageMakerError("InternalFailure", "The emulator failed on this request (see stderr).")


def error_reply(error: BedrockError) -> Reply:
    """Encode `error` so botocore's sagemaker-runtime client raises the modelled exception."""
    fields = error.fields if isinstance(error, SageMakerError) else {}
    reply = json_reply({"Message": error.message, **fields}, error.status)
    return Reply(
        reply.status, reply.body, headers={"x-amzn-ErrorType": f"{error.code}:{ERROR_NAMESPACE}"}
    )


def payload_part(data: bytes) -> bytes:
    """Frame one PayloadPart event: its Bytes member is the raw payload, not JSON."""
    headers = {
        ":event-type": "PayloadPart",
        ":content-type": PART_CONTENT_TYPE,
        ":message-type": "event",
    }
    return eventstream.message(headers, data)


def stream_failure(error: BedrockError) -> bytes:
    """Frame the in-stream exception that ends a broken stream: ModelStreamError by default.

    `error.code` "InternalStreamFailure" gives that exception; a documented ErrorCode is kept,
    any other code (e.g. cut_stream's default) becomes ModelInvocationTimeExceeded.
    """
    if error.code == STREAM_FAILURE:
        kind, body = STREAM_FAILURE, {"Message": error.message}
    else:
        code = error.code if error.code in STREAM_ERROR_CODES else STREAM_ERROR_CODES[0]
        kind, body = "ModelStreamError", {"Message": error.message, "ErrorCode": code}
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return eventstream.message(headers, json.dumps(body).encode())


@dataclass(frozen=True, slots=True)
class PayloadStreamReply(Reply):
    """A 200 answer streamed as PayloadPart events, one per part, for endpoint `endpoint_name`."""

    parts: tuple[bytes, ...] = ()
    endpoint_name: str = ""
