"""Server-sent events framing: one JSON event, and the [DONE] that ends an OpenAI stream."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

DONE = b"data: [DONE]\n\n"


def sse(payload: Mapping[str, Any]) -> bytes:
    """Encode one server-sent event carrying JSON."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
