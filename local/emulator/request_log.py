"""The request log: what the emulator received, for tests to inspect."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

# A request that matched no route is logged under this operation name.
UNKNOWN_OPERATION = "UnknownOperation"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the emulator received."""

    operation: str
    # The model id as sent (percent-decoded); None when the path named no model (knowledge base
    # operations) or no operation.
    model_id: str | None
    # The decoded JSON body; None when it was empty or not JSON.
    body: object
    # Header names are lower-cased.
    headers: Mapping[str, str]


# Bodies above this size are not kept (a marker says how big they were).
MAX_KEPT_BODY_BYTES = 1024 * 1024
# The kept bodies together stay under this: the oldest entries go first.
MAX_LOG_BYTES = 32 * 1024 * 1024


class RequestLog:
    """Thread-safe log of the most recent requests, bounded in entries and in bytes.

    `make run` keeps its emulator for hours: without a byte bound, large requests would make
    the process grow without end.
    """

    def __init__(self, limit: int, max_bytes: int = MAX_LOG_BYTES) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._max_bytes = max_bytes
        self._entries: deque[tuple[RecordedRequest, int]] = deque()
        self._bytes = 0

    def append(self, entry: RecordedRequest, size: int = 0) -> None:
        """Record one request whose body was `size` bytes."""
        if size > MAX_KEPT_BODY_BYTES:
            body = {"emulator": f"a body of {size} bytes, not kept"}
            entry = RecordedRequest(entry.operation, entry.model_id, body, entry.headers)
            size = 0
        with self._lock:
            self._entries.append((entry, size))
            self._bytes += size
            while self._entries and (
                len(self._entries) > self._limit or self._bytes > self._max_bytes
            ):
                self._bytes -= self._entries.popleft()[1]

    def snapshot(self) -> list[RecordedRequest]:
        """Return a copy of the log, oldest first."""
        with self._lock:
            return [entry for entry, _ in self._entries]

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
