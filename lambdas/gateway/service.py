"""Request handling that is independent of HTTP: chat completions and the model list."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import bedrock
from .catalog import Modality, ModelSpec
from .chat import from_converse, parse_chat_request, to_converse
from .chat_request import ChatRequest
from .errors import ApiError
from .metering import RequestRecord, Usage, format_cost
from .routing import Routing, Target, require_modality
from .streaming import ChunkMapper, stream_chunks

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

# Failures worth trying the next model of an alias for: throttling, unavailable, timeout.
FALLBACK_STATUSES = frozenset({429, 503, 504})
# API Gateway gives a buffered integration 29 s; keep a margin for the answer to travel back.
TIME_BUDGET_SECONDS = 27.0
# Do not start a fallback attempt with less time than this left.
MIN_ATTEMPT_SECONDS = 2.0


@dataclass(slots=True)
class Result:
    """What a handler produced: a JSON body (or raw bytes) and extra response headers."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"
    # Server-sent events, produced lazily while the client reads them.
    stream: Iterator[bytes] | None = None


def list_models(routing: Routing) -> Result:
    """Return the enabled models and aliases in the OpenAI list shape, with catalog details."""
    data: list[dict[str, Any]] = [_model_entry(routing, spec) for spec in routing.enabled]
    for alias, ids in routing.aliases.items():
        data.append(
            {
                "id": alias,
                "object": "model",
                "created": 0,
                "owned_by": "alias",
                "targets": list(ids),
            }
        )
    return Result({"object": "list", "data": data})


def retrieve_model(routing: Routing, name: str) -> Result:
    """Return one enabled model or alias (OpenAI's GET /v1/models/{model})."""
    if name in routing.aliases:
        targets = list(routing.aliases[name])
        return Result(
            {"id": name, "object": "model", "created": 0, "owned_by": "alias", "targets": targets}
        )
    (target,) = routing.resolve(name)
    return Result(_model_entry(routing, target.spec))


def _model_entry(routing: Routing, spec: ModelSpec) -> dict[str, Any]:
    target = routing.target(spec)
    pricing = spec.pricing
    as_of = pricing.as_of.isoformat() if pricing.as_of else None
    prices: dict[str, Any] = {"currency": "USD", "as_of": as_of, "verified": pricing.verified}
    if spec.modality is Modality.IMAGE:
        prices["per_image"] = [
            {"usd": str(p.per_image), "quality": p.quality.value, "max_pixels": p.max_pixels}
            for p in pricing.images
        ]
    else:
        # The price of the path this deployment calls the model through.
        token_price = pricing.token_price(target.path)
        prices["path"] = target.path.value
        prices["input_per_million_tokens"] = str(token_price.input_per_million)
        prices["output_per_million_tokens"] = str(token_price.output_per_million)
    stage = spec.lifecycle.stage
    end_of_life = stage.end_of_life.isoformat() if stage.end_of_life else None
    return {
        "id": spec.model_id,
        "object": "model",
        "created": 0,
        "owned_by": spec.provider,
        "name": spec.name,
        "modality": spec.modality.value,
        "capabilities": sorted(c.value for c in spec.capabilities),
        "context_window": spec.context_window,
        "max_output_tokens": spec.max_output_tokens,
        "lifecycle": {
            "status": stage.status.value,
            "end_of_life": end_of_life,
            "successor": spec.lifecycle.successor,
        },
        "invocation_id": target.invocation_id,
        "pricing": prices,
    }


def chat_completion(
    routing: Routing,
    client_factory: Callable[[], BedrockRuntimeClient],
    body: object,
    record: RequestRecord,
    *,
    time_budget_seconds: float | None = None,
    log_content: bool = False,
) -> Result:
    """Serve one chat completion (streamed or not), trying an alias's fallbacks in order."""
    budget = TIME_BUDGET_SECONDS if time_budget_seconds is None else time_budget_seconds
    deadline = time.monotonic() + budget
    request = parse_chat_request(body)
    targets = routing.resolve(request.model)
    for target in targets:
        require_modality(target.spec, Modality.TEXT, "chat completions")
    for position, target in enumerate(targets):
        try:
            if request.stream:
                return _stream_once(target, client_factory, request, record, log_content)
            result = _converse_once(target, client_factory, request_body=request, record=record)
            if log_content:
                record.content = _content(request, result.body["choices"][0]["message"]["content"])
            return result
        except ApiError as error:
            is_last = position == len(targets) - 1
            out_of_time = deadline - time.monotonic() < MIN_ATTEMPT_SECONDS
            if error.status not in FALLBACK_STATUSES or is_last or out_of_time:
                raise
            record.fallbacks += 1
    raise AssertionError("unreachable: resolve() never returns an empty tuple")


def _stream_once(
    target: Target,
    client_factory: Callable[[], BedrockRuntimeClient],
    request: ChatRequest,
    record: RequestRecord,
    log_content: bool,
) -> Result:
    spec = target.spec
    record.model, record.invocation_id, record.streamed = spec.model_id, target.invocation_id, True
    converse_request = to_converse(request, spec, target.invocation_id)
    # Errors up to here (refused request, throttling) are plain HTTP errors, and fall back.
    events = bedrock.converse_stream(client_factory(), converse_request)
    mapper = ChunkMapper(completion_id=f"chatcmpl-{record.request_id}", model=spec.model_id)

    def metered() -> Iterator[bytes]:
        try:
            yield from stream_chunks(events, mapper, record, include_usage=request.include_usage)
        finally:
            record.cost_usd = (record.usage or Usage()).token_cost(target)
            if log_content:
                record.content = _content(request, "".join(mapper.text_parts))

    return Result(
        {},
        {"x-gateway-model": spec.model_id, "x-gateway-invocation-id": target.invocation_id},
        content_type="text/event-stream",
        stream=metered(),
    )


def _content(request: ChatRequest, completion: str | None) -> dict[str, Any]:
    """The text a content-logging deployment records: messages (images omitted) and answer."""
    return {
        "messages": [{"role": m.role, "text": m.text} for m in request.messages],
        "completion": completion,
    }


def _converse_once(
    target: Target,
    client_factory: Callable[[], BedrockRuntimeClient],
    *,
    request_body: ChatRequest,
    record: RequestRecord,
) -> Result:
    spec = target.spec
    record.model = spec.model_id
    record.invocation_id = target.invocation_id
    converse_request = to_converse(request_body, spec, target.invocation_id)
    started = time.perf_counter()
    response = bedrock.converse(client_factory(), converse_request)
    bedrock_ms = (time.perf_counter() - started) * 1000
    body = from_converse(
        response,
        completion_id=f"chatcmpl-{record.request_id}",
        created=int(time.time()),
        model=spec.model_id,
    )
    usage = Usage(
        input_tokens=body["usage"]["prompt_tokens"],
        output_tokens=body["usage"]["completion_tokens"],
    )
    record.usage = usage
    record.cost_usd = usage.token_cost(target)
    return Result(
        body,
        {
            "x-gateway-model": spec.model_id,
            "x-gateway-invocation-id": target.invocation_id,
            "x-gateway-bedrock-latency-ms": f"{bedrock_ms:.1f}",
            "x-gateway-cost-usd": format_cost(record.cost_usd),
        },
    )
