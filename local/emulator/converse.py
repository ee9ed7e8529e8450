"""Converse as the emulator serves it: Bedrock's validation, then a deterministic, marked answer."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from .converse_request import ConverseCall, parse_converse
from .guardrail_converse import guard, guardrail_use
from .guardrails import GuardrailStore
from .kb_grounded import grounded_reply
from .schema_instance import instance_of
from .tokens import count_tokens, truncate_to_tokens
from .tool_config import Tool
from .wire import OperationRequest, Reply, json_reply

EXCERPT_CHARS = 120
# Plausible, deterministic latency: the emulator answers at once but reports a model-like figure.
LATENCY_BASE_MS = 120
LATENCY_PER_OUTPUT_TOKEN_MS = 8
# Words in the last user turn that make an `auto` tool choice call a tool (emulated intent).
_TOOL_TRIGGERS = ("weather",)
# A line `echo: <text>` in the last user turn puts <text> in the answer.
_ECHO = re.compile(r"^[ \t]*echo:(.*)$", re.MULTILINE)


def handle_converse(request: OperationRequest, guardrails: GuardrailStore) -> Reply:
    """Serve `POST /model/{modelId}/converse`, through the guardrail its guardrailConfig names."""
    call = parse_converse(request)
    use = guardrail_use(request.body, guardrails, streaming=False)
    if use is None:
        return json_reply(answer(call))
    return json_reply(guard(use, call, request.body, answer).response)


def answer(call: ConverseCall) -> dict[str, Any]:
    """Return the Converse response body for a validated call."""
    tool = _tool_to_call(call)
    content: list[dict[str, Any]]
    if tool is not None:
        tool_use = {
            "toolUseId": _tool_use_id(call, tool),
            "name": tool.name,
            "input": tool_input(tool.schema),
        }
        content = [{"toolUse": tool_use}]
        output_tokens = count_tokens(tool.name) + count_tokens(json.dumps(tool_use["input"]))
        stop_reason = "tool_use"
    else:
        text, stop_reason, output_tokens = _finish(compose_text(call), call)
        content = [{"text": text}]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {
            "inputTokens": call.input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": call.input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": LATENCY_BASE_MS + LATENCY_PER_OUTPUT_TOKEN_MS * output_tokens},
    }


def compose_text(call: ConverseCall) -> str:
    """Return the full answer text before stop sequences and maxTokens are applied."""
    if call.output_schema is not None:
        # Structured output: the whole answer is one JSON value the schema accepts.
        return json.dumps(instance_of(call.output_schema))
    label = f"[emulated {call.spec.name}]"
    tail = "This deterministic reply comes from the local Bedrock emulator; no model was called."
    echoed = [line.strip() for line in _ECHO.findall(call.last_user_text)]
    if echoed:
        # Chosen words in the answer, verbatim: how a test makes an output guardrail intervene.
        text = "\n".join(echoed)
        return f"{label} {text} {tail}"
    grounded = grounded_reply(call.last_user_text)
    if grounded is not None:
        # Passages from a knowledge base (the gateway's grounded chat): quote and cite them.
        return f"{label} {grounded} {tail}"
    if call.last_user_text.strip():
        return f'{label} You said: "{_excerpt(call.last_user_text)}". {tail}'
    if call.last_user_tool_results:
        results = " | ".join(call.last_user_tool_results)
        return f'{label} The tool returned: "{_excerpt(results)}". {tail}'
    kinds = ", ".join(call.last_user_kinds) or "nothing"
    return f"{label} Your last message had no text (it carried: {kinds}). {tail}"


def _finish(text: str, call: ConverseCall) -> tuple[str, str, int]:
    """Apply stop sequences, then maxTokens, as generation would; return text, reason, tokens."""
    stop_reason = "end_turn"
    cut = min(
        (text.find(stop) for stop in call.stop_sequences if stop and stop in text), default=-1
    )
    if cut >= 0:
        text, stop_reason = text[:cut], "stop_sequence"
    limit = call.max_tokens if call.max_tokens is not None else call.spec.max_output_tokens
    text, tokens, truncated = truncate_to_tokens(text, limit)
    return text, "max_tokens" if truncated else stop_reason, tokens


def _tool_to_call(call: ConverseCall) -> Tool | None:
    if not call.tools or call.tool_choice is None:
        return None
    if call.tool_choice == "tool":
        return next(tool for tool in call.tools if tool.name == call.chosen_tool)
    if call.tool_choice == "any":
        # Work through the tools in order, then settle on the last one: agent frameworks offer
        # their real tools first and a final-answer tool last, and stop once it is called.
        fresh = [tool for tool in call.tools if tool.name not in call.called_tools]
        return fresh[0] if fresh else call.tools[-1]
    # auto: call a tool when the user asks for something a tool is for, not after a tool result.
    wants_tool = any(word in call.last_user_text.lower() for word in _TOOL_TRIGGERS)
    return call.tools[0] if wants_tool and not call.last_user_tool_results else None


def _tool_use_id(call: ConverseCall, tool: Tool) -> str:
    # Shaped like Bedrock's ids (tooluse_ + 22 url-safe characters), derived from the request.
    digest = hashlib.sha256(call.fingerprint + b"\0" + tool.name.encode()).digest()
    return "tooluse_" + base64.urlsafe_b64encode(digest).decode()[:22]


def tool_input(schema: Mapping[str, object]) -> dict[str, Any]:
    """Return tool arguments the tool's input schema accepts (always a JSON object)."""
    value = instance_of(schema)
    return value if isinstance(value, dict) else {}


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 3] + "..."
