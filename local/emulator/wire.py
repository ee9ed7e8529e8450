"""The restJson1 wire format: what an operation receives and how replies and errors are encoded."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .errors import BedrockError
from .models import Resolved, identifier_table

ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """One routed call: the operation, the decoded model id and the body as received."""

    operation: str
    model_id: str
    raw_body: bytes
    # The decoded JSON body; None when the body is empty or is not JSON (see `body_error`).
    body: object
    body_error: str | None
    headers: Mapping[str, str]
    # Every identifier this emulator accepts (the catalog's, and models a config declares).
    models: Mapping[str, Resolved] = field(default_factory=identifier_table)


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer ready to send."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[OperationRequest], Reply]

# The store a resource operation reads (knowledge bases, guardrails).
StoreT = TypeVar("StoreT")


@dataclass(frozen=True, slots=True)
class StoreRequest(Generic[StoreT]):
    """One routed call on a stored resource: its decoded path parameters, its body, the store."""

    operation: str
    params: Mapping[str, str]
    # The decoded JSON body; None when the body is empty or is not JSON (see `body_error`).
    body: object
    body_error: str | None
    store: StoreT


@dataclass(frozen=True, slots=True)
class Invoked:
    """An InvokeModel answer: the model's JSON body and the usage Bedrock reports in headers."""

    payload: object
    input_tokens: int
    output_tokens: int
    latency_ms: int


def invoked_reply(invoked: Invoked) -> Reply:
    """Encode an InvokeModel answer with the token-count and latency headers Bedrock sends."""
    reply = json_reply(invoked.payload)
    return Reply(
        reply.status,
        reply.body,
        headers={
            "x-amzn-bedrock-input-token-count": str(invoked.input_tokens),
            "x-amzn-bedrock-output-token-count": str(invoked.output_tokens),
            "x-amzn-bedrock-invocation-latency": str(invoked.latency_ms),
        },
    )


def json_reply(payload: object, status: int = 200) -> Reply:
    """Encode `payload` compactly, as the service does."""
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode())


def error_reply(error: BedrockError) -> Reply:
    """Encode `error` so botocore raises the modelled exception for its code."""
    reply = json_reply({"message": error.message}, error.status)
    return Reply(
        reply.status, reply.body, headers={"x-amzn-ErrorType": f"{error.code}:{ERROR_NAMESPACE}"}
    )


def decode_json(raw: bytes) -> tuple[object, str | None]:
    """Return (body, None), or (None, why) when `raw` is not JSON; empty gives (None, None)."""
    if not raw:
        return None, None
    try:
        return json.loads(raw), None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, str(error)
