"""The emulator's HTTP side: Bedrock's REST routes on loopback, faults and a request log.

It serves bedrock-runtime's model operations and, for the knowledge bases it is given,
bedrock-agent-runtime's Retrieve and bedrock-agent's ingestion jobs.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from lambdas.gateway.catalog import ModelSpec

from . import eventstream
from .converse_stream import StreamReply
from .errors import BedrockError
from .faults import FaultQueue, MatchQueue, StreamBreak
from .kb_handlers import KnowledgeBaseRequest
from .kb_store import KnowledgeBaseStore
from .knowledge_bases import LocalKnowledgeBase
from .models import Resolved, identifier_table, require_alive, signed_region, with_declared
from .request_log import UNKNOWN_OPERATION, RecordedRequest, RequestLog
from .routes import (
    KnowledgeBaseOperation,
    Operation,
    not_emulated,
    route,
    route_knowledge_base,
    unknown_route,
)
from .wire import OperationRequest, Reply, decode_json, error_reply

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_LOG_LIMIT = 10_000
_MAX_LINE = 65_536


class EmulatorState:
    """Faults to inject and requests received; shared by the handler threads."""

    def __init__(
        self,
        *,
        log_limit: int = DEFAULT_LOG_LIMIT,
        verbose: bool = False,
        models: Mapping[str, Resolved] | None = None,
        today: date | None = None,
        knowledge_bases: Sequence[LocalKnowledgeBase] = (),
    ) -> None:
        self.models = models if models is not None else identifier_table()
        self.knowledge_bases = KnowledgeBaseStore(knowledge_bases)
        # The day lifecycle dates are compared with (None: the real date, read per request).
        self.today = today
        self.faults = FaultQueue()
        self.log = RequestLog(log_limit)
        self.verbose = verbose
        # Seconds to wait before answering the next matching calls (a slow or hung model).
        self.delays: MatchQueue[float] = MatchQueue()
        # Streaming: a pause before each event (as a model generates), and queued stream breaks.
        self.stream_chunk_delay_ms = 0.0
        self.stream_breaks: MatchQueue[StreamBreak] = MatchQueue()


@dataclass(frozen=True, slots=True)
class _Received:
    """A request's body (raw and decoded) and its headers (names lower-cased)."""

    raw: bytes
    body: object
    body_error: str | None
    headers: Mapping[str, str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects
    # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "BedrockEmulator"
    server: _Server

    def version_string(self) -> str:
        """Name the emulator in the Server header (without the Python version)."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet unless verbose: the emulator is used by tests and benchmarks."""
        if self.server.state.verbose:
            super().log_message(format, *args)

    def do_POST(self) -> None:
        """Serve one request (whatever the verb: each route says which one it takes)."""
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True  # the stream position is unknown: do not reuse it
            self._send(
                error_reply(BedrockError("SerializationException", "Unreadable request body."))
            )
            return
        self._send(self._reply(raw))

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def _reply(self, raw: bytes) -> Reply:
        path = self.path.split("?", 1)[0]
        body, body_error = decode_json(raw)
        received = _Received(
            raw, body, body_error, {name.lower(): value for name, value in self.headers.items()}
        )
        matched = route(self.command, path)
        if matched is not None:
            return self._model_reply(*matched, received)
        knowledge_base_call = route_knowledge_base(self.command, path)
        if knowledge_base_call is not None:
            return self._knowledge_base_reply(*knowledge_base_call, received)
        self.server.state.log.append(
            RecordedRequest(UNKNOWN_OPERATION, None, body, received.headers), len(raw)
        )
        return error_reply(unknown_route(self.command, path))

    def _model_reply(self, operation: Operation, model_id: str, received: _Received) -> Reply:
        state = self.server.state
        refused = self._admit(operation.name, model_id, received)
        if refused is not None:
            return refused
        handler = operation.handler
        if handler is None:
            return error_reply(not_emulated(operation))
        headers = received.headers
        request = OperationRequest(
            operation.name,
            model_id,
            received.raw,
            received.body,
            received.body_error,
            headers,
            state.models,
        )

        def serve() -> Reply:
            resolved = state.models.get(model_id)
            if resolved is not None:
                require_alive(resolved, signed_region(headers), state.today or date.today())
            return handler(request)

        return _guarded(serve)

    def _knowledge_base_reply(
        self, operation: KnowledgeBaseOperation, params: Mapping[str, str], received: _Received
    ) -> Reply:
        refused = self._admit(operation.name, None, received)
        if refused is not None:
            return refused
        request = KnowledgeBaseRequest(
            operation.name,
            params,
            received.body,
            received.body_error,
            self.server.state.knowledge_bases,
        )
        return _guarded(lambda: operation.handler(request))

    def _admit(self, operation: str, model_id: str | None, received: _Received) -> Reply | None:
        """Log a routed call and apply its queued delay; return a queued fault's reply if any."""
        state = self.server.state
        state.log.append(
            RecordedRequest(operation, model_id, received.body, received.headers),
            len(received.raw),
        )
        # Knowledge base calls name no model: only faults and delays without a model id match.
        keys = _fault_keys(model_id) if model_id is not None else ()
        delay = state.delays.take(operation, keys)
        if delay:
            time.sleep(delay)
        fault = state.faults.take(operation, keys)
        return error_reply(fault) if fault is not None else None

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(_MAX_LINE).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers carry nothing the emulator needs
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(_MAX_LINE)

    def _send(self, reply: Reply) -> None:
        if isinstance(reply, StreamReply):
            self._send_stream(reply)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _send_stream(self, reply: StreamReply) -> None:
        """Write events one chunk at a time, paced, possibly broken by a queued stream break."""
        state = self.server.state
        model_id = route(self.command, self.path.split("?", 1)[0])
        cut = state.stream_breaks.take("stream", _fault_keys(model_id[1]) if model_id else ())
        self.send_response(200)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        try:
            for index, (event_type, payload) in enumerate(reply.events):
                if state.stream_chunk_delay_ms:
                    time.sleep(state.stream_chunk_delay_ms / 1000)
                if cut is not None and index == cut.after_events:
                    if cut.error is not None:
                        error = cut.error
                        self._write_chunk(
                            eventstream.exception(in_stream_code(error.code), error.message)
                        )
                        break
                    if not cut.stall_seconds:
                        # A broken network: no exception, no end of the chunked body.
                        self.close_connection = True
                        return
                    time.sleep(cut.stall_seconds)
                self._write_chunk(eventstream.event(event_type, payload))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client stopped reading (as a user closing a chat does): nothing left to send.
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _guarded(serve: Callable[[], Reply]) -> Reply:
    """Run a handler; a Bedrock error becomes its reply, an emulator bug a 500."""
    try:
        return serve()
    except BedrockError as error:
        return error_reply(error)
    except Exception:  # noqa: BLE001 - an emulator bug must answer 500, not drop the socket
        traceback.print_exc(file=sys.stderr)
        return error_reply(
            BedrockError(
                "InternalServerException", "The emulator failed on this request (see stderr)."
            )
        )


def in_stream_code(code: str) -> str:
    """In-stream exceptions are named like event members: throttlingException."""
    return code[:1].lower() + code[1:]


def _fault_keys(model_id: str) -> tuple[str, ...]:
    """Ids a fault's `model_id` may name to hit this call: the id as sent and its catalog id."""
    resolved = identifier_table().get(model_id)
    return (model_id,) if resolved is None else (model_id, resolved.spec.model_id)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up mid-answer is routine (as for Bedrock); report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host (slow, and not needed)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)


class _Server6(_Server):
    address_family = socket.AF_INET6


class Emulator:
    """A bound emulator: its URL, its request log, fault injection, and start/stop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_limit: int = DEFAULT_LOG_LIMIT,
        verbose: bool = False,
        declared: Sequence[ModelSpec] = (),
        today: date | None = None,
        knowledge_bases: Sequence[LocalKnowledgeBase] = (),
    ) -> None:
        """Bind on loopback.

        Args:
            host: A loopback address.
            port: 0 picks a free port.
            log_limit: How many requests the request log keeps (the oldest go first).
            verbose: Log one line per request.
            declared: Models a deployment's config declares, served like catalog models.
            today: The day lifecycle dates are compared with (default: the real date).
            knowledge_bases: Knowledge bases to serve, each empty until an ingestion job runs.
        """
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the emulator only listens on loopback ({', '.join(LOOPBACK_HOSTS)})")
        # Build the model index now rather than on the first request.
        models = with_declared(declared) if declared else identifier_table()
        self._state = EmulatorState(
            log_limit=log_limit,
            verbose=verbose,
            models=models,
            today=today,
            knowledge_bases=knowledge_bases,
        )
        server_class = _Server6 if host == "::1" else _Server
        self._server = server_class(
            ("127.0.0.1" if host == "localhost" else host, port), self._state
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="bedrock-emulator", daemon=True
        )
        self._closed = False

    @property
    def url(self) -> str:
        """Return the endpoint URL to give boto3 (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, _AGENT...)."""
        host, port = self._server.server_address[:2]
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}"

    @property
    def knowledge_bases(self) -> tuple[LocalKnowledgeBase, ...]:
        """Return the knowledge bases served; their indexes survive clear()."""
        return self._state.knowledge_bases.knowledge_bases

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return a copy of the requests received so far, oldest first."""
        return self._state.log.snapshot()

    def inject_fault(
        self,
        code: str,
        *,
        times: int = 1,
        model_id: str | None = None,
        status: int | None = None,
        message: str | None = None,
        operation: str | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next `times` matching calls with Bedrock error `code` instead.

        Args:
            code: The error code botocore will report, e.g. "ThrottlingException".
            times: How many matching calls fail.
            model_id: Only calls naming this id fail; a catalog id also matches its profiles.
            status: HTTP status; defaults to Bedrock's status for `code`.
            message: Error message; defaults to Bedrock's wording for `code`.
            operation: Only calls of this operation (e.g. "Converse" or "Retrieve") fail.
            after: Matching calls to serve normally first (fail the third call: after=2).
        """
        self._state.faults.add(
            code,
            times=times,
            model_id=model_id,
            operation=operation,
            status=status,
            message=message,
            after=after,
        )

    @property
    def stream_chunk_delay_ms(self) -> float:
        """Pause before each streamed event, in ms (0: as fast as possible)."""
        return self._state.stream_chunk_delay_ms

    @stream_chunk_delay_ms.setter
    def stream_chunk_delay_ms(self, value: float) -> None:
        self._state.stream_chunk_delay_ms = value

    def cut_stream(
        self,
        code: str = "ThrottlingException",
        *,
        after_events: int = 2,
        times: int = 1,
        model_id: str | None = None,
        message: str | None = None,
    ) -> None:
        """End the next `times` streams after `after_events` events with an in-stream error."""
        error = BedrockError(code, message or f"Emulated {code} in the middle of the stream.")
        self._state.stream_breaks.put(
            StreamBreak(after_events, error), times=times, model_id=model_id, operation="stream"
        )

    def drop_stream(
        self, *, after_events: int = 2, times: int = 1, model_id: str | None = None
    ) -> None:
        """Drop the connection of the next `times` streams after `after_events` events."""
        self._state.stream_breaks.put(
            StreamBreak(after_events), times=times, model_id=model_id, operation="stream"
        )

    def stall_stream(
        self,
        seconds: float,
        *,
        after_events: int = 2,
        times: int = 1,
        model_id: str | None = None,
    ) -> None:
        """Pause the next `times` streams for `seconds` after `after_events` events."""
        self._state.stream_breaks.put(
            StreamBreak(after_events, stall_seconds=seconds),
            times=times,
            model_id=model_id,
            operation="stream",
        )

    def delay(
        self,
        seconds: float,
        *,
        times: int = 1,
        model_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        """Wait `seconds` before answering the next `times` matching calls (a slow model)."""
        self._state.delays.put(seconds, times=times, model_id=model_id, operation=operation)

    def clear(self) -> None:
        """Forget queued faults and recorded requests."""
        self._state.faults.clear()
        self._state.delays.clear()
        self._state.stream_breaks.clear()
        self._state.log.clear()

    def start(self) -> Emulator:
        """Serve in a daemon thread; the socket is already bound and listening, so calls succeed."""
        if not self._thread.is_alive() and not self._closed:
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_limit: int = DEFAULT_LOG_LIMIT,
    verbose: bool = False,
    declared: Sequence[ModelSpec] = (),
    today: date | None = None,
    knowledge_bases: Sequence[LocalKnowledgeBase] = (),
) -> Emulator:
    """Start an emulator on loopback (port 0 picks a free port) and return it, serving.

    `declared`, `today` and `knowledge_bases` as for Emulator.
    """
    emulator = Emulator(
        host,
        port,
        log_limit=log_limit,
        verbose=verbose,
        declared=declared,
        today=today,
        knowledge_bases=knowledge_bases,
    )
    return emulator.start()
