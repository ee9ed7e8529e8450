"""What a route handler returns: a JSON body, raw bytes, or a stream of server-sent events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class JsonResponse:
    """A JSON body (200 unless said otherwise)."""

    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True, slots=True)
class RawResponse:
    """Bytes passed through as they are (the native InvokeModel answer)."""

    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True, slots=True)
class StreamResponse:
    """Server-sent events, produced lazily while the client reads them.

    `chunks` must end well however the model call ends: an error event and [DONE] (the
    streaming module guarantees it), so the app only has to guard against its own failures.
    """

    chunks: Iterator[bytes]
    headers: Mapping[str, str] = field(default_factory=dict)


Response = JsonResponse | RawResponse | StreamResponse
