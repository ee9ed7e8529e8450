"""The emulated answer to a native text body: Converse's answer builder, reached through a call.

Every native format reduces its body to the facts Converse's answer depends on (last user text,
input tokens, limits, stop sequences, tools), so native and Converse answers read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.gateway.catalog import ModelSpec

from .converse import answer, compose_text
from .converse_request import ConverseCall
from .tool_config import Tool


@dataclass(frozen=True, slots=True)
class Generated:
    """What the emulated model produced, for each family to put in its own response shape."""

    text: str
    # Converse's stop reasons: end_turn, max_tokens, stop_sequence or tool_use.
    stop_reason: str
    # The stop sequence that ended the text, when stop_reason is stop_sequence.
    stop_sequence: str | None
    # toolUseId, name and input when stop_reason is tool_use.
    tool_use: Mapping[str, Any] | None
    input_tokens: int
    output_tokens: int
    latency_ms: int


def generate(
    spec: ModelSpec,
    *,
    user_text: str,
    input_tokens: int,
    fingerprint: bytes,
    max_tokens: int | None = None,
    stop_sequences: tuple[str, ...] = (),
    tool_results: tuple[str, ...] = (),
    kinds: tuple[str, ...] = ("text",),
    tools: tuple[Tool, ...] = (),
    tool_choice: str | None = None,
    chosen_tool: str | None = None,
    called_tools: tuple[str, ...] = (),
) -> Generated:
    """Return the deterministic answer for the facts of a validated native request."""
    return from_converse(
        ConverseCall(
            spec=spec,
            last_user_text=user_text,
            last_user_tool_results=tool_results,
            last_user_kinds=kinds,
            input_tokens=max(1, input_tokens),
            max_tokens=max_tokens,
            stop_sequences=stop_sequences,
            tools=tools,
            tool_choice=tool_choice,
            chosen_tool=chosen_tool,
            fingerprint=fingerprint,
            called_tools=called_tools,
        )
    )


def from_converse(call: ConverseCall) -> Generated:
    """Run Converse's answer builder for `call` and unpack its result."""
    body = answer(call)
    (block,) = body["output"]["message"]["content"]
    stop_reason = body["stopReason"]
    stop_sequence = None
    if stop_reason == "stop_sequence":
        full = compose_text(call)
        found = [(full.find(stop), stop) for stop in call.stop_sequences if stop and stop in full]
        stop_sequence = min(found)[1]
    return Generated(
        text=block.get("text", ""),
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        tool_use=block.get("toolUse"),
        input_tokens=body["usage"]["inputTokens"],
        output_tokens=body["usage"]["outputTokens"],
        latency_ms=body["metrics"]["latencyMs"],
    )
