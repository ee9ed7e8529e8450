"""Lambda entry point of the buffered function: API Gateway REST proxy events into the core.

The Lambda runtime calls `handler` with the event; it runs the same core (core.py) that the
ASGI app runs under uvicorn locally and behind the Web Adapter, with no HTTP hop, no server and
no event loop (bench/README.md: the hop and the server's imports were most of the gateway's
overhead). Only the streaming function needs the Web Adapter: a Python handler cannot stream.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .core import Gateway
from .errors import ApiError
from .responses import StreamResponse
from .router import Body
from .settings import Settings

ProxyEvent = Mapping[str, Any]
ProxyResult = dict[str, Any]
ProxyHandler = Callable[[ProxyEvent, object], ProxyResult]

# API Gateway frames the answer itself; a length from the function would be redundant at best.
_DROPPED_RESPONSE_HEADERS = frozenset({"content-length"})
_MISCONFIGURED = ApiError(
    500, "The gateway is misconfigured; its log says why.", type_="api_error", code="misconfigured"
)


class LambdaAdapter:
    """Serves REST API (payload format 1.0) proxy events with the gateway's core."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def __call__(self, event: ProxyEvent, _context: object = None) -> ProxyResult:
        """Serve one proxy event; always return a proxy result (errors included)."""
        method = str(event.get("httpMethod") or "GET").upper()
        # REST APIs pass the path still percent-encoded (HTTP APIs decode it), as routing wants.
        call = self._gateway.begin(method, str(event.get("path") or "/"), _header_pairs(event))
        try:
            body = _request_body(event) if call.body_kind is not Body.NONE else None
            response = call.respond(body)
            status, headers = call.head(response)
            if isinstance(response, StreamResponse):
                # Only a direct invocation gets here (API Gateway sends streamed chat to the
                # streaming function): answer the whole stream at once.
                payload = b"".join(call.chunks(response))
            else:
                payload = call.body_to_send(response)
            return _proxy_result(status, headers, payload)
        finally:
            call.finish()


def _header_pairs(event: ProxyEvent) -> list[tuple[bytes, bytes]]:
    """The request headers as (lower-case name, value) pairs, every value kept."""
    multi: Mapping[str, list[str]] | None = event.get("multiValueHeaders")
    items: list[tuple[str, str]]
    if multi:
        items = [(name, value) for name, values in multi.items() for value in values or ()]
    else:
        items = list((event.get("headers") or {}).items())
    return [
        (name.lower().encode("latin-1", "replace"), str(value).encode("latin-1", "replace"))
        for name, value in items
    ]


def _request_body(event: ProxyEvent) -> bytes:
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return b""  # API Gateway encoded it; a broken one reads as an empty body
    return str(body).encode()


def _proxy_result(status: int, headers: list[tuple[bytes, bytes]], payload: bytes) -> ProxyResult:
    """The proxy result API Gateway expects."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        key = name.decode("latin-1")
        if key not in _DROPPED_RESPONSE_HEADERS:
            grouped.setdefault(key, []).append(value.decode("latin-1"))
    try:
        text, encoded = payload.decode(), False
    except UnicodeDecodeError:
        # Only a native model answer can be binary; without binary media types on the API the
        # caller gets it base64-encoded, which is still the model's exact bytes.
        text, encoded = base64.b64encode(payload).decode(), True
    return {
        "statusCode": status,
        "multiValueHeaders": grouped,
        "body": text,
        "isBase64Encoded": encoded,
    }


def _misconfigured(_event: ProxyEvent, _context: object = None) -> ProxyResult:
    """Answer every request while the environment's settings are unusable."""
    body = json.dumps(_MISCONFIGURED.body(), separators=(",", ":"))
    return _proxy_result(500, [(b"content-type", b"application/json")], body.encode())


def create_handler(env: Mapping[str, str]) -> ProxyHandler:
    """The environment's handler: the adapter, or an honest 500 when settings are unusable."""
    try:
        settings = Settings.from_env(env)
    except ValueError as error:
        # Said once, at start-up, where the operator looks; clients get an OpenAI-shaped 500.
        sys.stderr.write(f"gateway: configuration error: {error}\n")
        return _misconfigured
    return LambdaAdapter(Gateway(settings))


# Built while Lambda initialises the environment (and snapshotted with it under SnapStart).
handler = create_handler(os.environ)
