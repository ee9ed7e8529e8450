"""The gateway's one ASGI application: routing, authentication, JSON in and out, errors.

Deliberately framework-free: a few routes do not justify a web framework's import cost, and the
Lambda cold start is a product feature. Served by uvicorn locally, by the Lambda Web Adapter in AWS.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import TYPE_CHECKING, Any

from . import compare, embeddings, images, passthrough, service
from .errors import ApiError
from .metering import RequestRecord, write_record
from .settings import AuthMode, Settings

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit
MODELS_PREFIX = "/v1/models/"
INVOKE_SUFFIX = "/invoke"


class GatewayApp:
    """ASGI callable serving /health, /v1/models and /v1/chat/completions."""

    def __init__(
        self,
        settings: Settings,
        client_factory: Callable[[], BedrockRuntimeClient] | None = None,
    ) -> None:
        self.settings = settings
        self._client: BedrockRuntimeClient | None = None
        self._client_lock = threading.Lock()
        self._client_factory = client_factory or partial(_default_client, settings)
        routing = settings.routing
        self._routes: dict[tuple[str, str], Callable[[object, RequestRecord], service.Result]] = {
            ("GET", "/health"): lambda _body, _record: service.Result({"status": "ok"}),
            ("GET", "/v1/models"): lambda _body, _record: service.list_models(routing),
            ("POST", "/v1/chat/completions"): partial(
                service.chat_completion,
                routing,
                self.client,
                time_budget_seconds=settings.time_budget_seconds,
                log_content=settings.log_content,
            ),
            ("POST", "/v1/embeddings"): partial(embeddings.create_embeddings, routing, self.client),
            ("POST", "/v1/images/generations"): partial(
                images.generate_images, routing, self.client
            ),
            ("POST", "/v1/compare"): partial(compare.compare, routing, self.client),
        }

    def client(self) -> BedrockRuntimeClient:
        """Return the Bedrock client, created on first use (boto3 is imported only then)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        record = RequestRecord(
            request_id=uuid.uuid4().hex,
            method=method,
            path=path,
            namespace=self.settings.metrics_namespace,
        )
        raw: bytes | None = None
        content_type = "application/json"
        try:
            result = await self._dispatch(scope, receive, method, path, record)
            if result.stream is not None:
                await self._send_stream(result, receive, send, record, started)
                return
            status, body, headers = 200, result.body, result.headers
            raw, content_type = result.raw, result.content_type
        except ApiError as error:
            status, body, headers = error.status, error.body(), dict(error.headers)
            record.error_code = error.code or error.type
        except Exception:
            import logging

            logging.getLogger(__name__).exception("unhandled error in %s %s", method, path)
            internal = ApiError(500, "Internal error in the gateway.", type_="api_error")
            status, body, headers = 500, internal.body(), {}
            record.error_code = "internal_error"
        record.status = status
        record.latency_ms = (time.perf_counter() - started) * 1000
        headers["x-request-id"] = record.request_id
        headers["x-gateway-latency-ms"] = f"{record.latency_ms:.1f}"
        payload = raw if raw is not None else json.dumps(body, separators=(",", ":")).encode()
        await _send(send, status, payload, content_type, headers)
        if path != "/health":
            write_record(record)

    async def _send_stream(
        self,
        result: service.Result,
        receive: Receive,
        send: Send,
        record: RequestRecord,
        started: float,
    ) -> None:
        """Send server-sent events as they arrive; meter and log however the stream ends."""
        assert result.stream is not None
        chunks = result.stream
        headers = {
            **result.headers,
            "cache-control": "no-cache",
            "x-request-id": record.request_id,
        }
        raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        raw_headers.extend((k.encode(), v.encode()) for k, v in headers.items())
        record.status = 200
        disconnected = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, disconnected))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": raw_headers})
            while True:
                if self.settings.threaded_calls:
                    chunk = await asyncio.to_thread(next, chunks, None)
                else:
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                if disconnected.is_set():
                    # Keep reading Bedrock's stream: usage arrives at its end and is billed anyway.
                    record.client_disconnected = True
                    continue
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError:  # the server may raise once the peer is gone
                    disconnected.set()
                await asyncio.sleep(0)  # let the disconnect watcher run between chunks
            if not disconnected.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:
            import logging

            logging.getLogger(__name__).exception("stream failed for %s", record.path)
            record.error_code = record.error_code or "internal_error"
        finally:
            watcher.cancel()
            record.latency_ms = (time.perf_counter() - started) * 1000
            write_record(record)

    async def _dispatch(
        self, scope: Scope, receive: Receive, method: str, path: str, record: RequestRecord
    ) -> service.Result:
        handler = self._routes.get((method, path)) or self._model_route(method, path)
        if handler is None:
            if any(route_path == path for _, route_path in self._routes) or path.startswith(
                MODELS_PREFIX
            ):
                raise ApiError(
                    405, f"Method {method} is not allowed on {path}.", code="method_not_allowed"
                )
            raise ApiError(
                404, f"No route {method} {path}.", type_="not_found_error", code="not_found"
            )
        if path.startswith("/v1/"):
            self._authenticate(scope)
        body: object = None
        if method == "POST":
            raw = await _read_body(receive)
            # The native passthrough forwards the client's bytes untouched.
            body = raw if path.endswith(INVOKE_SUFFIX) else _decode_json(raw)
            if self.settings.threaded_calls:
                # boto3 blocks; a worker thread keeps the event loop free for other requests.
                return await asyncio.to_thread(handler, body, record)
        return handler(body, record)

    def _model_route(
        self, method: str, path: str
    ) -> Callable[[object, RequestRecord], service.Result] | None:
        """Routes with the model id in the path: GET /v1/models/{id}, POST .../{id}/invoke."""
        if not path.startswith(MODELS_PREFIX):
            return None
        rest = path[len(MODELS_PREFIX) :]
        routing = self.settings.routing
        if method == "POST" and rest.endswith(INVOKE_SUFFIX) and len(rest) > len(INVOKE_SUFFIX):
            model = rest[: -len(INVOKE_SUFFIX)]
            return lambda body, record: passthrough.invoke_native(
                routing, self.client, model, body if isinstance(body, bytes) else b"", record
            )
        if method == "GET" and rest and "/" not in rest:
            return lambda _body, _record: service.retrieve_model(routing, rest)
        return None

    def _authenticate(self, scope: Scope) -> None:
        if self.settings.auth_mode is AuthMode.API_GATEWAY:
            return  # API Gateway validated the usage-plan key before invoking the function.
        presented = _presented_key(scope)
        expected = self.settings.api_key or ""
        if presented is None:
            raise ApiError(
                401,
                "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
                code="invalid_api_key",
            )
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise ApiError(401, "Invalid API key.", code="invalid_api_key")


def _presented_key(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and value:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "The client disconnected before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(
                413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", code="request_too_large"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _decode_json(raw: bytes) -> object:
    if not raw:
        raise ApiError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(
            400, f"The request body is not valid JSON: {error}.", code="invalid_json"
        ) from None


async def _send(
    send: Send, status: int, payload: bytes, content_type: str, headers: dict[str, str]
) -> None:
    raw_headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw_headers.extend((name.encode(), value.encode()) for name, value in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def _watch_disconnect(receive: Receive, disconnected: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected.set()
            return


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _default_client(settings: Settings) -> BedrockRuntimeClient:
    from .bedrock import create_client

    return create_client(settings)
