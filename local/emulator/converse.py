"""Converse as the emulator serves it: Bedrock's validation rules, then a deterministic answer."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from lambdas.gateway.catalog import Api, Capability, ModelSpec

from .errors import validation
from .models import Resolved

_ROLES = ("user", "assistant")
_CONTENT_KINDS = (
    "text",
    "image",
    "document",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
)


def estimate_tokens(text: str) -> int:
    """Plausible token count for emulated usage (about four characters a token, at least one)."""
    return max(1, math.ceil(len(text) / 4))


def converse(resolved: Resolved, body: Mapping[str, Any], model_id: str) -> dict[str, Any]:
    """Validate a Converse request as Bedrock would and return the emulated response."""
    spec = resolved.spec
    _check_model(resolved, model_id)
    messages = _check_messages(body.get("messages"), spec)
    system = _check_system(body.get("system"), spec)
    config = _check_inference_config(body.get("inferenceConfig"), spec)
    tools = _check_tool_config(body.get("toolConfig"), spec)

    prompt_text = "\n".join([*system, *(_texts(m) for m in messages)])
    input_tokens = estimate_tokens(prompt_text)
    last_user = _texts(messages[-1]) if messages[-1]["role"] == "user" else ""

    tool_call = _tool_call(tools, body.get("toolConfig", {}), last_user)
    if tool_call is not None:
        content: list[dict[str, Any]] = [{"toolUse": tool_call}]
        output_tokens = estimate_tokens(str(tool_call["input"])) + 5
        stop_reason = "tool_use"
    else:
        text, stop_reason = _answer(spec, last_user, config)
        content = [{"text": text}]
        output_tokens = estimate_tokens(text)
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 1},
    }


def _check_model(resolved: Resolved, model_id: str) -> None:
    spec = resolved.spec
    if spec.api is not Api.CONVERSE:
        raise validation(
            "This action doesn't support the model that you provided. "
            "Try again with a supported text or chat model."
        )
    if spec.requires_profile and not resolved.through_profile:
        raise validation(
            f"Invocation of model ID {model_id} with on-demand throughput isn't supported. "
            "Retry your request with the ID or ARN of an inference profile that contains "
            "this model."
        )


def _check_messages(value: object, spec: ModelSpec) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise validation("The messages field is required and must contain at least one message.")
    previous_role = None
    for index, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise validation(f"messages.{index}.role: Member must be one of: user, assistant")
        role = message["role"]
        if index == 0 and role != "user":
            raise validation("A conversation must start with a user message. Try again.")
        if role == previous_role:
            raise validation(
                "A conversation must alternate between user and assistant roles. "
                "Make sure the conversation alternates between user and assistant roles "
                "and try again."
            )
        previous_role = role
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise validation(f"messages.{index}.content: The content field must not be empty.")
        for block in content:
            _check_block(block, index, spec)
    return value


def _check_block(block: object, index: int, spec: ModelSpec) -> None:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in _CONTENT_KINDS:
        raise validation(f"messages.{index}.content: each block must set exactly one known member")
    kind = next(iter(block))
    if kind == "text" and not isinstance(block["text"], str):
        raise validation(f"messages.{index}.content.text: must be a string")
    if kind == "image" and not spec.supports(Capability.VISION):
        raise validation("This model doesn't support the image content block that you provided.")
    if kind in ("toolUse", "toolResult") and not spec.supports(Capability.TOOL_USE):
        raise validation("This model doesn't support tool use.")


def _check_system(value: object, spec: ModelSpec) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
        raise validation("system: must be a list of system content blocks")
    if value and not spec.supports(Capability.SYSTEM_PROMPT):
        raise validation("This model doesn't support system messages. Try again without them.")
    return [str(block.get("text", "")) for block in value]


def _check_inference_config(value: object, spec: ModelSpec) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise validation("inferenceConfig: must be a structure")
    max_tokens = value.get("maxTokens")
    if max_tokens is not None and not 1 <= max_tokens <= spec.max_output_tokens:
        raise validation(
            f"The maximum tokens you requested exceeds the model limit of "
            f"{spec.max_output_tokens}. Try again with a maximum tokens value that is lower "
            f"than {spec.max_output_tokens}."
            if max_tokens > spec.max_output_tokens
            else "inferenceConfig.maxTokens: Member must have value greater than or equal to 1"
        )
    for name in ("temperature", "topP"):
        number = value.get(name)
        if number is not None and not 0 <= number <= 1:
            raise validation(f"inferenceConfig.{name}: Member must be between 0 and 1")
    if (
        spec.supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P)
        and value.get("temperature") is not None
        and value.get("topP") is not None
    ):
        raise validation("temperature and top_p cannot both be specified for this model.")
    return value


def _check_tool_config(value: object, spec: ModelSpec) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not spec.supports(Capability.TOOL_USE):
        raise validation("This model doesn't support tool use.")
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("tools"), list)
        or not value["tools"]
    ):
        raise validation("toolConfig.tools: must list at least one tool")
    specs = []
    for tool in value["tools"]:
        tool_spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(tool_spec, dict) or not tool_spec.get("name"):
            raise validation("toolConfig.tools: each tool needs a toolSpec with a name")
        if "json" not in tool_spec.get("inputSchema", {}):
            raise validation(f"toolConfig.tools.{tool_spec['name']}: inputSchema.json is required")
        specs.append(tool_spec)
    return specs


def _texts(message: Mapping[str, Any]) -> str:
    parts: Sequence[Mapping[str, Any]] = message.get("content", [])
    return "\n".join(str(block["text"]) for block in parts if "text" in block)


def _tool_call(
    tools: list[dict[str, Any]], tool_config: Mapping[str, Any], last_user: str
) -> dict[str, Any] | None:
    if not tools:
        return None
    choice = tool_config.get("toolChoice", {"auto": {}})
    if "tool" in choice:
        chosen = next((t for t in tools if t["name"] == choice["tool"].get("name")), None)
        if chosen is None:
            raise validation("toolConfig.toolChoice.tool.name: no tool with that name")
    elif "any" in choice or "weather" in last_user.lower():
        chosen = tools[0]
    else:
        return None
    schema = chosen["inputSchema"]["json"]
    properties = schema.get("properties", {})
    arguments: dict[str, Any] = {}
    for name in schema.get("required", []):
        kind = properties.get(name, {}).get("type", "string")
        arguments[name] = {"number": 1, "integer": 1, "boolean": True}.get(kind, "emulated")
    digest = hashlib.sha256(f"{chosen['name']}|{last_user}".encode()).hexdigest()[:20]
    return {"toolUseId": f"tooluse_{digest}", "name": chosen["name"], "input": arguments}


def _answer(spec: ModelSpec, last_user: str, config: Mapping[str, Any]) -> tuple[str, str]:
    said = " ".join(last_user.split())
    if len(said) > 80:
        said = said[:77] + "..."
    text = f"[emulated {spec.name}] You said: {said}. This answer comes from the local emulator."
    for stop in config.get("stopSequences", []) or []:
        position = text.find(stop)
        if stop and position >= 0:
            return text[:position], "stop_sequence"
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and estimate_tokens(text) > max_tokens:
        return text[: max_tokens * 4], "max_tokens"
    return text, "end_turn"
