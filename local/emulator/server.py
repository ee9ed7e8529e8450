"""The emulator's HTTP side: Bedrock's REST routes on loopback, faults and a request log.

It serves bedrock-runtime's model operations and, for the guardrails it is given,
ApplyGuardrail and Converse's guardrailConfig; for the knowledge bases it is given,
bedrock-agent-runtime's Retrieve and bedrock-agent's ingestion jobs; for the SageMaker endpoints
it is given, sagemaker-runtime's InvokeEndpoint and InvokeEndpointWithResponseStream.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from lambdas.gateway.catalog import ModelSpec

from . import eventstream
from .converse_stream import StreamReply
from .errors import STATUS_BY_CODE, BedrockError
from .faults import FaultQueue, MatchQueue, StreamBreak
from .guardrails import GuardrailStore, LocalGuardrail
from .kb_store import KnowledgeBaseStore
from .knowledge_bases import LocalKnowledgeBase
from .models import Resolved, identifier_table, require_alive, signed_region, with_declared
from .request_log import UNKNOWN_OPERATION, RecordedRequest, RequestLog
from .routes import (
    GUARDRAIL_OPERATIONS,
    KNOWLEDGE_BASE_OPERATIONS,
    SAGEMAKER_OPERATIONS,
    Operation,
    SageMakerOperation,
    StoreOperation,
    not_emulated,
    route,
    route_sagemaker,
    route_store,
    unknown_route,
)
from .sagemaker import EndpointStore, LocalEndpoint, SageMakerRequest, fault_defaults
from .sagemaker_wire import PayloadStreamReply, internal_failure, payload_part, stream_failure
from .sagemaker_wire import error_reply as sagemaker_error_reply
from .wire import OperationRequest, Reply, StoreRequest, StoreT, decode_json, error_reply

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
        guardrails: Sequence[LocalGuardrail] = (),
        sagemaker_endpoints: Sequence[LocalEndpoint] = (),
    ) -> None:
        self.models = models if models is not None else identifier_table()
        self.knowledge_bases = KnowledgeBaseStore(knowledge_bases)
        self.guardrails = GuardrailStore(guardrails)
        self.endpoints = EndpointStore(sagemaker_endpoints)
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
        state = self.server.state
        path = self.path.split("?", 1)[0]
        body, body_error = decode_json(raw)
        received = _Received(
            raw, body, body_error, {name.lower(): value for name, value in self.headers.items()}
        )
        matched = route(self.command, path)
        if matched is not None:
            return self._model_reply(*matched, received)
        knowledge_base_call = route_store(KNOWLEDGE_BASE_OPERATIONS, self.command, path)
        if knowledge_base_call is not None:
            return self._store_reply(*knowledge_base_call, state.knowledge_bases, received)
        guardrail_call = route_store(GUARDRAIL_OPERATIONS, self.command, path)
        if guardrail_call is not None:
            return self._store_reply(*guardrail_call, state.guardrails, received)
        sagemaker_call = route_sagemaker(self.command, path)
        if sagemaker_call is not None:
            return self._sagemaker_reply(*sagemaker_call, received)
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
            return handler(request, state.guardrails)

        return _guarded(serve)

    def _store_reply(
        self,
        operation: StoreOperation[StoreT],
        params: dict[str, str],
        store: StoreT,
        received: _Received,
    ) -> Reply:
        """Serve a call whose path names no model, unless a fault or delay is queued for it."""
        refused = self._admit(operation.name, None, received)
        if refused is not None:
            return refused
        request = StoreRequest(operation.name, params, received.body, received.body_error, store)
        return _guarded(lambda: operation.handler(request))

    def _sagemaker_reply(
        self, operation: SageMakerOperation, endpoint_name: str, received: _Received
    ) -> Reply:
        # Faults and delays name the endpoint as their model id.
        refused = self._admit(
            operation.name,
            endpoint_name,
            received,
            keys=(endpoint_name,),
            encode=sagemaker_error_reply,
        )
        if refused is not None:
            return refused
        request = SageMakerRequest(
            operation.name,
            endpoint_name,
            received.raw,
            received.headers,
            self.server.state.endpoints,
        )
        return _guarded(
            lambda: operation.handler(request),
            encode=sagemaker_error_reply,
            internal=internal_failure,
        )

    def _admit(
        self,
        operation: str,
        model_id: str | None,
        received: _Received,
        *,
        keys: tuple[str, ...] | None = None,
        encode: Callable[[BedrockError], Reply] = error_reply,
    ) -> Reply | None:
        """Log a routed call and apply its queued delay; return a queued fault's reply if any.

        `keys` are the ids a fault's model id may name (default: the model id's), `encode` how
        the service encodes errors.
        """
        state = self.server.state
        state.log.append(
            RecordedRequest(operation, model_id, received.body, received.headers),
            len(received.raw),
        )
        # Knowledge base and guardrail calls name no model: only faults and delays without a
        # model id match.
        if keys is None:
            keys = _fault_keys(model_id) if model_id is not None else ()
        delay = state.delays.take(operation, keys)
        if delay:
            time.sleep(delay)
        fault = state.faults.take(operation, keys)
        return encode(fault) if fault is not None else None

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
            model_id = route(self.command, self.path.split("?", 1)[0])
            self._send_stream(
                reply,
                (eventstream.event(event_type, payload) for event_type, payload in reply.events),
                _bedrock_stream_error,
                _fault_keys(model_id[1]) if model_id else (),
            )
            return
        if isinstance(reply, PayloadStreamReply):
            self._send_stream(
                reply,
                (payload_part(part) for part in reply.parts),
                stream_failure,
                (reply.endpoint_name,),
            )
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _send_stream(
        self,
        reply: Reply,
        frames: Iterable[bytes],
        in_stream_error: Callable[[BedrockError], bytes],
        keys: tuple[str, ...],
    ) -> None:
        """Write framed events one chunk at a time, paced, possibly broken by a stream break.

        `in_stream_error` frames the exception a cut_stream break ends the stream with; `keys`
        are the ids a break's model id may name.
        """
        state = self.server.state
        cut = state.stream_breaks.take("stream", keys)
        self.send_response(200)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for index, frame in enumerate(frames):
                if state.stream_chunk_delay_ms:
                    time.sleep(state.stream_chunk_delay_ms / 1000)
                if cut is not None and index == cut.after_events:
                    if cut.error is not None:
                        self._write_chunk(in_stream_error(cut.error))
                        break
                    if not cut.stall_seconds:
                        # A broken network: no exception, no end of the chunked body.
                        self.close_connection = True
                        return
                    time.sleep(cut.stall_seconds)
                self._write_chunk(frame)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client stopped reading (as a user closing a chat does): nothing left to send.
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _internal_server_error() -> BedrockError:
    return BedrockError(
        "InternalServerException", "The emulator failed on this request (see stderr)."
    )


def _guarded(
    serve: Callable[[], Reply],
    *,
    encode: Callable[[BedrockError], Reply] = error_reply,
    internal: Callable[[], BedrockError] = _internal_server_error,
) -> Reply:
    """Run a handler; a service error becomes its reply (`encode`), an emulator bug a 500."""
    try:
        return serve()
    except BedrockError as error:
        return encode(error)
    except Exception:  # noqa: BLE001 - an emulator bug must answer 500, not drop the socket
        traceback.print_exc(file=sys.stderr)
        return encode(internal())


def in_stream_code(code: str) -> str:
    """In-stream exceptions are named like event members: throttlingException."""
    return code[:1].lower() + code[1:]


def _bedrock_stream_error(error: BedrockError) -> bytes:
    """Frame the in-stream exception that ends a broken Bedrock stream."""
    return eventstream.exception(in_stream_code(error.code), error.message)


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
        guardrails: Sequence[LocalGuardrail] = (),
        sagemaker_endpoints: Sequence[LocalEndpoint] = (),
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
            guardrails: Guardrails to serve, by id (or ARN) and version.
            sagemaker_endpoints: SageMaker endpoints to serve (sagemaker-runtime), by name.
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
            guardrails=guardrails,
            sagemaker_endpoints=sagemaker_endpoints,
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
        """Return the endpoint URL to give boto3 (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, ...).

        The same URL serves every emulated service: bedrock-runtime, bedrock-agent(-runtime)
        and sagemaker-runtime (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME).
        """
        host, port = self._server.server_address[:2]
        shown = f"[{host!s}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}"

    @property
    def knowledge_bases(self) -> tuple[LocalKnowledgeBase, ...]:
        """Return the knowledge bases served; their indexes survive clear()."""
        return self._state.knowledge_bases.knowledge_bases

    @property
    def guardrails(self) -> tuple[LocalGuardrail, ...]:
        """Return the guardrails served."""
        return self._state.guardrails.guardrails

    @property
    def sagemaker_endpoints(self) -> tuple[LocalEndpoint, ...]:
        """Return the SageMaker endpoints served."""
        return self._state.endpoints.endpoints

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

        For sagemaker-runtime's operations (InvokeEndpoint, InvokeEndpointWithResponseStream),
        `code` is a SageMaker one (e.g. "ModelNotReadyException") and `model_id` the endpoint
        name; a SageMaker code's status and message default to SageMaker's.

        Args:
            code: The error code botocore will report, e.g. "ThrottlingException".
            times: How many matching calls fail.
            model_id: Only calls naming this id fail; a catalog id also matches its profiles.
            status: HTTP status; defaults to Bedrock's status for `code`.
            message: Error message; defaults to Bedrock's wording for `code`.
            operation: Only calls of this operation (e.g. "Converse" or "Retrieve") fail.
            after: Matching calls to serve normally first (fail the third call: after=2).
        """
        sagemaker = fault_defaults(code)
        if sagemaker is not None and (
            operation in SAGEMAKER_OPERATIONS or code not in STATUS_BY_CODE
        ):
            status = sagemaker[0] if status is None else status
            message = sagemaker[1] if message is None else message
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
        """End the next `times` streams after `after_events` events with an in-stream error.

        A SageMaker stream (model_id: the endpoint name) ends with ModelStreamError, whose
        ErrorCode is `code` when it is ModelInvocationTimeExceeded or StreamBroken and
        ModelInvocationTimeExceeded otherwise; code "InternalStreamFailure" sends that instead.
        """
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
    guardrails: Sequence[LocalGuardrail] = (),
    sagemaker_endpoints: Sequence[LocalEndpoint] = (),
) -> Emulator:
    """Start an emulator on loopback (port 0 picks a free port) and return it, serving.

    `declared`, `today`, `knowledge_bases`, `guardrails` and `sagemaker_endpoints` as for
    Emulator.
    """
    emulator = Emulator(
        host,
        port,
        log_limit=log_limit,
        verbose=verbose,
        declared=declared,
        today=today,
        knowledge_bases=knowledge_bases,
        guardrails=guardrails,
        sagemaker_endpoints=sagemaker_endpoints,
    )
    return emulator.start()
