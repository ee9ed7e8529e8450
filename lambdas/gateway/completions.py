"""POST /v1/chat/completions: one chat completion, buffered or streamed, through Converse."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import bedrock
from .calls import Meter
from .catalog import Modality
from .chat import (
    check_capabilities,
    from_converse,
    goes_native,
    parse_chat_request,
    streams,
    structured_output,
    to_converse,
)
from .chat_request import ChatRequest
from .errors import ApiError
from .exchange import Exchange
from .grounding import Grounded, ground
from .metering import Usage
from .responses import JsonResponse, StreamResponse
from .routing import Target, require_modality
from .streaming import ChunkMapper, StreamChunks, as_stream_events

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient


def chat_completion_route(exchange: Exchange) -> JsonResponse | StreamResponse:
    """Serve one chat completion, trying an alias's models in order within the budget."""
    request = parse_chat_request(exchange.body)
    return chat_completion(exchange, request)


def chat_completion(exchange: Exchange, request: ChatRequest) -> JsonResponse | StreamResponse:
    """Serve a validated request; usage lands on the exchange's meter."""
    meter = exchange.meter
    targets = exchange.resolve(request.model)
    for target in targets:
        require_modality(target.spec, Modality.TEXT, "chat completions")
    if request.stream:
        # The budget first (its 429 tells the SDK not to retry), then one of the team's
        # concurrent-stream slots (released when the request ends): both before any call.
        exchange.access.admit()
        exchange.access.hold_stream(exchange.request_id)
    grounded = None
    if request.grounding is not None:
        # What the first model would refuse is refused before the search is paid for.
        check_capabilities(request, targets[0].spec)
        # Searched once, before the first model is tried (fallbacks reuse the passages).
        grounded = ground(exchange, request)
        request = grounded.request
    if request.stream:
        return _stream(exchange, request, targets, meter, grounded)

    def attempt(target: Target, client: BedrockRuntimeClient) -> JsonResponse:
        return _converse_once(exchange, request, target, client, meter, grounded)

    return exchange.call(targets, attempt)


def _converse_once(
    exchange: Exchange,
    request: ChatRequest,
    target: Target,
    client: BedrockRuntimeClient,
    meter: Meter,
    grounded: Grounded | None,
) -> JsonResponse:
    started = time.perf_counter()
    native = True
    try:
        response = bedrock.converse(client, to_converse(request, target.spec, target.invocation_id))
    except ApiError as error:
        if not _schema_refused(error, request, target):
            raise
        native = False
        response = bedrock.converse(
            client, to_converse(request, target.spec, target.invocation_id, native=False)
        )
    bedrock_ms = (time.perf_counter() - started) * 1000
    structured = structured_output(request, target.spec, native=native)
    body = from_converse(
        response,
        completion_id=f"chatcmpl-{exchange.request_id}",
        created=int(time.time()),
        model=target.spec.model_id,
        answer_tool=structured.tool if structured is not None else None,
    )
    usage = Usage(body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"])
    meter.add_tokens(target, usage)
    if grounded is not None:
        grounded.annotate(body)
    if exchange.log_content:
        exchange.content = _content(request, body["choices"][0]["message"]["content"])
    return JsonResponse(
        body, {**meter.headers(), "x-gateway-bedrock-latency-ms": f"{bedrock_ms:.1f}"}
    )


def _stream(
    exchange: Exchange,
    request: ChatRequest,
    targets: tuple[Target, ...],
    meter: Meter,
    grounded: Grounded | None,
) -> StreamResponse:
    # Errors up to the first event (refused request, throttling) are plain HTTP errors and
    # fall back; after it, the stream itself reports them.
    def call(target: Target, client: BedrockRuntimeClient, native: bool) -> Any:
        converse_request = to_converse(request, target.spec, target.invocation_id, native=native)
        if not streams(request, target.spec):
            # A model that cannot stream this request answers whole; the client still gets
            # the stream it asked for (agent frameworks stream with tools by default).
            return as_stream_events(bedrock.converse(client, converse_request))
        return bedrock.converse_stream(client, converse_request)

    def attempt(target: Target, client: BedrockRuntimeClient) -> tuple[Target, Any, bool]:
        try:
            return target, call(target, client, True), True
        except ApiError as error:
            if not _schema_refused(error, request, target):
                raise
            return target, call(target, client, False), False

    target, events, native = exchange.call(targets, attempt)
    exchange.streamed = True
    structured = structured_output(request, target.spec, native=native)
    mapper = ChunkMapper(
        completion_id=f"chatcmpl-{exchange.request_id}",
        model=target.spec.model_id,
        answer_tool=structured.tool if structured is not None else None,
    )
    if grounded is not None:
        mapper.opening = {
            "citations": grounded.citations(),
            "knowledge_base": grounded.retrieved.knowledge_base.name,
        }
        mapper.retrieval_tokens = grounded.retrieved.usage.input_tokens

    def finish(usage: Usage, error: ApiError | None) -> None:
        meter.add_tokens(target, usage)
        exchange.stream_error = error
        if exchange.log_content:
            exchange.content = _content(request, "".join(mapper.text_parts))

    chunks = StreamChunks(
        events,
        mapper,
        include_usage=request.include_usage,
        prompt_chars=sum(len(m.text) for m in request.messages),
        on_end=finish,
        # The function's time budget covers the whole stream, not only each read.
        remaining=exchange.budget.remaining,
    )
    return StreamResponse(chunks, meter.headers())


def _schema_refused(error: ApiError, request: ChatRequest, target: Target) -> bool:
    """Whether Bedrock refused a request sent with outputConfig (its schema, most likely).

    AWS documents the structured-output schema subset only in part ("unsupported features:
    400 immediately"): one more try through the answer tool serves what the page omits.
    """
    return error.status == 400 and goes_native(request, target.spec)


def _content(request: ChatRequest, completion: str | None) -> dict[str, Any]:
    """The text a content-logging deployment records: messages (images omitted) and answer."""
    return {
        "messages": [{"role": m.role, "text": m.text} for m in request.messages],
        "completion": completion,
    }
