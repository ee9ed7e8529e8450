"""Pure mapping between OpenAI chat completions and Bedrock Converse, per the model's catalog rules.

https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .catalog import Capability, ModelSpec
from .errors import ApiError, invalid_field, invalid_request

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
_ROLES = ("system", "developer", "user", "assistant")
# OpenAI fields Converse has no equivalent for: refuse them rather than silently ignore them.
_UNSUPPORTED_WHEN_SET = ("logprobs", "top_logprobs", "logit_bias", "response_format", "audio")


@dataclass(frozen=True, slots=True)
class Message:
    """One validated chat message."""

    role: str
    text: str


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


def parse_chat_request(body: object) -> ChatRequest:
    """Validate a decoded JSON body; raise ApiError(400) naming the first bad field."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_field("model", "a model id or alias (string)", model)
    for name in _UNSUPPORTED_WHEN_SET:
        if body.get(name) not in (None, False):
            raise invalid_request(f"'{name}' is not supported by this gateway.", param=name)
    if body.get("tools") or body.get("tool_choice") not in (None, "none"):
        raise invalid_request(
            "'tools' are not supported by this gateway version yet.", param="tools"
        )
    n = body.get("n", 1)
    if n != 1:
        raise invalid_field("n", "1 (Bedrock returns one choice per request)", n)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise invalid_field("stream", "a boolean", stream)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise invalid_field("max_tokens", "a positive integer", max_tokens)
    return ChatRequest(
        model=model,
        messages=_parse_messages(body.get("messages")),
        max_tokens=max_tokens,
        temperature=_unit_interval(body, "temperature"),
        top_p=_unit_interval(body, "top_p"),
        stop=_parse_stop(body.get("stop")),
        stream=stream,
    )


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


def _parse_messages(value: object) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise invalid_field("messages", "a non-empty list of messages", value)
    messages: list[Message] = []
    for index, item in enumerate(value):
        param = f"messages[{index}]"
        if not isinstance(item, dict):
            raise invalid_field(param, "an object with 'role' and 'content'", item)
        role = item.get("role")
        if role not in _ROLES:
            if role == "tool":
                raise invalid_request(
                    "'tool' messages are not supported by this gateway version yet.",
                    param=f"{param}.role",
                )
            raise invalid_field(f"{param}.role", "one of " + ", ".join(_ROLES), role)
        messages.append(Message(role=str(role), text=_content_text(item.get("content"), param)))
    return tuple(messages)


def _content_text(content: object, param: str) -> str:
    if isinstance(content, str):
        if not content.strip():
            raise invalid_field(f"{param}.content", "non-empty text", content)
        return content
    if isinstance(content, list) and content:
        texts: list[str] = []
        for index, part in enumerate(content):
            part_param = f"{param}.content[{index}]"
            if not isinstance(part, dict) or part.get("type") != "text":
                kind = part.get("type") if isinstance(part, dict) else part
                raise invalid_field(part_param, "a text part ({'type': 'text', ...})", kind)
            text = part.get("text")
            if not isinstance(text, str):
                raise invalid_field(f"{part_param}.text", "a string", text)
            texts.append(text)
        joined = "\n".join(texts)
        if joined.strip():
            return joined
    raise invalid_field(f"{param}.content", "a non-empty string or list of text parts", content)


def to_converse(request: ChatRequest, spec: ModelSpec, invocation_id: str) -> dict[str, Any]:
    """Build the Converse keyword arguments for `spec` from a validated request."""
    system_texts = [m.text for m in request.messages if m.role in ("system", "developer")]
    turns = _alternating_turns(request.messages)
    converse: dict[str, Any] = {"modelId": invocation_id}
    if system_texts and spec.supports(Capability.SYSTEM_PROMPT):
        converse["system"] = [{"text": text} for text in system_texts]
    elif system_texts:
        # No system prompt support (e.g. Mistral 7B, Titan Text): say so in the first user turn.
        folded = FOLDED_SYSTEM_HEADER + "\n" + "\n".join(system_texts)
        turns[0]["content"].insert(0, {"text": folded})
    converse["messages"] = turns
    converse["inferenceConfig"] = _inference_config(request, spec)
    if not converse["inferenceConfig"]:
        del converse["inferenceConfig"]
    return converse


def _alternating_turns(messages: Sequence[Message]) -> list[dict[str, Any]]:
    # Converse wants user/assistant turns alternating and starting with the user:
    # consecutive messages of one role become one turn with several text blocks.
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role in ("system", "developer"):
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.text})
        else:
            turns.append({"role": message.role, "content": [{"text": message.text}]})
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
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        config["stopSequences"] = list(request.stop)
    return config


def from_converse(
    response: Mapping[str, Any], *, completion_id: str, created: int, model: str
) -> dict[str, Any]:
    """Build the OpenAI chat.completion body from a Converse response."""
    message = response.get("output", {}).get("message", {})
    text = "".join(block["text"] for block in message.get("content", []) if "text" in block)
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
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": FINISH_REASONS.get(str(response.get("stopReason")), "stop"),
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": int(usage.get("totalTokens", input_tokens + output_tokens)),
        },
    }
