"""The gateway as an ASGI application: uvicorn serves it locally and behind the Web Adapter.

Deliberately framework-free: a few routes do not justify a web framework's import cost, and the
Lambda cold start is a product feature. Everything but HTTP lives in `core.py`; this module
reads the body, runs blocking work off the event loop when threaded, sends the answer (streams
as they come, minding client disconnects) and has the core write the request's record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from .core import Call, Gateway
from .errors import ApiError
from .request_body import read_body
from .responses import StreamResponse
from .router import Body
from .settings import AuthMode, Settings

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
T = TypeVar("T")
# Where the Lambda Web Adapter forwards API Gateway's request context (JSON).
REQUEST_CONTEXT_HEADER = b"x-amzn-request-context"


class GatewayApp:
    """ASGI callable serving the OpenAI-compatible routes."""

    def __init__(
        self,
        settings: Settings,
        client_factory: Callable[[], BedrockRuntimeClient] | None = None,
    ) -> None:
        self.gateway = Gateway(settings, client_factory)
        # Blocking boto3 calls run here, never on the event loop; sized for many slow calls.
        self._executor = (
            ThreadPoolExecutor(settings.workers, thread_name_prefix="bedrock")
            if settings.threaded_calls
            else None
        )
        self._behind_api_gateway = settings.auth_mode is AuthMode.API_GATEWAY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = scope.get("headers", [])
        context = _request_context(headers) if self._behind_api_gateway else None
        call = self.gateway.begin(scope["method"], _raw_path(scope), headers, context)
        try:
            try:
                body: bytes | None = None
                if call.body_kind is not Body.NONE:
                    try:
                        body = await read_body(receive)
                    except ApiError as error:
                        call.refuse(error)
                response = await self._blocking(call.respond, body)
            except Exception:  # noqa: BLE001 - a bug answers an OpenAI-shaped 500, logged
                response = call.fail()
            status, headers = call.head(response)
            raw = [(name.encode(), value.encode("latin-1")) for name, value in headers]
            await send({"type": "http.response.start", "status": status, "headers": raw})
            if isinstance(response, StreamResponse):
                await self._send_stream(call, response, receive, send)
            else:
                body_message = {"type": "http.response.body", "body": call.body_to_send(response)}
                # Charged and logged before the answer ends: behind the Web Adapter, the
                # invocation ends with the response and what runs after it may never finish.
                await self._blocking(call.finish)
                await send(body_message)
        finally:
            call.finish()

    async def _blocking(self, function: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            return function(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _send_stream(
        self, call: Call, response: StreamResponse, receive: Receive, send: Send
    ) -> None:
        """Send server-sent events as they arrive; the core makes the stream end with [DONE]."""
        disconnected = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, disconnected))
        chunks: Iterator[bytes] = call.chunks(response)
        try:
            while (chunk := await self._blocking(next, chunks, None)) is not None:
                if disconnected.is_set():
                    # Keep reading Bedrock's stream: usage arrives at its end and is billed.
                    call.record.client_disconnected = True
                    continue
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError:  # the server may raise once the peer is gone
                    disconnected.set()
                    call.record.client_disconnected = True
                await asyncio.sleep(0)  # let the disconnect watcher run between chunks
            # Before the stream's end, as for a buffered answer (see __call__).
            await self._blocking(call.finish)
            if not disconnected.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else str(scope["path"])


def _request_context(headers: list[tuple[bytes, bytes]]) -> object:
    """API Gateway's request context from the Web Adapter's header; None if absent or not JSON."""
    values = [value for name, value in headers if name == REQUEST_CONTEXT_HEADER]
    if len(values) != 1:
        return None  # the adapter sets exactly one (replacing any the client sent)
    try:
        context: object = json.loads(values[0])
    except (ValueError, RecursionError):
        return None
    return context


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
