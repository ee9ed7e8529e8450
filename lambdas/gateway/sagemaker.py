"""Own models on SageMaker endpoints, answered in Converse's shapes so one pipeline serves all.

The endpoints serve the OpenAI-style messages API of the LMI, TGI and vLLM containers.
InvokeEndpoint carries a chat.completion; InvokeEndpointWithResponseStream carries its chunks
in PayloadPart blobs, one JSON object a line (LMI's jsonlines; SSE `data:` lines are read too),
and a line may be split across parts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .chat_request import ChatRequest
from .errors import ApiError
from .routing import Target

if TYPE_CHECKING:
    from .exchange import Exchange

# sagemaker-runtime error code -> (status, OpenAI error type).
_ERRORS: Mapping[str, tuple[int, str]] = {
    # The gateway writes the body itself: a ValidationError is about the endpoint (missing,
    # not InService), the deployment's fault, and an alias's next model may serve instead.
    "ValidationError": (503, "service_unavailable_error"),
    "ModelError": (502, "model_error"),
    "ModelNotReadyException": (503, "service_unavailable_error"),
    "ServiceUnavailable": (503, "service_unavailable_error"),
    "InternalFailure": (502, "api_error"),
    "InternalDependencyException": (502, "api_error"),
    "ThrottlingException": (429, "rate_limit_error"),
    "ModelStreamError": (502, "model_error"),
    "InternalStreamFailure": (502, "api_error"),
}
# The containers' finish reasons (LMI: eos_token, stop_sequence, length) as Converse's.
_STOP_REASONS = {"length": "max_tokens", "tool_calls": "tool_use"}
_CHARS_PER_TOKEN = 4


def messages_body(request: ChatRequest, target: Target, *, stream: bool) -> dict[str, Any]:
    """The chat request as the container's messages API takes it (text only)."""
    model = target.spec.model_id
    if request.tools or request.response_format is not None:
        field = "tools" if request.tools else "response_format"
        raise ApiError(
            400,
            f"'{model}' is a SageMaker endpoint the gateway sends text messages only: "
            f"'{field}' is not supported for it.",
            param=field,
            code="unsupported_parameter",
        )
    messages = []
    for position, message in enumerate(request.messages):
        if message.role == "tool" or message.tool_calls or message.has_images:
            raise ApiError(
                400,
                f"'{model}' takes text messages only (no images, tools or tool results).",
                param=f"messages[{position}]",
                code="unsupported_parameter",
            )
        role = "system" if message.role == "developer" else message.role
        messages.append({"role": role, "content": message.text})
    body: dict[str, Any] = {"messages": messages, "stream": stream}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop"] = list(request.stop)
    return body


def converse(exchange: Exchange, request: ChatRequest, target: Target) -> dict[str, Any]:
    """One buffered completion from the endpoint, as a Converse response."""
    from botocore.exceptions import BotoCoreError, ClientError

    body = messages_body(request, target, stream=False)
    client = _client(exchange)
    try:
        answer = client.invoke_endpoint(
            EndpointName=target.invocation_id,
            ContentType="application/json",
            Accept="application/json",
            Body=json.dumps(body).encode(),
        )
        completion = json.loads(answer["Body"].read())
    except (ClientError, BotoCoreError) as error:
        raise translate(error, target) from error
    except ValueError:
        raise _not_chat(target) from None
    choices = completion.get("choices") if isinstance(completion, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _not_chat(target)
    choice = choices[0]
    message = choice.get("message")
    text = str(message.get("content") or "") if isinstance(message, dict) else ""
    usage = completion.get("usage") if isinstance(completion.get("usage"), dict) else {}
    prompt_chars = sum(len(message["content"]) for message in body["messages"])
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": _stop_reason(choice.get("finish_reason")),
        "usage": {
            "inputTokens": _count(usage.get("prompt_tokens"), prompt_chars),
            "outputTokens": _count(usage.get("completion_tokens"), len(text)),
        },
    }


def converse_stream(exchange: Exchange, request: ChatRequest, target: Target) -> StreamEvents:
    """A streamed completion from the endpoint, as ConverseStream events."""
    from botocore.exceptions import BotoCoreError, ClientError

    body = messages_body(request, target, stream=True)
    client = _client(exchange)
    try:
        answer = client.invoke_endpoint_with_response_stream(
            EndpointName=target.invocation_id,
            ContentType="application/json",
            Body=json.dumps(body).encode(),
        )
    except (ClientError, BotoCoreError) as error:
        raise translate(error, target) from error
    return StreamEvents(answer["Body"], target)


class StreamEvents:
    """ConverseStream-shaped events read from a SageMaker response stream (closed on exit)."""

    def __init__(self, stream: Any, target: Target) -> None:
        self._stream = stream
        self._target = target
        self._events = self._produce()

    def __iter__(self) -> StreamEvents:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._events)

    def close(self) -> None:
        """Stop reading and close the endpoint's stream."""
        self._events.close()
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()

    def _produce(self) -> Generator[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        yield {"messageStart": {"role": "assistant"}}
        stop: str | None = None
        usage: Mapping[str, Any] | None = None
        try:
            for chunk in _lines(self._stream):
                if "error" in chunk or chunk.get("object") == "error":
                    # TGI and vLLM report a failure mid-stream as an error object.
                    raise ApiError(
                        502,
                        f"model '{self._target.spec.model_id}' (SageMaker endpoint) failed "
                        "while streaming.",
                        type_="model_error",
                        code="ModelStreamError",
                    )
                choices = chunk.get("choices")
                choice = choices[0] if isinstance(choices, list) and choices else {}
                if not isinstance(choice, dict):
                    continue
                text = (choice.get("delta") or {}).get("content")
                if text:
                    delta = {"contentBlockIndex": 0, "delta": {"text": text}}
                    yield {"contentBlockDelta": delta}
                if choice.get("finish_reason"):
                    stop = _stop_reason(choice["finish_reason"])
                usage = chunk.get("usage") or usage
        except (ClientError, BotoCoreError) as error:
            raise translate(error, self._target) from error
        yield {"contentBlockStop": {"contentBlockIndex": 0}}
        yield {"messageStop": {"stopReason": stop or "end_turn"}}
        if usage:
            # Without usage (LMI streams none) the stream's tokens are estimated downstream.
            counts = {
                "inputTokens": int(usage.get("prompt_tokens", 0)),
                "outputTokens": int(usage.get("completion_tokens", 0)),
            }
            yield {"metadata": {"usage": counts}}


def _lines(stream: Any) -> Iterator[dict[str, Any]]:
    """The JSON objects of a PayloadPart stream: one a line, lines split across parts joined."""
    pending = b""
    for event in stream:
        if "PayloadPart" not in event:
            continue
        pending += event["PayloadPart"].get("Bytes", b"")
        *lines, pending = pending.split(b"\n")
        for line in lines:
            parsed = _line(line)
            if parsed is not None:
                yield parsed
    parsed = _line(pending)
    if parsed is not None:
        yield parsed


def _line(raw: bytes) -> dict[str, Any] | None:
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("data:"):
        text = text[len("data:") :].strip()
    if not text or text == "[DONE]":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def translate(error: Exception, target: Target) -> ApiError:
    """A sagemaker-runtime failure as clients should see it."""
    from botocore.exceptions import ClientError

    from .bedrock import translate_error

    subject = f"model '{target.spec.model_id}' (SageMaker endpoint)"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        # For the operator: the code and the container's status, never its message (it can
        # repeat the prompt).
        _log_failure(target, code, error.response.get("OriginalStatusCode"))
        if code in _ERRORS:
            status, type_ = _ERRORS[code]
            # The container's own text can be long or repeat the request: not in answers.
            headers = {"retry-after": "2"} if status in (429, 503) else {}
            return ApiError(
                status, f"{subject} answered {code}.", type_=type_, code=code, headers=headers
            )
    return translate_error(error, target.spec.model_id, subject=subject)


def _client(exchange: Exchange) -> Any:
    assert exchange.sagemaker_clients is not None, "the gateway gives every request its pool"
    return exchange.sagemaker_clients.for_budget(exchange.budget)


def _stop_reason(finish_reason: object) -> str:
    return _STOP_REASONS.get(str(finish_reason), "end_turn")


def _estimate(chars: int) -> int:
    return math.ceil(chars / _CHARS_PER_TOKEN)


def _count(reported: object, chars: int) -> int:
    """The container's count, or an estimate from the text when it reports none."""
    if isinstance(reported, int) and not isinstance(reported, bool) and reported >= 0:
        return reported
    return _estimate(chars)


def _log_failure(target: Target, code: str, original_status: object) -> None:
    import logging

    logging.getLogger(__name__).warning(
        "SageMaker endpoint %s of %s answered %s (container status %s)",
        target.invocation_id,
        target.spec.model_id,
        code,
        original_status,
    )


def _not_chat(target: Target) -> ApiError:
    return ApiError(
        502,
        f"model '{target.spec.model_id}' (SageMaker endpoint) did not answer a chat completion.",
        type_="model_error",
        code="ModelError",
    )
