"""Native text bodies built around a message list: Anthropic Messages and Amazon Nova.

Nova's native body is Converse's request schema (binary data as base64, which is also how
Converse travels as JSON), so it is checked by the Converse validator itself.
Anthropic's semantic errors follow the Anthropic API's wording (UNVERIFIED on Bedrock).
"""

from __future__ import annotations

import binascii
import hashlib
import json
import re

from lambdas.gateway.catalog import Capability, ModelSpec

from .content import IMAGE_TOKENS, require_tools, strings
from .converse import answer
from .converse_request import parse_converse
from .errors import validation
from .invoke_schema import Obj, malformed
from .native_answer import generate
from .tokens import count_tokens
from .tool_config import Tool
from .wire import Invoked, OperationRequest

ANTHROPIC_VERSION = "bedrock-2023-05-31"
_ANTHROPIC_KEYS = (
    "anthropic_version",
    "anthropic_beta",
    "max_tokens",
    "system",
    "messages",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "tools",
    "tool_choice",
    "metadata",
)
# Members Claude accepts on Bedrock that the emulator does not model.
_ANTHROPIC_NOT_EMULATED = frozenset({"thinking"})
_BLOCK_TYPES = ("text", "image", "document", "tool_use", "tool_result")
_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_NOVA_KEYS = ("schemaVersion", "system", "messages", "inferenceConfig", "toolConfig")


class _Turns:
    """Input tokens, whether tool blocks were seen, and the last user turn's text."""

    __slots__ = ("called_tools", "kinds", "tokens", "tool_blocks", "tool_results", "user_text")

    def __init__(self) -> None:
        self.tokens = 0
        self.tool_blocks = False
        self.user_text = ""
        self.tool_results: tuple[str, ...] = ()
        self.kinds: tuple[str, ...] = ()
        # Tools the assistant turns called, in order: toolChoice `any` moves past them.
        self.called_tools: list[str] = []


def anthropic(request: OperationRequest, spec: ModelSpec, body: Obj) -> Invoked:
    """Serve an Anthropic Claude Messages body."""
    for key in body.data:
        if key in _ANTHROPIC_NOT_EMULATED:
            raise validation(f"'{key}' is not emulated by the local Bedrock emulator.")
    body.allow(_ANTHROPIC_KEYS)
    body.require("anthropic_version")
    body.need_choice("anthropic_version", (ANTHROPIC_VERSION,))
    max_tokens = body.need_integer("max_tokens", low=1)
    if max_tokens > spec.max_output_tokens:
        raise validation(
            f"max_tokens: {max_tokens} > {spec.max_output_tokens}, which is the maximum allowed "
            f"number of output tokens for {spec.model_id}"
        )
    temperature = body.number("temperature", low=0, high=1)
    top_p = body.number("top_p", low=0, high=1)
    if spec.supports(Capability.NO_SAMPLING_PARAMETERS) and (
        temperature is not None or top_p is not None
    ):
        raise validation("temperature and top_p are not supported for this model.")
    if (
        temperature is not None
        and top_p is not None
        and spec.supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P)
    ):
        raise validation("temperature and top_p cannot both be specified for this model.")
    body.integer("top_k", low=0, high=500)
    stops = body.strings("stop_sequences") or []
    body.strings("anthropic_beta")
    turns = _Turns()
    _anthropic_system(body, spec, turns)
    _anthropic_messages(body.need_array("messages", min_items=1), body, spec, turns)
    tools, choice, chosen = _anthropic_tools(body, spec, turns)
    if turns.tool_blocks and not tools:
        raise validation(
            "Requests which include `tool_use` or `tool_result` blocks must define tools."
        )
    out = generate(
        spec,
        user_text=turns.user_text,
        input_tokens=turns.tokens,
        fingerprint=request.raw_body,
        max_tokens=max_tokens,
        stop_sequences=tuple(stops),
        tool_results=turns.tool_results,
        kinds=turns.kinds,
        tools=tools,
        tool_choice=choice,
        chosen_tool=chosen,
        called_tools=tuple(turns.called_tools),
    )
    if out.tool_use is not None:
        tool_id = "toolu_bdrk_" + str(out.tool_use["toolUseId"]).removeprefix("tooluse_")
        content = [
            {
                "type": "tool_use",
                "id": tool_id,
                "name": out.tool_use["name"],
                "input": out.tool_use["input"],
            }
        ]
    else:
        content = [{"type": "text", "text": out.text}]
    digest = hashlib.sha256(request.raw_body).hexdigest()
    payload = {
        "id": f"msg_bdrk_{digest[:24]}",
        "type": "message",
        "role": "assistant",
        "model": spec.model_id,
        "content": content,
        "stop_reason": out.stop_reason,
        "stop_sequence": out.stop_sequence,
        "usage": {"input_tokens": out.input_tokens, "output_tokens": out.output_tokens},
    }
    return Invoked(payload, out.input_tokens, out.output_tokens, out.latency_ms)


def _anthropic_system(body: Obj, spec: ModelSpec, turns: _Turns) -> None:
    system = body.data.get("system")
    if system is None or system in ("", []):
        return
    if not spec.supports(Capability.SYSTEM_PROMPT):
        raise validation("This model doesn't support system messages.")
    if isinstance(system, str):
        turns.tokens += count_tokens(system)
        return
    for index, item in enumerate(body.need_array("system")):
        block = Obj(item, f"{body.at('system')}/{index}")
        block.allow(("type", "text", "cache_control"))
        block.need_choice("type", ("text",))
        turns.tokens += count_tokens(block.need_string("text", min_len=1))


def _anthropic_messages(messages: list[object], body: Obj, spec: ModelSpec, turns: _Turns) -> None:
    previous = None
    for index, item in enumerate(messages):
        message = Obj(item, f"{body.at('messages')}/{index}")
        message.allow(("role", "content"))
        role = message.need_choice("role", ("user", "assistant"))
        if index == 0 and role != "user":
            raise validation('messages: first message must use the "user" role')
        if role == previous:
            raise validation(
                f'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        previous = role
        message.require("content")
        content = message.data["content"]
        if isinstance(content, str):
            blocks: list[tuple[str, str]] = [("text", message.need_string("content", min_len=1))]
            turns.tokens += count_tokens(content)
        else:
            listed = message.need_array("content", min_items=1)
            blocks = [
                _anthropic_block(Obj(block, f"{message.at('content')}/{position}"), spec, turns)
                for position, block in enumerate(listed)
            ]
        if role == "user":
            turns.user_text = "\n".join(text for kind, text in blocks if kind == "text")
            turns.tool_results = tuple(text for kind, text in blocks if kind == "tool_result")
            turns.kinds = tuple(kind for kind, _ in blocks)
        else:
            turns.called_tools.extend(name for kind, name in blocks if kind == "tool_use")


def _anthropic_block(block: Obj, spec: ModelSpec, turns: _Turns) -> tuple[str, str]:
    """Check one content block; return its type and its text (a tool_use: the tool's name)."""
    kind = block.need_choice("type", _BLOCK_TYPES)
    if kind == "text":
        block.allow(("type", "text", "cache_control", "citations"))
        text = block.need_string("text", min_len=1)
        turns.tokens += count_tokens(text)
        return kind, text
    if kind == "image":
        if not spec.supports(Capability.VISION):
            raise validation(f"{spec.name} doesn't support image content blocks.")
        block.allow(("type", "source", "cache_control"))
        source = block.need_obj("source")
        source.allow(("type", "media_type", "data"))
        source.need_choice("type", ("base64",))
        source.need_choice("media_type", _MEDIA_TYPES)
        try:
            binascii.a2b_base64(source.need_string("data", min_len=1), strict_mode=True)
        except binascii.Error:
            raise malformed(source.at("data"), "expected a base64-encoded image") from None
        turns.tokens += IMAGE_TOKENS
        return kind, ""
    if kind == "document":
        if not spec.supports(Capability.DOCUMENT_CHAT):
            raise validation(f"{spec.name} doesn't support document content blocks.")
        block.allow(("type", "source", "title", "context", "citations", "cache_control"))
        turns.tokens += sum(len(text) for text in strings(block.need_obj("source").data)) // 4
        return kind, ""
    require_tools(spec)
    turns.tool_blocks = True
    if kind == "tool_use":
        block.allow(("type", "id", "name", "input", "cache_control"))
        block.need_string("id", min_len=1)
        name = block.need_string("name", min_len=1)
        turns.tokens += count_tokens(name)
        turns.tokens += count_tokens(json.dumps(block.need_obj("input").data))
        return kind, name
    block.allow(("type", "tool_use_id", "content", "is_error", "cache_control"))
    block.need_string("tool_use_id", min_len=1)
    block.boolean("is_error")
    text = "\n".join(strings(block.data.get("content", "")))
    turns.tokens += count_tokens(text)
    return kind, text


def _anthropic_tools(
    body: Obj, spec: ModelSpec, turns: _Turns
) -> tuple[tuple[Tool, ...], str | None, str | None]:
    listed = body.array("tools")
    if not listed:
        if "tool_choice" in body.data:
            raise validation("tool_choice may only be specified while providing tools.")
        return (), None, None
    require_tools(spec)
    tools: list[Tool] = []
    for index, item in enumerate(listed):
        tool = Obj(item, f"{body.at('tools')}/{index}")
        tool.allow(("type", "name", "description", "input_schema", "cache_control"))
        tool.choice("type", ("custom",))
        name = tool.need_string("name")
        if not _TOOL_NAME.fullmatch(name):
            raise malformed(
                tool.at("name"), f"string [{name}] does not match pattern ^[a-zA-Z0-9_-]{{1,64}}$"
            )
        schema = tool.need_obj("input_schema").data
        turns.tokens += count_tokens(name) + count_tokens(tool.string("description") or "")
        turns.tokens += count_tokens(json.dumps(schema))
        tools.append(Tool(name, schema))
    choice_obj = body.obj("tool_choice")
    if choice_obj is None:
        return tuple(tools), "auto", None
    choice_obj.allow(("type", "name", "disable_parallel_tool_use"))
    choice = choice_obj.need_choice("type", ("auto", "any", "tool", "none"))
    if choice != "tool":
        return tuple(tools), None if choice == "none" else choice, None
    chosen = choice_obj.need_string("name")
    if chosen not in {tool.name for tool in tools}:
        raise validation(f"Tool '{chosen}' named in tool_choice was not found in tools.")
    return tuple(tools), "tool", chosen


def nova(request: OperationRequest, spec: ModelSpec, body: Obj) -> Invoked:
    """Serve an Amazon Nova understanding body (the Converse schema plus schemaVersion)."""
    body.allow(_NOVA_KEYS)
    body.choice("schemaVersion", ("messages-v1",))
    result = answer(parse_converse(request))  # Converse's checks ignore schemaVersion
    latency_ms = result.pop("metrics")["latencyMs"]
    usage = result["usage"]
    return Invoked(result, usage["inputTokens"], usage["outputTokens"], latency_ms)
