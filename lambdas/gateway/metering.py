"""Usage, cost and the one structured log line per request (never prompt text, never a key)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from .catalog import ModelSpec


@dataclass(frozen=True, slots=True)
class Usage:
    """Token and image counts of one model call."""

    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0

    def cost(self, spec: ModelSpec) -> Decimal:
        """Return the list-price cost of this usage on `spec`, in USD."""
        return spec.price.cost(
            input_tokens=self.input_tokens, output_tokens=self.output_tokens, images=self.images
        )


def format_cost(cost: Decimal) -> str:
    """Render a cost for headers and logs: fixed point, 8 decimals (sub-cent amounts matter)."""
    return f"{cost:.8f}"


@dataclass(slots=True)
class RequestRecord:
    """What one request did, written as one JSON log line when it ends."""

    request_id: str
    method: str
    path: str
    status: int = 0
    model: str | None = None
    invocation_id: str | None = None
    usage: Usage | None = None
    cost_usd: Decimal | None = None
    latency_ms: float = 0.0
    error_code: str | None = None

    def to_json(self) -> str:
        """Serialize with only metadata fields: no bodies, no headers, no keys."""
        usage = self.usage or Usage()
        return json.dumps(
            {
                "type": "gateway.request",
                "request_id": self.request_id,
                "method": self.method,
                "path": self.path,
                "status": self.status,
                "model": self.model,
                "invocation_id": self.invocation_id,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "images": usage.images,
                "cost_usd": format_cost(self.cost_usd) if self.cost_usd is not None else None,
                "latency_ms": round(self.latency_ms, 2),
                "error_code": self.error_code,
            },
            separators=(",", ":"),
        )


def write_record(record: RequestRecord, stream: TextIO | None = None) -> None:
    """Write the record as one line to stdout (CloudWatch Logs in Lambda)."""
    out = stream if stream is not None else sys.stdout
    out.write(record.to_json() + "\n")
    out.flush()
