"""POST /v1/compare: one chat request sent to several models at once, answers side by side.

The shared request is validated once (a malformed body is one 400). Each model gets the
request's budget and content-logging setting, fails on its own, and writes one model-call log
line with its usage; the request's own line carries the totals, so nothing is counted twice.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from .calls import Meter
from .chat import parse_chat_request
from .completions import chat_completion
from .errors import ApiError, invalid_field, invalid_request
from .exchange import Exchange
from .grounding import Grounded, ground
from .guardrails import OUTCOMES
from .metering import MODEL_CALL_LINE, RequestRecord, Usage, format_cost
from .responses import JsonResponse

MAX_MODELS = 10


def compare(exchange: Exchange) -> JsonResponse:
    """Run the same chat request on every listed model concurrently; failures stay per model."""
    body = exchange.body
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    models = body.get("models")
    if (
        not isinstance(models, list)
        or not 2 <= len(models) <= MAX_MODELS
        or not all(isinstance(m, str) and m for m in models)
        or len(set(models)) != len(models)
    ):
        raise invalid_field(
            "models", f"a list of 2 to {MAX_MODELS} distinct model ids or aliases", models
        )
    if body.get("stream"):
        raise invalid_field("stream", "false (compare answers arrive together)", body["stream"])
    # One validation of the shared fields, and every name resolved, before any model is called.
    request = parse_chat_request({**body, "model": models[0]})
    for name in models:
        exchange.resolve(name)
    grounded = None
    if request.grounding is not None:
        # One search for every model: each answers from the same numbered passages.
        grounded = ground(exchange, request)
        _log_retrieval(exchange, grounded)
        request = dataclasses.replace(grounded.request, grounding=None)

    def run(position: int, name: str) -> dict[str, Any]:
        child = exchange.child()
        meter = child.meter
        started = time.perf_counter()
        model_request = dataclasses.replace(request, model=name)
        try:
            response = chat_completion(child, model_request)
        except ApiError as error:
            _log_call(exchange, position, meter, error.status, started, error.code or error.type)
            return {
                "model": name,
                "status": "error",
                "error": error.body()["error"],
                "http_status": error.status,
                "latency_ms": _ms(started),
                "served_by": meter.target.spec.model_id if meter.target else None,
                "_child": child,
            }
        _log_call(exchange, position, meter, 200, started, None)
        assert isinstance(response, JsonResponse)  # streaming was refused above
        choice = response.body["choices"][0]
        return {
            "model": name,
            "status": "ok",
            "served_by": meter.target.spec.model_id if meter.target else None,
            "latency_ms": _ms(started),
            "content": choice["message"]["content"],
            "tool_calls": choice["message"].get("tool_calls"),
            "finish_reason": choice["finish_reason"],
            "usage": response.body["usage"],
            "cost_usd": format_cost(meter.cost),
            "_child": child,
        }

    # Bedrock calls block on I/O: one thread per model runs them side by side.
    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        results = list(pool.map(run, range(len(models)), models))
    children: list[Exchange] = [result.pop("_child") for result in results]
    # The request's line names the guardrail and its strongest action among the models.
    outcomes = [child.guardrail_outcome for child in children if child.guardrail_name]
    if outcomes:
        exchange.guardrail_name = next(c.guardrail_name for c in children if c.guardrail_name)
        exchange.guardrail_outcome = max(outcomes, key=_severity)
    total = exchange.meter  # the search's embedding is on it already
    for child in children:
        if child.meter.calls:
            total.add(child.meter.usage, child.meter.cost)
        total.fallbacks += child.meter.fallbacks
    if exchange.log_content:
        exchange.content = {
            "messages": [{"role": m.role, "text": m.text} for m in request.messages],
            "completions": {
                name: (child.content or {}).get("completion")
                for name, child in zip(models, children, strict=True)
            },
        }
    answer: dict[str, Any] = {
        "object": "compare",
        "results": results,
        "total_cost_usd": format_cost(total.cost),
    }
    if grounded is not None:
        answer["citations"] = grounded.citations()
        answer["knowledge_base"] = grounded.retrieved.knowledge_base.name
    return JsonResponse(answer, {"x-gateway-cost-usd": format_cost(total.cost)})


def _log_call(
    exchange: Exchange,
    position: int,
    meter: Meter,
    status: int,
    started: float,
    error_code: str | None,
) -> None:
    """One model's part of the comparison: its own line and per-model usage metrics."""
    target = meter.target
    exchange.write(
        RequestRecord(
            request_id=f"{exchange.request_id}-{position}",
            method="POST",
            path="/v1/compare",
            status=status,
            model=target.spec.model_id if target else None,
            invocation_id=target.invocation_id if target else None,
            usage=meter.usage if meter.calls else Usage(),
            cost_usd=meter.cost if meter.calls else Decimal(0),
            latency_ms=(time.perf_counter() - started) * 1000,
            error_code=error_code,
            fallbacks=meter.fallbacks,
            namespace=exchange.namespace,
            line_type=MODEL_CALL_LINE,
        )
    )


def _log_retrieval(exchange: Exchange, grounded: Grounded) -> None:
    """The knowledge-base search's own line: its embedding model's usage metrics."""
    retrieved = grounded.retrieved
    model = retrieved.knowledge_base.embedding_model
    exchange.write(
        RequestRecord(
            request_id=f"{exchange.request_id}-retrieve",
            method="POST",
            path="/v1/compare",
            status=200,
            model=model.model_id if model else None,
            invocation_id=model.model_id if model else None,
            usage=retrieved.usage,
            cost_usd=retrieved.cost,
            namespace=exchange.namespace,
            line_type=MODEL_CALL_LINE,
        )
    )


def _severity(outcome: str | None) -> int:
    return OUTCOMES.index(outcome) if outcome in OUTCOMES else 0


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
