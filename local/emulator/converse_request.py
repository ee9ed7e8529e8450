"""Converse request validation: Bedrock's rules, checked against the model's catalog entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.gateway.catalog import Api, Capability, ModelSpec

from .content import Tally, check_block, strings, structure
from .errors import BedrockError, constraint, serialization, validation
from .models import require_on_demand_access, resolve
from .output_config import parse_output_config
from .tokens import count_tokens
from .tool_config import Tool, parse_tool_config
from .wire import OperationRequest

MAX_STOP_SEQUENCES = 2_500  # the service model's limit


@dataclass(frozen=True, slots=True)
class ConverseCall:
    """A valid Converse request, reduced to what the emulated answer depends on."""

    spec: ModelSpec
    last_user_text: str
    last_user_tool_results: tuple[str, ...]
    last_user_kinds: tuple[str, ...]
    input_tokens: int
    max_tokens: int | None
    stop_sequences: tuple[str, ...]
    tools: tuple[Tool, ...]
    # "auto", "any" or "tool" when a toolConfig was sent, else None.
    tool_choice: str | None
    chosen_tool: str | None
    # The body as received: same request, same bytes, same derived ids.
    fingerprint: bytes
    # Names of the tools earlier assistant turns called, in order (repeats kept).
    called_tools: tuple[str, ...] = ()
    # The JSON schema of outputConfig.textFormat: the answer is a JSON value it accepts.
    output_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class _LastUser:
    text: str
    tool_results: tuple[str, ...]
    kinds: tuple[str, ...]


def parse_converse(request: OperationRequest) -> ConverseCall:
    """Validate a Converse request as Bedrock would; raise BedrockError for what it rejects."""
    body = _body(request)
    resolved = resolve(request.model_id, request.models)
    spec = resolved.spec
    if spec.api is not Api.CONVERSE:
        raise validation(
            "This action doesn't support the model that you provided. "
            "Try again with a supported text or chat model."
        )
    require_on_demand_access(resolved, request.model_id)
    tally = Tally()
    last_user, called_tools = _messages(body.get("messages"), spec, tally)
    _system(body.get("system"), spec, tally)
    max_tokens, stop_sequences = _inference_config(body.get("inferenceConfig"), spec)
    tool_config = body.get("toolConfig")
    tools, tool_choice, chosen_tool = parse_tool_config(tool_config, spec, tally)
    if tally.tool_blocks and tool_config is None:
        raise validation(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    output_schema = parse_output_config(body.get("outputConfig"), spec, tally)
    extra = body.get("additionalModelRequestFields")
    if extra is not None and not isinstance(extra, dict):
        raise serialization("additionalModelRequestFields", "a JSON object")
    return ConverseCall(
        spec=spec,
        last_user_text=last_user.text,
        last_user_tool_results=last_user.tool_results,
        last_user_kinds=last_user.kinds,
        input_tokens=max(1, tally.tokens),
        max_tokens=max_tokens,
        stop_sequences=stop_sequences,
        tools=tools,
        tool_choice=tool_choice,
        chosen_tool=chosen_tool,
        fingerprint=request.raw_body,
        called_tools=called_tools,
        output_schema=output_schema,
    )


def _body(request: OperationRequest) -> Mapping[str, object]:
    if request.body_error is not None:
        raise BedrockError("SerializationException", "The request body is not valid JSON.")
    if request.body is None:
        return {}
    if not isinstance(request.body, dict):
        raise serialization("", "a JSON object")
    return request.body


def _messages(value: object, spec: ModelSpec, tally: Tally) -> tuple[_LastUser, tuple[str, ...]]:
    """Check the conversation; return its last user turn and the tools the assistant called."""
    if value is None:
        raise constraint(None, "messages", "not be null")
    if not isinstance(value, list):
        raise serialization("messages", "a list")
    if not value:
        raise constraint(value, "messages", "have length greater than or equal to 1")
    last_user = _LastUser("", (), ())
    called: list[str] = []
    previous_role: object = None
    for index, message in enumerate(value):
        path = f"messages.{index}"
        if not isinstance(message, dict):
            raise serialization(path, "a structure")
        role = message.get("role")
        if role is None:
            raise constraint(None, f"{path}.member.role", "not be null")
        if role not in ("user", "assistant"):
            raise constraint(
                role, f"{path}.member.role", "satisfy enum value set: [user, assistant]"
            )
        if index == 0 and role != "user":
            raise validation(
                "A conversation must start with a user message. "
                "Try again with a conversation that starts with a user message."
            )
        if role == previous_role:
            raise validation(
                "A conversation must alternate between user and assistant roles. "
                "Make sure the conversation alternates between user and assistant roles "
                "and try again."
            )
        previous_role = role
        content = message.get("content")
        if content is None:
            raise constraint(None, f"{path}.member.content", "not be null")
        if not isinstance(content, list):
            raise serialization(f"{path}.content", "a list")
        if not content:
            raise validation(
                f"The content field in the Message object at {path} is empty. "
                "Add a ContentBlock object to the content field and try again."
            )
        blocks = [
            check_block(block, f"{path}.content.{position}", spec, tally)
            for position, block in enumerate(content)
        ]
        if role == "user":
            last_user = _LastUser(
                text="\n".join(text for kind, text in blocks if kind == "text"),
                tool_results=tuple(text for kind, text in blocks if kind == "toolResult"),
                kinds=tuple(kind for kind, _ in blocks),
            )
        else:
            # check_block has vetted each toolUse, so its name is a non-empty string.
            called.extend(block["toolUse"]["name"] for block in content if "toolUse" in block)
    return last_user, tuple(called)


def _system(value: object, spec: ModelSpec, tally: Tally) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise serialization("system", "a list")
    if value and not spec.supports(Capability.SYSTEM_PROMPT):
        raise validation(
            "This model doesn't support system messages. "
            "Try again without a system message or with a model that supports them."
        )
    for index, item in enumerate(value):
        path = f"system.{index}"
        block = structure(item, path)
        if "text" in block:
            text = block["text"]
            if not isinstance(text, str):
                raise serialization(f"{path}.text", "a string")
            if not text:
                raise constraint(
                    text, f"{path}.member.text", "have length greater than or equal to 1"
                )
            tally.tokens += count_tokens(text)
        elif "guardContent" in block:
            tally.tokens += sum(count_tokens(text) for text in strings(block["guardContent"]))
        elif "cachePoint" not in block:
            raise validation(
                f"The SystemContentBlock object at {path} must set one of: "
                "text, guardContent, cachePoint."
            )


def _inference_config(value: object, spec: ModelSpec) -> tuple[int | None, tuple[str, ...]]:
    if value is None:
        return None, ()
    config = structure(value, "inferenceConfig")
    max_tokens = config.get("maxTokens")
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            raise serialization("inferenceConfig.maxTokens", "an integer")
        if max_tokens < 1:
            raise constraint(
                max_tokens, "inferenceConfig.maxTokens", "have value greater than or equal to 1"
            )
        if max_tokens > spec.max_output_tokens:
            limit = spec.max_output_tokens
            raise validation(
                f"The maximum tokens you requested exceeds the model limit of {limit}. "
                f"Try again with a maximum tokens value that is lower than {limit}."
            )
    temperature = _unit_interval(config, "temperature")
    top_p = _unit_interval(config, "topP")
    if spec.supports(Capability.NO_SAMPLING_PARAMETERS) and (
        temperature is not None or top_p is not None
    ):
        # Claude Opus 4.7 and later take no sampling parameters (wording UNVERIFIED).
        raise validation("temperature and top_p are not supported for this model.")
    if (
        temperature is not None
        and top_p is not None
        and spec.supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P)
    ):
        raise validation("temperature and top_p cannot both be specified for this model.")
    stops = config.get("stopSequences")
    if stops is None:
        return max_tokens, ()
    if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
        raise serialization("inferenceConfig.stopSequences", "a list of strings")
    if len(stops) > MAX_STOP_SEQUENCES:
        raise constraint(
            len(stops),
            "inferenceConfig.stopSequences",
            f"have length less than or equal to {MAX_STOP_SEQUENCES}",
        )
    return max_tokens, tuple(stops)


def _unit_interval(config: Mapping[str, object], name: str) -> float | None:
    value = config.get(name)
    if value is None:
        return None
    path = f"inferenceConfig.{name}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise serialization(path, "a number")
    if value < 0:
        raise constraint(value, path, "have value greater than or equal to 0")
    if value > 1:
        raise constraint(value, path, "have value less than or equal to 1")
    return float(value)
