"""Usage, cost and the one structured log line per request (never prompt text, never a key)."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, TextIO

METRIC_NAMESPACE = "BedrockKit/Gateway"
# Every request counts, whatever happened to it (refused before a model was known included).
REQUEST_METRICS = [
    {"Name": "requests", "Unit": "Count"},
    {"Name": "server_errors", "Unit": "Count"},
    {"Name": "client_errors", "Unit": "Count"},
    {"Name": "throttled", "Unit": "Count"},
    {"Name": "latency_ms", "Unit": "Milliseconds"},
]
# What model calls used: per model, and across all models.
USAGE_METRICS = [
    {"Name": "input_tokens", "Unit": "Count"},
    {"Name": "output_tokens", "Unit": "Count"},
    {"Name": "images", "Unit": "Count"},
    {"Name": "cost_usd", "Unit": "None"},
]
METRICS = REQUEST_METRICS + USAGE_METRICS
# Per team (the dashboard's team widgets and the budget alarms).
TEAM_METRICS = [
    {"Name": "requests", "Unit": "Count"},
    {"Name": "input_tokens", "Unit": "Count"},
    {"Name": "output_tokens", "Unit": "Count"},
    {"Name": "cost_usd", "Unit": "None"},
    {"Name": "budget_soft_alerts", "Unit": "Count"},
]
REQUEST_LINE = "gateway.request"
# One model's part of a request that calls several (compare): usage only, not a request.
MODEL_CALL_LINE = "gateway.model_call"


@dataclass(frozen=True, slots=True)
class Usage:
    """Token and image counts of one or more model calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    # True when the model did not report the counts (a stream cut before its end): estimated.
    estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.images + other.images,
            self.estimated or other.estimated,
        )


def format_cost(cost: Decimal) -> str:
    """Render a cost for headers and logs: fixed point, 8 decimals (sub-cent amounts matter)."""
    return f"{cost:.8f}"


def new_request_id() -> str:
    """A request id: 128 random bits as 32 hex digits (a uuid4's hex at a fifth of the cost)."""
    return os.urandom(16).hex()


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
    fallbacks: int = 0
    streamed: bool = False
    # A streamed answer starts with 200; an error after that is recorded here.
    stream_error_status: int | None = None
    client_disconnected: bool = False
    # Who called: the team and key id (never the key), or the IAM principal.
    team: str | None = None
    key_id: str | None = None
    principal: str | None = None
    # This request's charge took its team past the soft budget threshold (once per month).
    budget_soft_alert: bool = False
    budget_charge_failed: bool = False
    # Prompt and completion text: only when content logging is explicitly turned on.
    content: dict[str, Any] | None = None
    # The guardrail the request ran under and what it did (never the text it matched).
    guardrail: str | None = None
    guardrail_action: str | None = None
    namespace: str = METRIC_NAMESPACE
    line_type: str = REQUEST_LINE

    def to_json(self, *, now_ms: int | None = None) -> str:
        """Serialize with only metadata fields: no bodies, no headers, no keys.

        The line is also a CloudWatch embedded-metric-format (EMF) record: CloudWatch turns its
        numeric fields into metrics without any API call from the function. A request line
        always counts the request; usage metrics come per model where a model is known.
        """
        usage = self.usage or Usage()
        worst = max(self.status, self.stream_error_status or 0)
        is_request = self.line_type == REQUEST_LINE
        record: dict[str, object] = {
            "type": self.line_type,
            "request_id": self.request_id,
            "team": self.team,
            "key_id": self.key_id,
            "principal": self.principal,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "model": self.model,
            "invocation_id": self.invocation_id,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "images": usage.images,
            "usage_estimated": usage.estimated,
            "cost_usd": float(round(self.cost_usd, 8)) if self.cost_usd is not None else 0.0,
            "latency_ms": round(self.latency_ms, 2),
            "error_code": self.error_code,
            "fallbacks": self.fallbacks,
            "streamed": self.streamed,
            "stream_error_status": self.stream_error_status,
            "client_disconnected": self.client_disconnected,
            "requests": 1 if is_request else 0,
            "server_errors": 1 if worst >= 500 else 0,
            "client_errors": 1 if 400 <= self.status < 500 else 0,
            "throttled": 1 if 429 in (self.status, self.stream_error_status) else 0,
            "budget_soft_alerts": 1 if self.budget_soft_alert else 0,
            "budget_charge_failed": self.budget_charge_failed,
        }
        if self.guardrail is not None:
            record["guardrail"] = self.guardrail
            record["guardrail_action"] = self.guardrail_action
        if self.content is not None:
            record["content"] = self.content
        timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
        # The metric declarations are the same on every line of a kind: encoded once, spliced.
        emf = _metric_declarations(
            self.namespace, self.model is not None, is_request, is_request and self.team is not None
        )
        encoded = json.dumps(record, separators=(",", ":"))
        return f'{encoded[:-1]},"_aws":{{"Timestamp":{timestamp},"CloudWatchMetrics":{emf}}}}}'


@cache
def _metric_declarations(namespace: str, has_model: bool, is_request: bool, has_team: bool) -> str:
    """The EMF `CloudWatchMetrics` array of a line, as JSON."""
    # Usage is attributed to a model; a request refused before one was known has none.
    if not has_model:
        metrics = REQUEST_METRICS if is_request else []
        declaration = {"Namespace": namespace, "Dimensions": [[]], "Metrics": metrics}
    else:
        chosen = METRICS if is_request else USAGE_METRICS
        declaration = {"Namespace": namespace, "Dimensions": [["model"], []], "Metrics": chosen}
    declarations = [declaration]
    if has_team:
        # A request's totals per team (compare's per-model lines are inside its request's).
        declarations.append(
            {"Namespace": namespace, "Dimensions": [["team"]], "Metrics": TEAM_METRICS}
        )
    return json.dumps(declarations, separators=(",", ":"))


def write_record(record: RequestRecord, stream: TextIO | None = None) -> None:
    """Write the record as one line to stdout (CloudWatch Logs in Lambda)."""
    out = stream if stream is not None else sys.stdout
    out.write(record.to_json() + "\n")
    out.flush()
