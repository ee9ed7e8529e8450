"""POST /v1/chat/completions: one chat completion, buffered or streamed, through Converse."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from . import bedrock
from .calls import Meter
from .catalog import Api, Capability, Modality
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

# Imported by the exchange already: nothing more to load at a cold start.
from .guardrails import (
    INPUT_BLOCKED,
    INPUT_MASKED,
    MASKED,
    OUTPUT_BLOCKED,
    Guardrail,
    blocked_prompt,
    converse_text,
    guard_answer,
    guard_prompt,
    masked_in,
    prompt_was_blocked,
)
from .metering import Usage
from .responses import JsonResponse, StreamResponse
from .routing import Target, require_modality
from .streaming import ChunkMapper, StreamChunks, as_stream_events

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

    from .grounding import Grounded


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
    guardrail = exchange.guardrail(request.model, targets)
    if guardrail is not None and (request.stream or not all(_inline(target) for target in targets)):
        # A stream has started when an inline guardrail could report a blocked prompt, and
        # some models take no guardrail inline: the prompt is checked first (ApplyGuardrail).
        exchange.access.admit()
        request = guard_prompt(exchange, guardrail, request)
    grounded = None
    if request.grounding is not None:
        # What the first model would refuse is refused before the search is paid for.
        check_capabilities(request, targets[0].spec)
        # Searched once, before the first model is tried (fallbacks reuse the passages).
        from .grounding import ground

        grounded = ground(exchange, request)
        request = grounded.request
    if request.stream:
        return _stream(exchange, request, targets, meter, grounded, guardrail)

    def attempt(target: Target, client: BedrockRuntimeClient) -> JsonResponse:
        return _converse_once(exchange, request, target, client, meter, grounded, guardrail)

    return exchange.call(targets, attempt)


def _converse_once(
    exchange: Exchange,
    request: ChatRequest,
    target: Target,
    client: BedrockRuntimeClient,
    meter: Meter,
    grounded: Grounded | None,
    guardrail: Guardrail | None,
) -> JsonResponse:
    started = time.perf_counter()
    native = True
    try:
        response = _call_model(exchange, client, request, target, guardrail, native=True)
    except ApiError as error:
        if not _schema_refused(error, request, target):
            raise
        native = False
        response = _call_model(exchange, client, request, target, guardrail, native=False)
    bedrock_ms = (time.perf_counter() - started) * 1000
    # Metered as soon as it is answered: whatever the checks below decide, the call was made.
    meter.add_tokens(target, _reported(response))
    if guardrail is not None and prompt_was_blocked(response):
        # Bedrock answered with the guardrail's message instead of calling the model.
        exchange.guardrail_outcome = INPUT_BLOCKED
        raise blocked_prompt(guardrail, converse_text(response) or "Blocked.")
    if guardrail is not None:
        response = _check_answer(exchange, guardrail, target, response)
    structured = structured_output(request, target.spec, native=native)
    body = from_converse(
        response,
        completion_id=f"chatcmpl-{exchange.request_id}",
        created=int(time.time()),
        model=target.spec.model_id,
        answer_tool=structured.tool if structured is not None else None,
    )
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
    guardrail: Guardrail | None,
) -> StreamResponse:
    # Errors up to the first event (refused request, throttling) are plain HTTP errors and
    # fall back; after it, the stream itself reports them.
    def call(target: Target, client: BedrockRuntimeClient, native: bool) -> Any:
        inline = guardrail is not None and _inline(target)
        if not streams(request, target.spec) or (guardrail is not None and not inline):
            # A model that cannot stream this request answers whole, as does one whose answer
            # the gateway must check itself; the client still gets the stream it asked for.
            answer = _call_model(exchange, client, request, target, guardrail, native=native)
            if guardrail is not None:
                try:
                    answer = _check_answer(exchange, guardrail, target, answer)
                except ApiError:
                    meter.add_tokens(target, _reported(answer))  # answered, so paid for
                    raise
            return as_stream_events(answer)
        if target.spec.api is Api.SAGEMAKER:
            from . import sagemaker  # loaded by the first request for an own SageMaker model

            return sagemaker.converse_stream(exchange, request, target)
        converse_request = to_converse(request, target.spec, target.invocation_id, native=native)
        if guardrail is not None:
            converse_request["guardrailConfig"] = guardrail.converse_config(stream=True)
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
        if guardrail is not None and mapper.finish_reason == "content_filter":
            exchange.guardrail_outcome = OUTPUT_BLOCKED
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


def _inline(target: Target) -> bool:
    """Whether Bedrock applies a guardrail inside Converse for this model."""
    return target.spec.supports(Capability.GUARDRAILS)


def _call_model(
    exchange: Exchange,
    client: BedrockRuntimeClient,
    request: ChatRequest,
    target: Target,
    guardrail: Guardrail | None,
    *,
    native: bool,
) -> dict[str, Any]:
    """One whole answer from the target, in Converse's shape (guardrail inline if it can)."""
    if target.spec.api is Api.SAGEMAKER:
        from . import sagemaker  # loaded by the first request for an own SageMaker model

        return sagemaker.converse(exchange, request, target)
    converse_request = to_converse(request, target.spec, target.invocation_id, native=native)
    if guardrail is not None and _inline(target):
        converse_request["guardrailConfig"] = guardrail.converse_config(stream=False)
    return bedrock.converse(client, converse_request)


def _check_answer(
    exchange: Exchange, guardrail: Guardrail, target: Target, response: dict[str, Any]
) -> dict[str, Any]:
    """The guardrail's verdict on an answer: noted from the inline trace, or asked for."""
    if not _inline(target):
        return guard_answer(exchange, guardrail, response)
    if response.get("stopReason") == "guardrail_intervened":
        exchange.guardrail_outcome = OUTPUT_BLOCKED
        return response
    masked = masked_in(response)
    if masked is not None:
        exchange.guardrail_outcome = MASKED if masked == "output" else INPUT_MASKED
    blocks = response.get("output", {}).get("message", {}).get("content", [])
    if any("toolUse" in block for block in blocks):
        # Bedrock does not guard tool input (structured answers come as one): checked here.
        return guard_answer(exchange, guardrail, response, text_checked=True)
    return response


def _reported(response: dict[str, Any]) -> Usage:
    usage = response.get("usage", {})
    return Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))


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
