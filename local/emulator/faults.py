"""Queued faults: Bedrock errors, delays and stream breaks applied to the next matching calls."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import DEFAULT_MESSAGES, STATUS_BY_CODE, BedrockError

T = TypeVar("T")


@dataclass(slots=True)
class _Queued(Generic[T]):
    item: T
    model_id: str | None
    operation: str | None
    remaining: int
    # Matching calls to let through before this item applies.
    skip: int = 0

    def matches(self, operation: str, model_ids: Collection[str]) -> bool:
        return (self.operation is None or self.operation == operation) and (
            self.model_id is None or self.model_id in model_ids
        )


class MatchQueue(Generic[T]):
    """Thread-safe first-in, first-out items, each applied to the next N calls it matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[_Queued[T]] = []

    def put(
        self,
        item: T,
        *,
        times: int = 1,
        model_id: str | None = None,
        operation: str | None = None,
        after: int = 0,
    ) -> None:
        """Queue `item` for `times` calls matching `model_id` and `operation`, after `after`."""
        if times < 1 or after < 0:
            raise ValueError("times must be at least 1 and after at least 0")
        with self._lock:
            self._items.append(_Queued(item, model_id, operation, times, after))

    def take(self, operation: str, model_ids: Collection[str]) -> T | None:
        """Consume and return the first item matching the call, if any."""
        if not self._items:  # the common case, checked without the lock: nothing queued
            return None
        with self._lock:
            for queued in self._items:
                if queued.matches(operation, model_ids):
                    if queued.skip:
                        queued.skip -= 1
                        return None
                    queued.remaining -= 1
                    if queued.remaining == 0:
                        self._items.remove(queued)
                    return queued.item
        return None

    def clear(self) -> None:
        """Drop every queued item."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class FaultQueue(MatchQueue[BedrockError]):
    """Bedrock errors to answer instead of the next matching calls."""

    def add(
        self,
        code: str,
        *,
        times: int = 1,
        model_id: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        message: str | None = None,
        after: int = 0,
    ) -> None:
        """Queue `code` for `times` calls matching `model_id` and `operation`, after `after`."""
        if status is None and code not in STATUS_BY_CODE:
            raise ValueError(f"no default HTTP status for {code}: pass status=")
        text = message if message is not None else DEFAULT_MESSAGES.get(code, f"{code} (emulated).")
        error = BedrockError(code, text, status)
        self.put(error, times=times, model_id=model_id, operation=operation, after=after)


@dataclass(frozen=True, slots=True)
class StreamBreak:
    """How a stream breaks after `after_events` events.

    With `error`, an in-stream Bedrock exception ends it. Otherwise, with `stall_seconds`, the
    emulator sends nothing for that long and then goes on; without either, it drops the
    connection (no exception, no end of the chunked body), as a broken network would.
    """

    after_events: int
    error: BedrockError | None = None
    stall_seconds: float = 0.0
