"""POST /v1/compare: one chat request sent to several models at once, answers side by side."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .errors import ApiError, invalid_field, invalid_request
from .metering import RequestRecord, Usage, format_cost, write_record
from .routing import Routing
from .service import Result, chat_completion

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

MAX_MODELS = 10


def compare(
    routing: Routing,
    client_factory: Callable[[], BedrockRuntimeClient],
    body: object,
    record: RequestRecord,
) -> Result:
    """Run the same chat request on every listed model concurrently; failures stay per model."""
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
    for name in models:
        routing.resolve(name)  # an unknown or disabled model fails the whole request up front

    def run(name: str) -> dict[str, Any]:
        child = RequestRecord(
            request_id=f"{record.request_id}-{models.index(name)}",
            method=record.method,
            path=record.path,
            namespace=record.namespace,
        )
        started = time.perf_counter()
        try:
            result = chat_completion(routing, client_factory, {**body, "model": name}, child)
        except ApiError as error:
            child.status, child.error_code = error.status, error.code or error.type
            _log_child(child, started)
            return {
                "model": name,
                "status": "error",
                "error": error.body()["error"],
                "http_status": error.status,
                "latency_ms": _ms(started),
                "served_by": child.model,
            }
        child.status = 200
        _log_child(child, started)
        choice = result.body["choices"][0]
        return {
            "model": name,
            "status": "ok",
            "served_by": child.model,
            "latency_ms": _ms(started),
            "content": choice["message"]["content"],
            "tool_calls": choice["message"].get("tool_calls"),
            "finish_reason": choice["finish_reason"],
            "usage": result.body["usage"],
            "cost_usd": format_cost(child.cost_usd or Decimal(0)),
            "_usage": child.usage,
            "_cost": child.cost_usd or Decimal(0),
        }

    # Bedrock calls block on I/O: one thread per model runs them side by side.
    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        results = list(pool.map(run, models))
    total_cost = sum((r.pop("_cost", Decimal(0)) for r in results), Decimal(0))
    usages = [u for r in results if (u := r.pop("_usage", None)) is not None]
    # Each model call logged its own line (and per-model metrics); this line is the summary.
    record.usage = Usage(
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
    )
    record.cost_usd = total_cost
    return Result(
        {"object": "compare", "results": results, "total_cost_usd": format_cost(total_cost)},
        {"x-gateway-cost-usd": format_cost(total_cost)},
    )


def _log_child(child: RequestRecord, started: float) -> None:
    child.latency_ms = (time.perf_counter() - started) * 1000
    write_record(child)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
