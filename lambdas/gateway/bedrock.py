"""The gateway's only contact with Bedrock: a cached boto3 client and error translation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ApiError

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

    from .settings import Settings

# Time allowed to open a connection to Bedrock (the read timeout comes from the budget).
CONNECT_TIMEOUT_SECONDS = 2

RETRY_AFTER_SECONDS = "2"

# Bedrock runtime error code -> (HTTP status, OpenAI error type). Reference section 8.
_ERRORS: dict[str, tuple[int, str]] = {
    "ValidationException": (400, "invalid_request_error"),
    "ConflictException": (400, "invalid_request_error"),
    "AccessDeniedException": (403, "permission_error"),
    "ResourceNotFoundException": (404, "not_found_error"),
    "ModelTimeoutException": (504, "timeout_error"),
    "ModelErrorException": (502, "model_error"),
    "ModelStreamErrorException": (502, "model_error"),
    "ThrottlingException": (429, "rate_limit_error"),
    "ServiceQuotaExceededException": (429, "rate_limit_error"),
    "ModelNotReadyException": (503, "service_unavailable_error"),
    "InternalServerException": (502, "api_error"),
    "ServiceUnavailableException": (503, "service_unavailable_error"),
}
_RETRYABLE_STATUSES = frozenset({429, 503})


def create_client(settings: Settings, read_timeout: float | None = None) -> BedrockRuntimeClient:
    """Create a bedrock-runtime client; its endpoint follows AWS_ENDPOINT_URL_BEDROCK_RUNTIME.

    One attempt per call: the gateway retries and falls back itself, within the request's
    time budget (botocore would retry a read timeout and double the wait).
    """
    client: BedrockRuntimeClient = create_service_client("bedrock-runtime", settings, read_timeout)
    return client


def create_service_client(
    service: str, settings: Settings, read_timeout: float | None = None
) -> Any:
    """A client of `service` (AWS_ENDPOINT_URL_<SERVICE> moves it) with the gateway's timeouts."""
    from botocore.config import Config

    from .aws_clients import new_client

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=read_timeout or settings.bedrock_read_timeout_seconds,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return new_client(service, region_name=settings.region, config=config)


def translate_error(error: Exception, model_id: str, *, subject: str | None = None) -> ApiError:
    """Map a botocore exception to the ApiError a client should see.

    `subject` names what was called in messages (default: the model `model_id`).
    """
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    subject = subject or f"model '{model_id}'"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        # In-stream errors carry the event member name (throttlingException): same code.
        code = code[:1].upper() + code[1:]
        detail = error.response.get("Error", {}).get("Message", "")
        status, type_ = _ERRORS.get(code) or _unlisted(error)
        if code == "AccessDeniedException":
            # Bedrock's text can name the account and role: keep it in logs, not in answers.
            message = f"The gateway is not allowed to call {subject} in this account."
        else:
            message = f"Bedrock returned {code} for {subject}: {detail}"
        headers = {"retry-after": RETRY_AFTER_SECONDS} if status in _RETRYABLE_STATUSES else {}
        return ApiError(status, message, type_=type_, code=code or None, headers=headers)
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError) or _is_read_timeout(error):
        return ApiError(
            504,
            f"Bedrock did not answer in time for {subject}.",
            type_="timeout_error",
            code="timeout",
        )
    if isinstance(error, EndpointConnectionError):
        return ApiError(
            502,
            "The gateway could not reach the Bedrock endpoint.",
            type_="api_error",
            code="bedrock_unreachable",
        )
    return ApiError(502, f"Bedrock call for {subject} failed.", type_="api_error")


def _unlisted(error: Any) -> tuple[int, str]:
    """A code the table does not know: Bedrock's own 4xx stays a 4xx, anything else is a 502."""
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return (status, "invalid_request_error") if 400 <= status < 500 else (502, "api_error")


def _is_read_timeout(error: Exception) -> bool:
    # Mid-stream, urllib3's own timeout comes through unwrapped by botocore.
    from urllib3.exceptions import ReadTimeoutError as SocketReadTimeout

    return isinstance(error, SocketReadTimeout)


def converse(client: BedrockRuntimeClient, request: dict[str, Any]) -> dict[str, Any]:
    """Call Converse; raise ApiError for any Bedrock or transport failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return dict(client.converse(**request))
    except (ClientError, BotoCoreError) as error:
        raise translate_error(error, str(request.get("modelId"))) from error


def converse_stream(
    client: BedrockRuntimeClient, request: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Call ConverseStream and yield its events; errors before or during the stream are ApiErrors.

    The call happens here, not on first iteration, so a refused request fails before any byte
    goes to the client (and an alias can still fall back).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    model_id = str(request.get("modelId"))
    try:
        stream = client.converse_stream(**request)["stream"]
    except (ClientError, BotoCoreError) as error:
        raise translate_error(error, model_id) from error
    return EventStream(stream, model_id)


class EventStream:
    """ConverseStream's events; errors become ApiErrors; `close` ends the HTTP stream.

    A class, not a generator: a generator never started cannot run its clean-up, and a
    stream opened but never read must still be closed (and its tokens metered).
    """

    def __init__(self, stream: Any, model_id: str) -> None:
        self._stream = stream
        self._events: Iterator[dict[str, Any]] = iter(stream)
        self._model_id = model_id

    def __iter__(self) -> EventStream:
        """The stream is its own iterator."""
        return self

    def __next__(self) -> dict[str, Any]:
        """The next event; at the end, or on an error, the HTTP stream is closed."""
        try:
            event: dict[str, Any] = next(self._events)
        except StopIteration:
            self.close()
            raise
        except Exception as error:
            self.close()
            raise translate_error(error, self._model_id) from error
        return event

    def close(self) -> None:
        """Close the HTTP stream (idempotent)."""
        self._stream.close()


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """An InvokeModel answer: the raw body, its content type and Bedrock's token counts."""

    body: bytes
    content_type: str
    input_tokens: int | None
    output_tokens: int | None

    def json(self) -> Any:
        """Decode the body as JSON; a malformed model answer is a 502."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(
                502,
                "The model returned a body that is not JSON.",
                type_="model_error",
                code="malformed_model_output",
            ) from None


def _header_int(headers: dict[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.isdigit() else None


def invoke_model(client: BedrockRuntimeClient, model_id: str, body: bytes) -> InvokeResult:
    """Call InvokeModel with a JSON body; raise ApiError for any Bedrock or transport failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.invoke_model(
            modelId=model_id, body=body, contentType="application/json", accept="application/json"
        )
        payload = response["body"].read()
    except (ClientError, BotoCoreError) as error:
        raise translate_error(error, model_id) from error
    # Token counts are response headers that botocore does not model.
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return InvokeResult(
        body=payload,
        content_type=str(response.get("contentType") or "application/json"),
        input_tokens=_header_int(headers, "x-amzn-bedrock-input-token-count"),
        output_tokens=_header_int(headers, "x-amzn-bedrock-output-token-count"),
    )
