"""Queued faults: Bedrock errors answered instead of the next matching calls."""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass

from .errors import DEFAULT_MESSAGES, STATUS_BY_CODE, BedrockError


@dataclass(slots=True)
class _Fault:
    error: BedrockError
    model_id: str | None
    operation: str | None
    remaining: int

    def matches(self, operation: str, model_ids: Collection[str]) -> bool:
        return (self.operation is None or self.operation == operation) and (
            self.model_id is None or self.model_id in model_ids
        )


class FaultQueue:
    """Thread-safe first-in, first-out list of faults to inject."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []

    def add(
        self,
        code: str,
        *,
        times: int = 1,
        model_id: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        message: str | None = None,
    ) -> None:
        """Queue `code` for the next `times` calls matching `model_id` and `operation`."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if status is None and code not in STATUS_BY_CODE:
            raise ValueError(f"no default HTTP status for {code}: pass status=")
        text = message if message is not None else DEFAULT_MESSAGES.get(code, f"{code} (emulated).")
        with self._lock:
            self._faults.append(
                _Fault(BedrockError(code, text, status), model_id, operation, times)
            )

    def take(self, operation: str, model_ids: Collection[str]) -> BedrockError | None:
        """Consume and return the first fault matching the call, if any."""
        if not self._faults:  # the common case, checked without the lock: no faults queued
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(operation, model_ids):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault.error
        return None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)
