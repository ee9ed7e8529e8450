"""The gateway's routes: one table, shared by the ASGI app and the Lambda handler.

Each route's module is imported on its first request, so a cold start loads only the code of
the route it serves (the streaming function never loads images or embeddings; bench/README.md
has what that saves when Lambda compiles every module at a cold start).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .exchange import Exchange
from .responses import JsonResponse, Response
from .router import Body, Route

Handler = Callable[[Exchange], Response]


def health(_exchange: Exchange) -> JsonResponse:
    """Serve GET /health (no key: the Lambda Web Adapter's readiness check)."""
    return JsonResponse({"status": "ok"})


class ImportedOnFirstUse:
    """A handler whose module of this package is imported on its first call."""

    def __init__(self, module: str, function: str) -> None:
        self.module = module
        self.function = function
        self._target: Handler | None = None

    def resolve(self) -> Handler:
        """Import the module (once) and return the handler function."""
        if self._target is None:
            module = importlib.import_module(f"{__package__}.{self.module}")
            self._target = getattr(module, self.function)
        return self._target

    def __call__(self, exchange: Exchange) -> Response:
        """Serve the request with the imported handler."""
        return self.resolve()(exchange)


def routes() -> list[Route[Handler]]:
    """Every route: method, path pattern, handler and how its body is read."""
    return [
        Route("GET", "/health", health, authenticated=False),
        Route("GET", "/v1/models", ImportedOnFirstUse("models_route", "list_models_route")),
        Route(
            "GET",
            "/v1/models/{model}",
            ImportedOnFirstUse("models_route", "retrieve_model_route"),
        ),
        Route(
            "POST",
            "/v1/models/{model}/invoke",
            ImportedOnFirstUse("passthrough", "invoke_native"),
            Body.RAW,
        ),
        Route(
            "POST",
            "/v1/chat/completions",
            ImportedOnFirstUse("completions", "chat_completion_route"),
            Body.JSON,
        ),
        Route(
            "POST",
            "/v1/responses",
            ImportedOnFirstUse("responses_api", "create_response"),
            Body.JSON,
        ),
        Route(
            "POST",
            "/v1/embeddings",
            ImportedOnFirstUse("embeddings", "create_embeddings"),
            Body.JSON,
        ),
        Route(
            "POST",
            "/v1/images/generations",
            ImportedOnFirstUse("images", "generate_images"),
            Body.JSON,
        ),
        Route("POST", "/v1/compare", ImportedOnFirstUse("compare", "compare"), Body.JSON),
        Route("GET", "/v1/usage", ImportedOnFirstUse("usage_route", "usage_route")),
        Route(
            "GET",
            "/v1/knowledge-bases",
            ImportedOnFirstUse("knowledge_base_routes", "list_knowledge_bases"),
        ),
        Route(
            "POST",
            "/v1/knowledge-bases/{name}/retrieve",
            ImportedOnFirstUse("knowledge_base_routes", "retrieve_route"),
            Body.JSON,
        ),
    ]
