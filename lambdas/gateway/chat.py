"""Pure mapping between OpenAI chat completions and Bedrock Converse, per the model's catalog rules.

https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .catalog import Capability, ModelSpec
from .chat_request import ChatRequest, ImagePart, Message, parse_chat_request
from .errors import ApiError, invalid_request

__all__ = [
    "FINISH_REASONS",
    "FOLDED_SYSTEM_HEADER",
    "from_converse",
    "parse_chat_request",
    "to_converse",
]

# Converse stopReason -> OpenAI finish_reason.
FINISH_REASONS: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}

FOLDED_SYSTEM_HEADER = "System instructions (this model takes no system prompt):"


def _unsupported(spec: ModelSpec, capability: Capability, what: str, param: str) -> ApiError:
    return ApiError(
        400,
        f"The model '{spec.model_id}' does not support {what} (capability '{capability.value}'). "
        "GET /v1/models lists each model's capabilities.",
        param=param,
        code="unsupported_capability",
    )


@dataclass(frozen=True, slots=True)
class StructuredOutput:
    """How a response_format is served for one model: natively, or through a forced tool."""

    # The tool whose input is the answer (None: Converse's outputConfig, the text is the JSON).
    tool: str | None
    schema: Mapping[str, Any]


def structured_output(
    request: ChatRequest, spec: ModelSpec, *, native: bool = True
) -> StructuredOutput | None:
    """Decide how the request's response_format is served by `spec` (None: plain text).

    `native=False`: never through Converse's outputConfig (after Bedrock refused a schema).
    """
    wanted = request.response_format
    if wanted is None:
        return None
    schema = wanted.schema if wanted.schema is not None else _ANY_OBJECT
    if (
        native
        and wanted.type == "json_schema"
        and spec.supports(Capability.STRUCTURED_OUTPUT)
        and native_schema(schema)
    ):
        return StructuredOutput(None, schema)
    if not spec.supports(Capability.TOOL_USE):
        raise ApiError(
            400,
            f"The model '{spec.model_id}' cannot answer in a set JSON format: it has neither "
            "structured output nor tool use. GET /v1/models lists each model's capabilities.",
            param="response_format",
            code="unsupported_capability",
        )
    # The answer comes as the input of a tool the model must call (or, where Bedrock cannot
    # force a call, is asked to), whose schema is the format.
    taken = {tool.name for tool in request.tools}
    name, number = wanted.name, 1
    while name in taken:
        number += 1
        suffix = f"_response{number if number > 2 else ''}"
        name = wanted.name[: 64 - len(suffix)] + suffix
    return StructuredOutput(name, schema)


# json_object: any JSON object.
_ANY_OBJECT: Mapping[str, Any] = {"type": "object"}
# JSON Schema keywords Bedrock's structured output refuses (400), per the user guide's
# "Structured outputs" page (docs.aws.amazon.com/bedrock/latest/userguide/structured-output.html).
_NOT_NATIVE = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
    }
)


def native_schema(schema: Mapping[str, Any]) -> bool:
    """Whether Bedrock's structured output takes `schema` as it is (else a forced tool serves it).

    The same page: every object closed (`additionalProperties: false`), `minItems` 0 or 1, no
    numeric or length bounds, internal `$ref` only, no recursion.
    """
    definitions = {
        **_mapping(schema.get("$defs")),
        **_mapping(schema.get("definitions")),
    }
    return _native(schema, definitions, frozenset())


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _native(node: object, definitions: Mapping[str, Any], seen: frozenset[str]) -> bool:
    if isinstance(node, list):
        return all(_native(item, definitions, seen) for item in node)
    if not isinstance(node, Mapping):
        return True
    if _NOT_NATIVE & node.keys():
        return False
    if node.get("minItems", 0) not in (0, 1):
        return False
    is_object = node.get("type") == "object" or "properties" in node
    if is_object and node.get("additionalProperties") is not False:
        return False
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if not ref.startswith("#/") or name in seen or name not in definitions:
            return False  # external, recursive or dangling
        if not _native(definitions[name], definitions, seen | {name}):
            return False
    for key, value in node.items():
        if key in ("$defs", "definitions", "enum", "const", "default", "examples"):
            continue
        # `properties` maps names (which may be any word) to schemas.
        children = _mapping(value).values() if key == "properties" else [value]
        if not all(_native(child, definitions, seen) for child in children):
            return False
    return True


def goes_native(request: ChatRequest, spec: ModelSpec) -> bool:
    """Whether the request's response_format goes to Converse's outputConfig for `spec`."""
    structured = structured_output(request, spec)
    return structured is not None and structured.tool is None


def streams(request: ChatRequest, spec: ModelSpec) -> bool:
    """Whether `spec` can stream this request (else it is answered whole, sent as a stream)."""
    if not spec.supports(Capability.STREAMING):
        return False
    tools = (
        bool(request.tools)
        or any(m.tool_calls or m.role == "tool" for m in request.messages)
        or (request.response_format is not None and _answers_by_tool(request, spec))
    )
    return not tools or spec.supports(Capability.STREAMING_TOOL_USE)


def _answers_by_tool(request: ChatRequest, spec: ModelSpec) -> bool:
    structured = structured_output(request, spec)
    return structured is not None and structured.tool is not None


def check_capabilities(request: ChatRequest, spec: ModelSpec) -> None:
    """Refuse, naming the model and capability, what the model cannot do."""
    uses_tools = bool(request.tools) or any(
        m.tool_calls or m.role == "tool" for m in request.messages
    )
    if uses_tools and not spec.supports(Capability.TOOL_USE):
        raise _unsupported(spec, Capability.TOOL_USE, "tool use", "tools")
    forced = request.tool_choice == "required" or request.forced_tool is not None
    if forced and request.tools and not spec.supports(Capability.FORCED_TOOL_CHOICE):
        raise _unsupported(
            spec, Capability.FORCED_TOOL_CHOICE, "a tool call it must make", "tool_choice"
        )
    for index, message in enumerate(request.messages):
        if message.has_images and not spec.supports(Capability.VISION):
            raise _unsupported(
                spec, Capability.VISION, "image inputs", f"messages[{index}].content"
            )
    if spec.supports(Capability.NO_SAMPLING_PARAMETERS) and (
        request.temperature is not None or request.top_p is not None
    ):
        raise ApiError(
            400,
            f"The model '{spec.model_id}' takes no sampling parameters: leave out "
            "'temperature' and 'top_p'.",
            param="temperature" if request.temperature is not None else "top_p",
            code="unsupported_parameter",
        )
    if (
        request.temperature is not None
        and request.top_p is not None
        and spec.supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P)
    ):
        raise ApiError(
            400,
            f"The model '{spec.model_id}' accepts 'temperature' or 'top_p', not both: "
            "send only one of them.",
            param="top_p",
            code="unsupported_parameter_combination",
        )


def to_converse(
    request: ChatRequest, spec: ModelSpec, invocation_id: str, *, native: bool = True
) -> dict[str, Any]:
    """Build the Converse keyword arguments for `spec` from a validated request."""
    check_capabilities(request, spec)
    structured = structured_output(request, spec, native=native)
    system_texts = [m.text for m in request.messages if m.role in ("system", "developer")]
    forced = spec.supports(Capability.FORCED_TOOL_CHOICE)
    if structured is not None and structured.tool is not None and not forced:
        # Bedrock cannot force this model's tool call: ask for it in words.
        system_texts.append(
            f"Give your final answer by calling the tool '{structured.tool}' with the "
            "answer as its input."
        )
    turns = _alternating_turns(request.messages)
    converse: dict[str, Any] = {"modelId": invocation_id}
    if system_texts and spec.supports(Capability.SYSTEM_PROMPT):
        converse["system"] = [{"text": text} for text in system_texts]
    elif system_texts:
        # No system prompt support (e.g. Mistral 7B, Titan Text): say so in the first user turn.
        folded = FOLDED_SYSTEM_HEADER + "\n" + "\n".join(system_texts)
        turns[0]["content"].insert(0, {"text": folded})
    converse["messages"] = turns
    inference = _inference_config(request, spec)
    if inference:
        converse["inferenceConfig"] = inference
    tool_config = _tool_config(request, spec, structured)
    if tool_config:
        converse["toolConfig"] = tool_config
    if structured is not None and structured.tool is None:
        wanted = request.response_format
        assert wanted is not None
        json_schema: dict[str, Any] = {
            # Converse takes the schema as a JSON string.
            "schema": json.dumps(structured.schema, separators=(",", ":")),
            "name": wanted.name,
        }
        if wanted.description:
            json_schema["description"] = wanted.description
        converse["outputConfig"] = {
            "textFormat": {"type": "json_schema", "structure": {"jsonSchema": json_schema}}
        }
    return converse


def _content_blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.role == "tool":
        result = [{"text": message.text}]
        return [{"toolResult": {"toolUseId": message.tool_call_id, "content": result}}]
    for part in message.parts:
        if isinstance(part, ImagePart):
            blocks.append({"image": {"format": part.format, "source": {"bytes": part.data}}})
        elif part:
            blocks.append({"text": part})
    blocks.extend(
        {"toolUse": {"toolUseId": call.id, "name": call.name, "input": dict(call.arguments)}}
        for call in message.tool_calls
    )
    return blocks


def _alternating_turns(messages: Sequence[Message]) -> list[dict[str, Any]]:
    # Converse wants user/assistant turns alternating and starting with the user: consecutive
    # messages of one role (tool results count as the user's) become one turn.
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role in ("system", "developer"):
            continue
        role = "user" if message.role == "tool" else message.role
        blocks = _content_blocks(message)
        if not blocks:
            # A blank assistant turn carries nothing, and Converse refuses blank text: left
            # out, the turns around it join, as Converse wants.
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise invalid_request(
            "'messages' must contain at least one user message.", param="messages"
        )
    if turns[0]["role"] != "user":
        raise invalid_request(
            "The first non-system message must come from the user.", param="messages"
        )
    return turns


def _inference_config(request: ChatRequest, spec: ModelSpec) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        # Capped to what the model can produce instead of failing the request.
        config["maxTokens"] = min(request.max_tokens, spec.max_output_tokens)
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = list(request.stop)
    return config


def _tool_config(
    request: ChatRequest, spec: ModelSpec, structured: StructuredOutput | None = None
) -> dict[str, Any] | None:
    history_uses_tools = any(m.tool_calls or m.role == "tool" for m in request.messages)
    if structured is not None and structured.tool is not None and not history_uses_tools:
        return _answer_tool_config(request, spec, structured.tool, structured.schema)
    if history_uses_tools and not request.tools:
        # Converse rejects tool blocks without a tool configuration; say it in OpenAI terms.
        raise invalid_request(
            "'tools' must be sent when 'messages' contain tool calls or tool results.",
            param="tools",
        )
    if structured is not None and structured.tool is not None:
        return _answer_tool_config(request, spec, structured.tool, structured.schema)
    if not request.tools or (request.tool_choice == "none" and not history_uses_tools):
        return None
    config: dict[str, Any] = {"tools": _tool_specs(request)}
    # Converse has no "none": with tool history the tools must stay declared, so "none" falls
    # back to Converse's default (auto) there.
    if request.tool_choice == "required":
        config["toolChoice"] = {"any": {}}
    elif request.forced_tool is not None:
        config["toolChoice"] = {"tool": {"name": request.forced_tool}}
    return config


def _tool_specs(request: ChatRequest) -> list[dict[str, Any]]:
    return [
        {
            "toolSpec": {
                "name": tool.name,
                **({"description": tool.description} if tool.description else {}),
                "inputSchema": {"json": dict(tool.parameters)},
            }
        }
        for tool in request.tools
    ]


def _answer_tool_config(
    request: ChatRequest, spec: ModelSpec, name: str, schema: Mapping[str, Any]
) -> dict[str, Any]:
    """The request's tools plus the answer tool, which the model must end by calling."""
    wanted = request.response_format
    description = (wanted.description if wanted else None) or (
        "Give your final answer by calling this tool: its input is the answer, in the "
        "required JSON format."
    )
    answer = {
        "toolSpec": {
            "name": name,
            "description": description,
            "inputSchema": {"json": dict(schema)},
        }
    }
    if request.forced_tool is not None:
        return {
            "tools": [*_tool_specs(request), answer],
            "toolChoice": {"tool": {"name": request.forced_tool}},
        }
    if request.tool_choice == "required":
        # A call to one of the caller's tools is what the caller asked for, not the answer.
        return {"tools": _tool_specs(request), "toolChoice": {"any": {}}}
    tools = [*_tool_specs(request), answer]
    if not spec.supports(Capability.FORCED_TOOL_CHOICE):
        # Bedrock takes toolChoice `any`/`tool` from Claude and Nova only (ToolChoice, API
        # reference): the model is asked to answer through the tool, and a JSON answer in
        # text is taken too (from_converse, ChunkMapper).
        return {"tools": tools}
    if request.tools and request.tool_choice != "none":
        # A tool of the caller's, or the answer: some tool call, never free text.
        return {"tools": tools, "toolChoice": {"any": {}}}
    return {"tools": tools, "toolChoice": {"tool": {"name": name}}}


def _finish_reason(stop_reason: str, *, answered: bool) -> str:
    """OpenAI's finish_reason; a call of the answer tool ends an answer like text does."""
    reason = FINISH_REASONS.get(stop_reason, "stop")
    # Only the tool call becomes "stop": a cut or filtered answer keeps saying so.
    return "stop" if answered and reason == "tool_calls" else reason


def answer_text(text: str) -> str:
    """A JSON answer given as text (maybe fenced in ```json), compacted; other text as it is."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[-1].rsplit("```", 1)[0].strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        return text
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else text


def from_converse(
    response: Mapping[str, Any],
    *,
    completion_id: str,
    created: int,
    model: str,
    answer_tool: str | None = None,
) -> dict[str, Any]:
    """Build the OpenAI chat.completion body from a Converse response.

    With `answer_tool`, a call to that tool is the answer: its input, as JSON, is the content.
    """
    blocks = response.get("output", {}).get("message", {}).get("content", [])
    answers = [
        block["toolUse"].get("input", {})
        for block in blocks
        if "toolUse" in block and block["toolUse"].get("name") == answer_tool
    ]
    if answers:
        blocks = [
            b for b in blocks if "toolUse" not in b or b["toolUse"].get("name") != answer_tool
        ]
        text = json.dumps(answers[0], separators=(",", ":"))
    else:
        text = "".join(block["text"] for block in blocks if "text" in block)
        if answer_tool is not None:
            # A model Bedrock cannot force may answer in text: its JSON is the answer.
            text = answer_text(text)

    tool_calls = [
        {
            "id": block["toolUse"]["toolUseId"],
            "type": "function",
            "function": {
                "name": block["toolUse"]["name"],
                "arguments": json.dumps(block["toolUse"].get("input", {}), separators=(",", ":")),
            },
        }
        for block in blocks
        if "toolUse" in block
    ]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not tool_calls else None,
        "refusal": None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    usage = response.get("usage", {})
    input_tokens = int(usage.get("inputTokens", 0))
    output_tokens = int(usage.get("outputTokens", 0))
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(
                    str(response.get("stopReason")), answered=bool(answers) and not tool_calls
                ),
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": int(usage.get("totalTokens", input_tokens + output_tokens)),
        },
    }
