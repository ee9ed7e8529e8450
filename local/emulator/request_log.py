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
    # The model id as sent (percent-decoded); None when the path named no operation.
    model_id: str | None
    # The decoded JSON body; None when it was empty or not JSON.
    body: object
    # Header names are lower-cased.
    headers: Mapping[str, str]


class RequestLog:
    """Thread-safe log of the most recent requests (bounded, so long benchmarks stay small)."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RecordedRequest] = deque(maxlen=limit)

    def append(self, entry: RecordedRequest) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        """Return a copy of the log, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._entries.clear()
