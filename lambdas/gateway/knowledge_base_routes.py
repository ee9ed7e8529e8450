"""GET /v1/knowledge-bases and POST /v1/knowledge-bases/{name}/retrieve: search, no answer."""

from __future__ import annotations

from .errors import invalid_request
from .exchange import Exchange
from .responses import JsonResponse
from .retrieval import parse_search, refuse_unknown_fields, retrieve


def list_knowledge_bases(exchange: Exchange) -> JsonResponse:
    """Serve the knowledge bases the caller's team may use."""
    visible = exchange.knowledge_bases.visible_to(exchange.access.policy)
    return JsonResponse({"object": "list", "data": [kb.describe() for kb in visible]})


def retrieve_route(exchange: Exchange) -> JsonResponse:
    """Serve one search: the ranked passages, with the query's (estimated) embedding usage."""
    knowledge_base = exchange.knowledge_base(exchange.params["name"])
    body = exchange.body
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    refuse_unknown_fields(body)
    target = knowledge_base.embedding_target()
    if target is not None:
        # The query's embedding is this request's model call: its line and metrics say so.
        exchange.meter.serving(target)
    retrieved = retrieve(exchange, knowledge_base, parse_search(body))
    tokens = retrieved.usage.input_tokens
    return JsonResponse(
        {
            "object": "list",
            "knowledge_base": knowledge_base.name,
            "data": [
                {"object": "knowledge_base.passage", **passage.to_dict(index)}
                for index, passage in enumerate(retrieved.passages, start=1)
            ],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "estimated": True},
        },
        exchange.meter.headers(),
    )
