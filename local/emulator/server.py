"""The emulator's HTTP side: Bedrock runtime's REST routes on loopback, faults and a request log."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from . import converse
from .errors import BedrockError, validation
from .models import Resolved, build_identifier_table

_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>[a-z-]+)$")
_OPERATIONS = {
    "converse": "Converse",
    "converse-stream": "ConverseStream",
    "invoke": "InvokeModel",
    "invoke-with-response-stream": "InvokeModelWithResponseStream",
}
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the emulator received, for tests to inspect."""

    operation: str
    model_id: str
    body: Any
    headers: dict[str, str]


@dataclass(slots=True)
class _Fault:
    code: str
    status: int | None
    message: str
    model_id: str | None
    remaining: int


@dataclass
class EmulatorState:
    """Faults to inject and requests received; shared by the handler threads."""

    identifiers: dict[str, Resolved] = field(default_factory=lambda: dict(build_identifier_table()))
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, model_id: str) -> _Fault | None:
        """Return and consume the first queued fault that applies to `model_id`."""
        with self.lock:
            for fault in self.faults:
                if fault.model_id in (None, model_id):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the emulator is used by tests and benchmarks."""

    def do_POST(self) -> None:
        """Serve one Bedrock runtime operation."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            self._send_json(200, self._dispatch(raw))
        except BedrockError as error:
            self._send_error(error)

    def do_GET(self) -> None:
        """No runtime operation is a GET: answer like an unknown operation."""
        self._send_error(BedrockError("UnknownOperationException", f"No route for GET {self.path}"))

    def _dispatch(self, raw: bytes) -> dict[str, Any]:
        match = _ROUTE.match(self.path.split("?", 1)[0])
        if match is None or match["op"] not in _OPERATIONS:
            raise BedrockError("UnknownOperationException", f"No route for POST {self.path}")
        operation = _OPERATIONS[match["op"]]
        model_id = unquote(match["model"])
        try:
            body = json.loads(raw) if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BedrockError(
                "SerializationException", "The request body is not valid JSON."
            ) from None
        state = self.server.state
        with state.lock:
            state.requests.append(
                RecordedRequest(
                    operation, model_id, body, {k.lower(): v for k, v in self.headers.items()}
                )
            )
        fault = state.take_fault(model_id)
        if fault is not None:
            raise BedrockError(fault.code, fault.message, fault.status)
        resolved = state.identifiers.get(model_id)
        if resolved is None:
            raise validation("The provided model identifier is invalid.")
        if operation == "Converse":
            return converse.converse(resolved, body, model_id)
        raise BedrockError(
            "UnknownOperationException", f"{operation} is not emulated yet.", status=404
        )

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "emulated-request")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: BedrockError) -> None:
        self._send_json(
            error.status,
            {"message": error.message},
            {"x-amzn-ErrorType": f"{error.code}:{_ERROR_NAMESPACE}"},
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class Emulator:
    """A running emulator: its URL, its request log, and fault injection."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError("the emulator only listens on loopback")
        self._state = EmulatorState()
        self._server = _Server((host, port), self._state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the endpoint URL to give boto3 (AWS_ENDPOINT_URL_BEDROCK_RUNTIME)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return a copy of the requests received so far."""
        with self._state.lock:
            return list(self._state.requests)

    def inject_fault(
        self,
        code: str,
        *,
        times: int = 1,
        model_id: str | None = None,
        status: int | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `times` matching calls with Bedrock error `code` instead."""
        with self._state.lock:
            self._state.faults.append(
                _Fault(code, status, message or f"Emulated {code}.", model_id, times)
            )

    def clear(self) -> None:
        """Forget queued faults and recorded requests."""
        with self._state.lock:
            self._state.faults.clear()
            self._state.requests.clear()

    def start(self) -> Emulator:
        """Serve in a daemon thread; return once the socket accepts connections."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
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


def start_emulator(host: str = "127.0.0.1", port: int = 0) -> Emulator:
    """Start an emulator on loopback (port 0 picks a free port) and return it."""
    return Emulator(host, port).start()
