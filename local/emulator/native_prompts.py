"""Native text bodies built around a prompt string: Llama, Mistral, Titan Text and Command R.

Prompts arrive in each family's chat template; the answer quotes the last user turn found in
the template (or the whole prompt when none is found), like Converse quotes the last message.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import uuid
from collections.abc import Sequence

from lambdas.gateway.catalog import Capability, ModelSpec

from .content import IMAGE_TOKENS, strings
from .errors import validation
from .invoke_schema import Obj, malformed, string_at
from .native_answer import Generated, generate
from .tokens import count_tokens
from .wire import Invoked, OperationRequest

# The last user turn inside each family's prompt template.
_LLAMA_TURNS = (
    re.compile(r"<\|start_header_id\|>user<\|end_header_id\|>(.*?)(?:<\|eot_id\|>|$)", re.S),
    re.compile(r"<\|header_start\|>user<\|header_end\|>(.*?)(?:<\|eot\|>|$)", re.S),  # Llama 4
)
_MISTRAL_TURNS = (re.compile(r"\[INST\](.*?)(?:\[/INST\]|$)", re.S),)
_COHERE_ROLES = ("USER", "CHATBOT", "SYSTEM", "TOOL")
_COHERE_KEYS = (
    "message",
    "chat_history",
    "documents",
    "search_queries_only",
    "preamble",
    "max_tokens",
    "temperature",
    "p",
    "k",
    "prompt_truncation",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "return_prompt",
    "tools",
    "tool_results",
    "stop_sequences",
    "raw_prompting",
)
MISTRAL_MAX_STOPS = 10


def llama(request: OperationRequest, spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Meta Llama body."""
    vision = spec.supports(Capability.VISION)
    body.allow(("prompt", "temperature", "top_p", "max_gen_len", *(("images",) if vision else ())))
    prompt = body.need_string("prompt", min_len=1)
    _unit(body, "temperature", "top_p")
    max_gen_len = body.integer("max_gen_len", low=1, high=spec.max_output_tokens)
    images = body.strings("images") or []
    for index, image in enumerate(images):
        _base64(image, f"{body.at('images')}/{index}")
    tokens = count_tokens(prompt) + IMAGE_TOKENS * len(images)
    out = _generate(request, spec, prompt, _LLAMA_TURNS, tokens, max_gen_len, ())
    payload = {
        "generation": out.text,
        "prompt_token_count": out.input_tokens,
        "generation_token_count": out.output_tokens,
        "stop_reason": "length" if out.stop_reason == "max_tokens" else "stop",
    }
    return _invoked(payload, out)


def mistral(request: OperationRequest, spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Mistral text-completion body."""
    body.allow(("prompt", "max_tokens", "stop", "temperature", "top_p", "top_k"))
    prompt = body.need_string("prompt", min_len=1)
    max_tokens = body.integer("max_tokens", low=1, high=spec.max_output_tokens)
    stops = body.strings("stop", max_items=MISTRAL_MAX_STOPS) or []
    _unit(body, "temperature", "top_p")
    body.integer("top_k", low=1, high=200)
    out = _generate(request, spec, prompt, _MISTRAL_TURNS, count_tokens(prompt), max_tokens, stops)
    finish = "length" if out.stop_reason == "max_tokens" else "stop"
    return _invoked({"outputs": [{"text": out.text, "stop_reason": finish}]}, out)


def mistral_prompt_or_chat(request: OperationRequest, spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Mistral Large body: chat completion when it has messages, else a prompt."""
    return (
        mistral_chat(request, spec, body)
        if "messages" in body.data
        else mistral(request, spec, body)
    )


def mistral_chat(request: OperationRequest, spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Mistral chat-completion body (tools are checked and offered, never called)."""
    body.allow(("messages", "max_tokens", "temperature", "top_p", "tools", "tool_choice"))
    messages = body.need_array("messages", min_items=1)
    max_tokens = body.integer("max_tokens", low=1, high=spec.max_output_tokens)
    _unit(body, "temperature", "top_p")
    if body.array("tools") and not spec.supports(Capability.TOOL_USE):
        raise validation("This model doesn't support tool use.")
    body.choice("tool_choice", ("auto", "any", "none"))
    tokens, user_text = 0, ""
    for index, item in enumerate(messages):
        message = Obj(item, f"{body.at('messages')}/{index}")
        message.allow(("role", "content", "tool_calls", "tool_call_id", "name"))
        role = message.need_choice("role", ("system", "user", "assistant", "tool"))
        if role == "system" and not spec.supports(Capability.SYSTEM_PROMPT):
            raise validation("This model doesn't support system messages.")
        content = message.string("content") or ""
        tokens += count_tokens(content)
        if role == "user":
            user_text = content
    out = generate(
        spec,
        user_text=user_text,
        input_tokens=tokens,
        fingerprint=request.raw_body,
        max_tokens=max_tokens,
    )
    finish = "length" if out.stop_reason == "max_tokens" else "stop"
    message_out = {"role": "assistant", "content": out.text}
    return _invoked({"choices": [{"index": 0, "message": message_out, "stop_reason": finish}]}, out)


def cohere_chat(request: OperationRequest, spec: ModelSpec, body: Obj) -> Invoked:
    """Serve a Cohere Command R / R+ body (tools are checked and offered, never called)."""
    body.allow(_COHERE_KEYS)
    message = body.need_string("message", min_len=1)
    tokens = count_tokens(message)
    preamble = body.string("preamble")
    if preamble and not spec.supports(Capability.SYSTEM_PROMPT):
        raise validation("This model doesn't support system messages.")
    tokens += count_tokens(preamble or "")
    history: list[dict[str, object]] = []
    for index, item in enumerate(body.array("chat_history") or []):
        turn = Obj(item, f"{body.at('chat_history')}/{index}")
        role = turn.need_choice("role", _COHERE_ROLES)
        text = turn.string("message") if role == "TOOL" else turn.need_string("message")
        tokens += count_tokens(text or "")
        history.append(dict(turn.data))
    for index, document in enumerate(body.array("documents") or []):
        tokens += sum(
            count_tokens(text) for text in strings(Obj(document, f"#/documents/{index}").data)
        )
    max_tokens = body.integer("max_tokens", low=1, high=spec.max_output_tokens)
    _unit(body, "temperature")
    body.number("p", low=0.01, high=0.99)
    body.integer("k", low=0, high=500)
    stops = body.strings("stop_sequences") or []
    out = generate(
        spec,
        user_text=message,
        input_tokens=tokens,
        fingerprint=request.raw_body,
        max_tokens=max_tokens,
        stop_sequences=tuple(stops),
    )
    digest = hashlib.sha256(request.raw_body).digest()
    finish = {"max_tokens": "MAX_TOKENS", "stop_sequence": "STOP_SEQUENCE"}.get(
        out.stop_reason, "COMPLETE"
    )
    payload = {
        "response_id": str(uuid.UUID(bytes=digest[:16], version=4)),
        "text": out.text,
        "generation_id": str(uuid.UUID(bytes=digest[16:], version=4)),
        "chat_history": [
            *history,
            {"role": "USER", "message": message},
            {"role": "CHATBOT", "message": out.text},
        ],
        "finish_reason": finish,
        "meta": {
            "billed_units": {"input_tokens": out.input_tokens, "output_tokens": out.output_tokens}
        },
    }
    return _invoked(payload, out)


def _generate(
    request: OperationRequest,
    spec: ModelSpec,
    prompt: str,
    turns: Sequence[re.Pattern[str]],
    input_tokens: int,
    max_tokens: int | None,
    stops: Sequence[str],
) -> Generated:
    return generate(
        spec,
        user_text=last_user_turn(prompt, turns),
        input_tokens=input_tokens,
        fingerprint=request.raw_body,
        max_tokens=max_tokens,
        stop_sequences=tuple(stops),
    )


def last_user_turn(prompt: str, turns: Sequence[re.Pattern[str]]) -> str:
    """Return the last user turn of a templated prompt, or the prompt when it has none."""
    for pattern in turns:
        found = [match.group(1).strip() for match in pattern.finditer(prompt)]
        if found and found[-1]:
            return found[-1]
    return prompt


def _unit(body: Obj, *keys: str) -> None:
    for key in keys:
        body.number(key, low=0, high=1)


def _base64(value: str, path: str) -> None:
    try:
        binascii.a2b_base64(string_at(value, path, min_len=1), strict_mode=True)
    except binascii.Error:
        raise malformed(path, "expected a base64-encoded image") from None


def _invoked(payload: object, out: Generated) -> Invoked:
    return Invoked(payload, out.input_tokens, out.output_tokens, out.latency_ms)
