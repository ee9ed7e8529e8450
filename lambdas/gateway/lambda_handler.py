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
from .metering import METRIC_NAMESPACE, RequestRecord, new_request_id, write_record
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
        if not isinstance(event, Mapping):
            event = {}  # only a hand-made invocation: a 403 behind API Gateway, else a 404
        method = str(event.get("httpMethod") or "GET").upper()
        # REST APIs pass the path still percent-encoded (HTTP APIs decode it), as routing wants.
        path = str(event.get("path") or "/")
        # Behind API Gateway the core refuses an event without the stage's requestContext.
        context = event.get("requestContext")
        call = self._gateway.begin(method, path, _header_pairs(event), context)
        try:
            try:
                body = None
                if call.body_kind is not Body.NONE:
                    try:
                        body = _request_body(event)
                    except ApiError as error:
                        call.refuse(error)
                response = call.respond(body)
                status, headers = call.head(response)
                if isinstance(response, StreamResponse):
                    # Only a direct invocation gets here (API Gateway sends streamed chat to the
                    # streaming function): answer the whole stream at once.
                    payload = b"".join(call.chunks(response))
                else:
                    payload = call.body_to_send(response)
            except Exception:  # noqa: BLE001 - a bug answers an OpenAI-shaped 500, logged
                # Built here, not by the core's answer path, which may be what failed.
                call.record.status = 500
                payload = json.dumps(call.fail().body, separators=(",", ":")).encode()
                headers = [
                    ("content-type", "application/json"),
                    ("x-request-id", call.record.request_id),
                    # A browser app may read even this answer.
                    *call.cors_headers(),
                ]
                status = 500
            return _proxy_result(status, headers, payload)
        finally:
            call.finish()


def _header_pairs(event: ProxyEvent) -> list[tuple[bytes, bytes]]:
    """The request headers as (lower-case name, value) pairs, every value kept."""
    multi = event.get("multiValueHeaders")
    single = event.get("headers")
    items: list[tuple[object, object]] = []
    if isinstance(multi, Mapping) and multi:
        for name, values in multi.items():
            if isinstance(values, list):
                items.extend((name, value) for value in values)
    elif isinstance(single, Mapping):
        items = list(single.items())
    return [
        (str(name).lower().encode("latin-1", "replace"), str(value).encode("latin-1", "replace"))
        for name, value in items
    ]


def _request_body(event: ProxyEvent) -> bytes:
    """The body's bytes, or a 400 when the event carries something no client could send."""
    body = event.get("body")
    if body is None or body == "":
        return b""
    if not isinstance(body, str):
        raise ApiError(400, "The request body must be text.", code="invalid_body")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode("".join(body.split()), validate=True)
        except ValueError:
            raise ApiError(
                400, "The request body is marked base64 but is not.", code="invalid_body"
            ) from None
    # A lone surrogate has no UTF-8 form: kept as is, as the JSON decoder reads it back.
    return body.encode("utf-8", "surrogatepass")


def _proxy_result(status: int, headers: list[tuple[str, str]], payload: bytes) -> ProxyResult:
    """The proxy result API Gateway expects."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        if name not in _DROPPED_RESPONSE_HEADERS:
            grouped.setdefault(name, []).append(value)
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


def misconfigured(namespace: str) -> ProxyHandler:
    """A handler answering every request with a 500 while the settings are unusable."""
    body = json.dumps(_MISCONFIGURED.body(), separators=(",", ":")).encode()

    def handler(event: ProxyEvent, _context: object = None) -> ProxyResult:
        fields = event if isinstance(event, Mapping) else {}
        record = RequestRecord(
            request_id=new_request_id(),
            method=str(fields.get("httpMethod") or "GET")[:16],
            path=str(fields.get("path") or "/")[:200],
            status=500,
            error_code="misconfigured",
            namespace=namespace,
        )
        write_record(record)  # counted: the 5xx alarm sees a broken deployment
        headers = [("content-type", "application/json"), ("x-request-id", record.request_id)]
        return _proxy_result(500, headers, body)

    return handler


def create_handler(env: Mapping[str, str]) -> ProxyHandler:
    """The environment's handler: the adapter, or an honest 500 when settings are unusable."""
    try:
        settings = Settings.from_env(env)
    except ValueError as error:
        # Said once, at start-up, where the operator looks; clients get an OpenAI-shaped 500.
        sys.stderr.write(f"gateway: configuration error: {error}\n")
        return misconfigured(env.get("GATEWAY_METRICS_NAMESPACE") or METRIC_NAMESPACE)
    return LambdaAdapter(Gateway(settings))


# Built while Lambda initialises the environment (and snapshotted with it under SnapStart).
handler = create_handler(os.environ)
