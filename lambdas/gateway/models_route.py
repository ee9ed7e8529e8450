"""GET /v1/models and /v1/models/{model}: the enabled models and aliases, with catalog details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .catalog import Modality, ModelSpec
from .exchange import Exchange
from .responses import JsonResponse
from .routing import Routing


def list_models_route(exchange: Exchange) -> JsonResponse:
    """Serve GET /v1/models: what the caller's team may use."""
    routing, access = exchange.routing, exchange.access
    return list_models(routing, lambda name: access.may_use(routing, name))


def retrieve_model_route(exchange: Exchange) -> JsonResponse:
    """Serve GET /v1/models/{model} (403 for one the caller's team may not use)."""
    name = exchange.params["model"]
    exchange.resolve(name)
    return retrieve_model(exchange.routing, name)


def list_models(
    routing: Routing, allowed: Callable[[str], bool] = lambda _name: True
) -> JsonResponse:
    """Return the enabled models and aliases in the OpenAI list shape, with catalog details."""
    data: list[dict[str, Any]] = [
        _model_entry(routing, spec) for spec in routing.enabled if allowed(spec.model_id)
    ]
    for alias, ids in routing.aliases.items():
        if not allowed(alias):
            continue
        data.append(
            {
                "id": alias,
                "object": "model",
                "created": 0,
                "owned_by": "alias",
                "targets": list(ids),
            }
        )
    return JsonResponse({"object": "list", "data": data})


def retrieve_model(routing: Routing, name: str) -> JsonResponse:
    """Return one enabled model or alias (OpenAI's GET /v1/models/{model})."""
    if name in routing.aliases:
        targets = list(routing.aliases[name])
        return JsonResponse(
            {"id": name, "object": "model", "created": 0, "owned_by": "alias", "targets": targets}
        )
    (target,) = routing.resolve(name)
    return JsonResponse(_model_entry(routing, target.spec))


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
        "invocation_id": target.shown_id or target.invocation_id,
        "pricing": prices,
    }
