"""The gateway's one ASGI application: the HTTP side of every route, and the one log line.

Deliberately framework-free: a few routes do not justify a web framework's import cost, and the
Lambda cold start is a product feature. The route table lives in `routes.py`; handlers return
what happened (`responses.py`, the Meter) and this module writes the request's record once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .calls import Budget, ClientPool
from .errors import ApiError
from .exchange import Exchange
from .metering import RequestRecord, write_record
from .request_body import decode_json, read_body
from .responses import JsonResponse, RawResponse, Response, StreamResponse
from .router import Body, Match, Router
from .routes import Handler, routes
from .settings import AuthMode, Settings
from .streaming import DONE, sse

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_INTERNAL = ApiError(500, "Internal error in the gateway.", type_="api_error")


class GatewayApp:
    """ASGI callable serving the OpenAI-compatible routes."""

    def __init__(
        self,
        settings: Settings,
        client_factory: Callable[[], BedrockRuntimeClient] | None = None,
    ) -> None:
        self.settings = settings
        if client_factory is not None:
            injected = client_factory
            self.clients = ClientPool(lambda _timeout: injected())
        else:
            self.clients = ClientPool(lambda timeout: _default_client(settings, timeout))
        self.router: Router[Handler] = Router(routes())
        # Blocking boto3 calls run here, never on the event loop; sized for many slow calls.
        self._executor = (
            ThreadPoolExecutor(settings.workers, thread_name_prefix="bedrock")
            if settings.threaded_calls
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        method = scope["method"]
        raw_path = _raw_path(scope)
        record = RequestRecord(
            request_id=uuid.uuid4().hex,
            method=method,
            path=scope["path"][:200],
            namespace=self.settings.metrics_namespace,
        )
        exchange: Exchange | None = None
        try:
            match = self.router.match(method, raw_path)
            if match.route.authenticated:
                self._authenticate(scope)
            exchange = await self._exchange(match, receive, record)
            response = await self._run(match.route.handler, exchange)
        except ApiError as error:
            response = _error_response(error)
            record.error_code = error.code or error.type
        except Exception:  # noqa: BLE001 - a bug answers 500, logged, never a traceback
            _log_exception("unhandled error in %s %s", method, record.path)
            response = _error_response(_INTERNAL)
            record.error_code = "internal_error"
        try:
            if isinstance(response, StreamResponse):
                await self._send_stream(response, receive, send, record, started)
            else:
                await self._send(response, send, record, started, head=method == "HEAD")
        finally:
            _fill(record, exchange)
            record.latency_ms = (time.perf_counter() - started) * 1000
            if raw_path != "/health":
                write_record(record)

    async def _exchange(
        self, match: Match[Handler], receive: Receive, record: RequestRecord
    ) -> Exchange:
        body: object = None
        if match.route.body is not Body.NONE:
            raw = await read_body(receive)
            body = raw if match.route.body is Body.RAW else decode_json(raw)
        settings = self.settings
        return Exchange(
            request_id=record.request_id,
            body=body,
            params=match.params,
            routing=settings.routing,
            budget=Budget(settings.time_budget_seconds),
            clients=self.clients,
            attempts_per_model=settings.bedrock_max_attempts,
            log_content=settings.log_content,
            write=write_record,
            namespace=settings.metrics_namespace,
        )

    async def _run(self, handler: Handler, exchange: Exchange) -> Response:
        try:
            if self._executor is None:
                return handler(exchange)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, handler, exchange)
        except RecursionError:
            # Only a client's deeply nested JSON recurses this far.
            raise ApiError(
                400, "The request body is nested too deeply.", code="invalid_json"
            ) from None

    async def _send(
        self,
        response: JsonResponse | RawResponse,
        send: Send,
        record: RequestRecord,
        started: float,
        *,
        head: bool,
    ) -> None:
        if isinstance(response, RawResponse):
            payload, content_type = response.body, response.content_type
            status = 200
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
            content_type, status = "application/json", response.status
        record.status = status
        headers = {
            **response.headers,
            "x-request-id": record.request_id,
            "x-gateway-latency-ms": f"{(time.perf_counter() - started) * 1000:.1f}",
        }
        raw_headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(len(payload)).encode()),
            *((name.encode(), value.encode("latin-1")) for name, value in headers.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": b"" if head else payload})

    async def _send_stream(
        self,
        response: StreamResponse,
        receive: Receive,
        send: Send,
        record: RequestRecord,
        started: float,
    ) -> None:
        """Send server-sent events as they arrive; the stream always ends with [DONE]."""
        record.status, record.streamed = 200, True
        headers = {
            **response.headers,
            "cache-control": "no-cache",
            "x-request-id": record.request_id,
            # Time to the first byte: a stream's total time is only known at its end.
            "x-gateway-latency-ms": f"{(time.perf_counter() - started) * 1000:.1f}",
        }
        raw_headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        raw_headers.extend((k.encode(), v.encode("latin-1")) for k, v in headers.items())
        disconnected = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, disconnected))
        chunks = response.chunks
        try:
            await send({"type": "http.response.start", "status": 200, "headers": raw_headers})
            try:
                while (chunk := await self._next(chunks)) is not None:
                    await self._write(send, chunk, disconnected, record)
            except Exception:  # noqa: BLE001 - the stream must end well whatever broke
                _log_exception("stream failed for %s", record.path)
                record.stream_error_status = 500
                record.error_code = record.error_code or "internal_error"
                for tail in (sse(_INTERNAL.body()), DONE):
                    await self._write(send, tail, disconnected, record)
            if not disconnected.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()

    async def _next(self, chunks: Iterator[bytes]) -> bytes | None:
        if self._executor is None:
            return next(chunks, None)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, next, chunks, None)

    @staticmethod
    async def _write(
        send: Send, chunk: bytes, disconnected: asyncio.Event, record: RequestRecord
    ) -> None:
        if disconnected.is_set():
            # Keep reading Bedrock's stream: usage arrives at its end and is billed anyway.
            record.client_disconnected = True
            return
        try:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except OSError:  # the server may raise once the peer is gone
            disconnected.set()
            record.client_disconnected = True
        await asyncio.sleep(0)  # let the disconnect watcher run between chunks

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


def _fill(record: RequestRecord, exchange: Exchange | None) -> None:
    """Copy what the handler reported into the request's record (the one place it is set)."""
    if exchange is None:
        return
    meter = exchange.meter
    if meter.target is not None:
        record.model = meter.target.spec.model_id
        record.invocation_id = meter.target.invocation_id
    record.usage, record.cost_usd, record.fallbacks = meter.usage, meter.cost, meter.fallbacks
    record.content = exchange.content
    if exchange.stream_error is not None:
        record.stream_error_status = exchange.stream_error.status
        record.error_code = exchange.stream_error.code or exchange.stream_error.type


def _error_response(error: ApiError) -> JsonResponse:
    return JsonResponse(error.body(), dict(error.headers), status=error.status)


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


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


def _log_exception(message: str, *args: object) -> None:
    import logging

    logging.getLogger(__name__).exception(message, *args)


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


def _default_client(settings: Settings, read_timeout: int) -> BedrockRuntimeClient:
    from .bedrock import create_client

    return create_client(settings, read_timeout)
