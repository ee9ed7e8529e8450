"""The gateway's routes: one table, shared by the ASGI app and the Lambda handler."""

from __future__ import annotations

from collections.abc import Callable

from .compare import compare
from .completions import chat_completion_route
from .embeddings import create_embeddings
from .exchange import Exchange
from .images import generate_images
from .models_route import list_models_route, retrieve_model_route
from .passthrough import invoke_native
from .responses import JsonResponse, Response
from .router import Body, Route

Handler = Callable[[Exchange], Response]


def health(_exchange: Exchange) -> JsonResponse:
    """Serve GET /health (no key: the Lambda Web Adapter's readiness check)."""
    return JsonResponse({"status": "ok"})


def routes() -> list[Route[Handler]]:
    """Every route: method, path pattern, handler and how its body is read."""
    return [
        Route("GET", "/health", health, authenticated=False),
        Route("GET", "/v1/models", list_models_route),
        Route("GET", "/v1/models/{model}", retrieve_model_route),
        Route("POST", "/v1/models/{model}/invoke", invoke_native, Body.RAW),
        Route("POST", "/v1/chat/completions", chat_completion_route, Body.JSON),
        Route("POST", "/v1/embeddings", create_embeddings, Body.JSON),
        Route("POST", "/v1/images/generations", generate_images, Body.JSON),
        Route("POST", "/v1/compare", compare, Body.JSON),
    ]
