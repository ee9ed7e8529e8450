"""Validates an OpenAI chat-completions body into typed parts; every 400 names its field."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import invalid_field, invalid_request, object_with_model

if TYPE_CHECKING:
    from .retrieval import Search

# OpenAI fields Converse has no equivalent for: refuse them rather than silently ignore them.
_UNSUPPORTED_WHEN_SET = ("logprobs", "top_logprobs", "logit_bias", "audio")
# The legacy function-calling fields (before `tools`): refused with the fields to send instead,
# never ignored (a 200 with plain text would be silently wrong).
_LEGACY_FUNCTION_FIELDS = {"functions": "tools", "function_call": "tool_choice"}
# What a tool that returned nothing is shown as: Converse refuses blank text.
EMPTY_TOOL_RESULT = "(the tool returned no output)"
_ROLES = ("system", "developer", "user", "assistant", "tool")
# Converse image formats by data-URL media type.
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
MAX_IMAGE_BYTES = 3_750_000  # Converse's per-image limit
_TOOL_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image from a data URL, decoded."""

    format: str
    data: bytes


Part = str | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the assistant made earlier in the conversation."""

    id: str
    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Message:
    """One validated chat message."""

    role: str
    parts: tuple[Part, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """Return the message's text parts joined by newlines."""
        return "\n".join(part for part in self.parts if isinstance(part, str))

    @property
    def has_images(self) -> bool:
        """Return whether the message carries an image."""
        return any(isinstance(part, ImagePart) for part in self.parts)


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A function the model may call."""

    name: str
    description: str | None
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """A structured-output request: JSON, following `schema` when one is given."""

    # "json_object" (any JSON object) or "json_schema".
    type: str
    schema: Mapping[str, Any] | None = None
    name: str = "response"
    description: str | None = None
    strict: bool = False


@dataclass(frozen=True, slots=True)
class Grounding:
    """Grounded chat: search a knowledge base and answer from what it finds, citing it."""

    knowledge_base: str
    search: Search


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A validated OpenAI chat-completions request (the subset this gateway serves)."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop: tuple[str, ...]
    stream: bool
    tools: tuple[ToolDefinition, ...] = ()
    # "auto", "required", "none" or the name of the one function to call.
    tool_choice: str = "auto"
    forced_tool: str | None = None
    include_usage: bool = False
    # None: plain text (OpenAI's default, also `{"type": "text"}`).
    response_format: ResponseFormat | None = None
    # The gateway's extension field `knowledge_base`: answer from a knowledge base's passages.
    grounding: Grounding | None = None


def parse_chat_request(body: object) -> ChatRequest:
    """Validate a decoded JSON body; raise ApiError(400) naming the first bad field."""
    body, model = object_with_model(body)
    for name in _UNSUPPORTED_WHEN_SET:
        if body.get(name) not in (None, False):
            raise invalid_request(f"'{name}' is not supported by this gateway.", param=name)
    for name, instead in _LEGACY_FUNCTION_FIELDS.items():
        if body.get(name) is not None:
            raise invalid_request(
                f"'{name}' is OpenAI's deprecated function calling: send '{instead}' instead "
                "(the same functions as tools of type 'function').",
                param=name,
                code="deprecated_field",
            )
    # OpenAI accepts null for an optional field: it means the default.
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise invalid_field("n", "1 (Bedrock returns one choice per request)", n)
    stream = body.get("stream")
    stream = False if stream is None else stream
    if not isinstance(stream, bool):
        raise invalid_field("stream", "a boolean", stream)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise invalid_field("max_tokens", "a positive integer", max_tokens)
    stream_options = body.get("stream_options")
    if stream_options is not None and (
        not isinstance(stream_options, dict)
        or not isinstance(stream_options.get("include_usage", False), bool)
    ):
        raise invalid_field("stream_options", "{'include_usage': true|false}", stream_options)
    include_usage = bool(stream and stream_options and stream_options.get("include_usage"))
    tools = _parse_tools(body.get("tools"))
    tool_choice, forced_tool = _parse_tool_choice(body.get("tool_choice"), tools)
    messages = _parse_messages(body.get("messages"))
    return ChatRequest(
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        temperature=_unit_interval(body, "temperature"),
        top_p=_unit_interval(body, "top_p"),
        stop=_parse_stop(body.get("stop")),
        stream=stream,
        tools=tools,
        tool_choice=tool_choice,
        forced_tool=forced_tool,
        include_usage=include_usage,
        response_format=_parse_response_format(body.get("response_format")),
        grounding=_parse_grounding(body.get("knowledge_base"), messages),
    )


def _parse_grounding(value: object, messages: tuple[Message, ...]) -> Grounding | None:
    """The `knowledge_base` extension: a name, or {name, query, top_k, filter, search_type}.

    The search query defaults to the text of the last user message.
    """
    if value is None:
        return None
    # Loaded by the first grounded request only.
    from .retrieval import MAX_QUERY_CHARS, parse_search, refuse_unknown_fields

    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise invalid_field("knowledge_base", "a knowledge base name or an object", value)
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_field("knowledge_base.name", "the name of a knowledge base", name)
    refuse_unknown_fields(value, prefix="knowledge_base.", also=("name",))
    query = value.get("query")
    if query is None:
        users = [message for message in messages if message.role == "user"]
        if not users or not users[-1].text.strip():
            raise invalid_request(
                "'knowledge_base' searches with the last user message's text: send one, or "
                "set 'knowledge_base.query'.",
                param="knowledge_base.query",
            )
        # A long message searches with its end, where the question usually is.
        query = users[-1].text[-MAX_QUERY_CHARS:]
    return Grounding(name, parse_search(value, prefix="knowledge_base.", query=query))


def _parse_response_format(value: object) -> ResponseFormat | None:
    """OpenAI's response_format: text (the default), json_object, or json_schema."""
    if value is None:
        return None
    kind = _get(value, "type")
    if kind == "text":
        return None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind != "json_schema":
        raise invalid_field("response_format.type", "'text', 'json_object' or 'json_schema'", kind)
    definition = _get(value, "json_schema")
    if not isinstance(definition, dict):
        raise invalid_field("response_format.json_schema", "an object with 'name'", definition)
    name = definition.get("name")
    if not isinstance(name, str) or not name or not set(name) <= _TOOL_NAME_CHARS or len(name) > 64:
        raise invalid_field(
            "response_format.json_schema.name", "letters, digits, '_' or '-' (max 64)", name
        )
    schema = definition.get("schema", {"type": "object"})
    if not isinstance(schema, dict):
        raise invalid_field("response_format.json_schema.schema", "a JSON Schema object", schema)
    description = definition.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid_field("response_format.json_schema.description", "a string", description)
    strict = definition.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise invalid_field("response_format.json_schema.strict", "a boolean", strict)
    return ResponseFormat("json_schema", schema, name, description, bool(strict))


def _unit_interval(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise invalid_field(name, "a number from 0 to 1 (the range Bedrock accepts)", value)
    return float(value)


def _parse_stop(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and 0 < len(value) <= 4 and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise invalid_field("stop", "a string or a list of up to 4 strings", value)


def _parse_tools(value: object) -> tuple[ToolDefinition, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise invalid_field("tools", "a non-empty list of function tools", value)
    tools: list[ToolDefinition] = []
    for index, item in enumerate(value):
        param = f"tools[{index}]"
        if not isinstance(item, dict) or item.get("type") != "function":
            raise invalid_field(f"{param}.type", "'function'", _get(item, "type"))
        function = item.get("function")
        if not isinstance(function, dict):
            raise invalid_field(f"{param}.function", "an object", function)
        name = function.get("name")
        if not isinstance(name, str) or not name or not set(name) <= _TOOL_NAME_CHARS:
            raise invalid_field(f"{param}.function.name", "letters, digits, '_' or '-'", name)
        description = function.get("description")
        if description is not None and not isinstance(description, str):
            raise invalid_field(f"{param}.function.description", "a string", description)
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise invalid_field(f"{param}.function.parameters", "a JSON Schema object", parameters)
        tools.append(ToolDefinition(name, description, parameters))
    return tuple(tools)


def _parse_tool_choice(value: object, tools: tuple[ToolDefinition, ...]) -> tuple[str, str | None]:
    if value is None:
        return "auto", None
    if value in ("auto", "required", "none"):
        if value != "none" and not tools:
            raise invalid_request(
                f"'tool_choice' is '{value}' but no 'tools' were given.", param="tool_choice"
            )
        return str(value), None
    if isinstance(value, dict) and value.get("type") == "function":
        name = _get(value.get("function"), "name")
        if not any(tool.name == name for tool in tools):
            raise invalid_field("tool_choice.function.name", "the name of one of 'tools'", name)
        return "function", str(name)
    raise invalid_field("tool_choice", "'auto', 'required', 'none' or a function choice", value)


def _parse_messages(value: object) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise invalid_field("messages", "a non-empty list of messages", value)
    # A blank assistant turn (no text, no tool call) is kept here, so errors keep counting the
    # client's messages; the Converse mapping leaves it out.
    return tuple(_parse_message(item, f"messages[{index}]") for index, item in enumerate(value))


def _parse_message(item: object, param: str) -> Message:
    if not isinstance(item, dict):
        raise invalid_field(param, "an object with 'role' and 'content'", item)
    role = item.get("role")
    if role not in _ROLES:
        raise invalid_field(f"{param}.role", "one of " + ", ".join(_ROLES), role)
    content = item.get("content")
    if role == "tool":
        tool_call_id = item.get("tool_call_id")
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise invalid_field(
                f"{param}.tool_call_id", "the id of an earlier tool call", tool_call_id
            )
        if _blank(content):
            # Agent loops send a tool's empty output as "": say so in words Converse accepts.
            return Message("tool", (EMPTY_TOOL_RESULT,), (), tool_call_id)
        return Message("tool", _parse_parts(content, param, images=False), (), tool_call_id)
    if role == "assistant":
        tool_calls = _parse_tool_calls(item.get("tool_calls"), param)
        if _blank(content):
            return Message("assistant", (), tool_calls)
        return Message("assistant", _parse_parts(content, param, images=False), tool_calls)
    return Message(str(role), _parse_parts(content, param, images=role == "user"))


def _parse_tool_calls(value: object, param: str) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise invalid_field(f"{param}.tool_calls", "a list", value)
    calls: list[ToolCall] = []
    for index, call in enumerate(value):
        call_param = f"{param}.tool_calls[{index}]"
        function = _get(call, "function")
        call_id, name = _get(call, "id"), _get(function, "name")
        if not isinstance(call_id, str) or not call_id:
            raise invalid_field(f"{call_param}.id", "a string", call_id)
        if not isinstance(name, str) or not name:
            raise invalid_field(f"{call_param}.function.name", "a string", name)
        raw_arguments = _get(function, "arguments") or "{}"
        try:
            arguments = json.loads(raw_arguments) if isinstance(raw_arguments, str) else None
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            raise invalid_field(
                f"{call_param}.function.arguments", "a JSON object string", raw_arguments
            )
        calls.append(ToolCall(call_id, name, arguments))
    return tuple(calls)


def _parse_parts(content: object, param: str, *, images: bool) -> tuple[Part, ...]:
    if isinstance(content, str):
        if not content.strip():
            raise invalid_field(f"{param}.content", "non-empty text", content)
        return (content,)
    if not isinstance(content, list) or not content:
        raise invalid_field(f"{param}.content", "a non-empty string or list of parts", content)
    parts: list[Part] = []
    for index, part in enumerate(content):
        part_param = f"{param}.content[{index}]"
        kind = _get(part, "type")
        if kind == "text":
            text = _get(part, "text")
            if not isinstance(text, str):
                raise invalid_field(f"{part_param}.text", "a string", text)
            parts.append(text)
        elif kind == "image_url" and images:
            parts.append(
                _parse_image(_get(_get(part, "image_url"), "url"), f"{part_param}.image_url.url")
            )
        else:
            allowed = "a text or image_url part" if images else "a text part"
            raise invalid_field(part_param, allowed, kind)
    if not any(isinstance(p, ImagePart) or p.strip() for p in parts):
        raise invalid_field(f"{param}.content", "non-empty text", "")
    return tuple(parts)


def _parse_image(url: object, param: str) -> ImagePart:
    if not isinstance(url, str) or not url.startswith("data:"):
        raise invalid_field(
            param, "a data URL (data:image/png;base64,...); remote URLs are not fetched", url
        )
    header, _, payload = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    image_format = _IMAGE_FORMATS.get(media_type.lower())
    if image_format is None or encoding != "base64":
        raise invalid_field(
            param, "a base64 data URL of a png, jpeg, gif or webp image", media_type
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_field(param, "valid base64 image data", "undecodable data") from None
    if not data or len(data) > MAX_IMAGE_BYTES:
        raise invalid_field(
            param, f"an image of 1 to {MAX_IMAGE_BYTES} bytes", f"{len(data)} bytes"
        )
    return ImagePart(image_format, data)


def _blank(content: object) -> bool:
    """Whether message content holds no text at all: null, "", whitespace, or empty parts."""
    if content is None:
        return True
    if isinstance(content, str):
        return not content.strip()
    return isinstance(content, list) and all(
        _get(part, "type") == "text" and not str(_get(part, "text") or "").strip()
        for part in content
    )


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None
