"""Converse and ConverseStream with a guardrailConfig: the input checked, then the answer.

Bedrock's user guide (guardrails-how): an input that intervenes returns the blocked messaging
and the model is not called; an answer that intervenes is replaced by the blocked messaging
or has its sensitive information masked. With guardContent blocks in the request, only those
are evaluated as input.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .content import structure
from .converse_request import ConverseCall
from .errors import constraint, serialization, validation
from .guardrail_apply import check_identifier, check_version
from .guardrail_assessment import action_reason, assessment
from .guardrail_policies import Evaluation, evaluate
from .guardrails import GuardrailStore, LocalGuardrail

TRACES = ("enabled", "disabled", "enabled_full")
PROCESSING_MODES = ("sync", "async")
INTERVENED = "guardrail_intervened"
# Emulator's choice: the latency reported when the input is blocked and no model runs.
BLOCKED_LATENCY_MS = 40


@dataclass(frozen=True, slots=True)
class GuardrailUse:
    """A request's guardrailConfig, resolved: the guardrail, the trace, the stream mode."""

    guardrail: LocalGuardrail
    # Emulator's choice: enabled_full traces what enabled does (the emulator lists matches only).
    trace: bool
    asynchronous: bool


@dataclass(frozen=True, slots=True)
class Guarded:
    """A Converse answer after the guardrail, and what an async stream needs."""

    # The Converse response body to send (what a sync stream streams too).
    response: dict[str, Any]
    # The model's own answer; None when the input was blocked and no model ran.
    model_response: dict[str, Any] | None
    # (content block index, offset) where the earliest blocking match of the answer ends.
    block_end: tuple[int, int] | None


def guardrail_use(body: object, store: GuardrailStore, *, streaming: bool) -> GuardrailUse | None:
    """Check a request's guardrailConfig; return None when it names no guardrail."""
    value = body.get("guardrailConfig") if isinstance(body, dict) else None
    if value is None:
        return None
    config = structure(value, "guardrailConfig")
    identifier = config.get("guardrailIdentifier")
    version = config.get("guardrailVersion")
    trace = config.get("trace", "disabled")
    if trace not in TRACES:
        raise constraint(
            trace, "guardrailConfig.trace", f"satisfy enum value set: [{', '.join(TRACES)}]"
        )
    mode = config.get("streamProcessingMode", "sync") if streaming else "sync"
    if mode not in PROCESSING_MODES:
        raise constraint(
            mode,
            "guardrailConfig.streamProcessingMode",
            f"satisfy enum value set: [{', '.join(PROCESSING_MODES)}]",
        )
    if identifier in (None, "") and version in (None, ""):
        # Neither member is required by the service model: the request names no guardrail.
        return None
    identifier = check_identifier(identifier, "guardrailConfig.guardrailIdentifier")
    if version in (None, ""):
        # Emulator's choice of wording; Bedrock needs a version with an identifier.
        raise validation("A guardrail version is required when a guardrail identifier is given.")
    version = check_version(version, "guardrailConfig.guardrailVersion")
    guardrail = store.resolve(identifier, version)
    return GuardrailUse(guardrail, trace != "disabled", mode == "async")


def guard(
    use: GuardrailUse,
    call: ConverseCall,
    body: object,
    compose: Callable[[ConverseCall], dict[str, Any]],
) -> Guarded:
    """Evaluate the input, compose the answer with `compose` if it passes, then evaluate that."""
    guardrail = use.guardrail
    texts, guard_content = input_texts(body)
    checked_input = evaluate(guardrail, texts, "INPUT")
    if checked_input.blocked:
        return Guarded(_blocked_input(use, call, checked_input), None, None)
    if checked_input.intervened and not guard_content:
        # Masked input is what the model reads (user guide: sensitive information in the
        # request is masked), and the emulated answer quotes the last user turn.
        (masked,) = evaluate(guardrail, [call.last_user_text], "INPUT").masked()
        call = dataclasses.replace(call, last_user_text=masked)
    model_response = compose(call)
    response, checked_output, block_end = _guard_answer(guardrail, model_response)
    if use.trace:
        response["trace"] = {"guardrail": _trace(use, checked_input, checked_output)}
    return Guarded(response, model_response, block_end)


def _guard_answer(
    guardrail: LocalGuardrail, model_response: dict[str, Any]
) -> tuple[dict[str, Any], Evaluation, tuple[int, int] | None]:
    """Return the answer as the guardrail lets it out, its evaluation, where it first blocks."""
    content = model_response["output"]["message"]["content"]
    # Only text is evaluated: tool use input is not (user guide, guardrails-use-converse-api).
    positions = [index for index, block in enumerate(content) if "text" in block]
    checked = evaluate(guardrail, [content[index]["text"] for index in positions], "OUTPUT")
    response = copy.deepcopy(model_response)
    if checked.blocked:
        response["output"]["message"]["content"] = [{"text": guardrail.blocked_output_message}]
        response["stopReason"] = INTERVENED
    elif checked.intervened:
        for index, text in zip(positions, checked.masked(), strict=True):
            response["output"]["message"]["content"][index] = {"text": text}
    end = checked.first_block_end()
    return response, checked, (positions[end[0]], end[1]) if end is not None else None


def input_texts(body: object) -> tuple[tuple[str, ...], bool]:
    """Return the texts evaluated as INPUT and whether they come from guardContent blocks.

    Those are the guardContent texts if the request has any, else every message's text and the
    system prompt's: "the guardrail operates on all messages" (ConverseRequest.guardrailConfig
    in the bedrock-runtime service model). Tool results and documents are not read here.
    """
    if not isinstance(body, dict):
        return (), False
    # Texts of guardContent blocks (None: an image), and plain texts.
    guarded: list[str | None] = []
    plain: list[str] = []
    system = body.get("system")
    for index, item in enumerate(system if isinstance(system, list) else ()):
        _collect(item, f"system.{index}", guarded, plain)
    messages = body.get("messages")
    for index, message in enumerate(messages if isinstance(messages, list) else ()):
        for position, block in enumerate(message["content"]):
            path = f"messages.{index}.content.{position}"
            # Every turn's text counts (assistant turns too); guardContent wherever it is.
            _collect(block, path, guarded, plain)
    if guarded:
        return tuple(text for text in guarded if text is not None), True
    return tuple(plain), False


def _collect(
    block: Mapping[str, object], path: str, guarded: list[str | None], plain: list[str]
) -> None:
    if "guardContent" in block:
        guarded.append(_guard_text(block["guardContent"], f"{path}.guardContent"))
    elif isinstance(block.get("text"), str):
        plain.append(str(block["text"]))


def _guard_text(value: object, path: str) -> str | None:
    """Return a GuardrailConverseContentBlock's text (None for an image: not evaluated)."""
    guard_content = structure(value, path)
    members = [member for member in ("text", "image") if member in guard_content]
    if len(members) != 1:
        raise validation(f"The guardContent at {path} must set one of: text, image.")
    if members[0] == "image":
        return None
    text_block = structure(guard_content["text"], f"{path}.text")
    text = text_block.get("text")
    if text is None:
        raise constraint(None, f"{path}.text.text", "not be null")
    if not isinstance(text, str):
        raise serialization(f"{path}.text.text", "a string")
    return text


def _blocked_input(use: GuardrailUse, call: ConverseCall, checked: Evaluation) -> dict[str, Any]:
    """Return the answer to a blocked input: the blocked messaging, no output tokens."""
    response: dict[str, Any] = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"text": use.guardrail.blocked_input_message}],
            }
        },
        "stopReason": INTERVENED,
        "usage": {
            "inputTokens": call.input_tokens,
            "outputTokens": 0,
            "totalTokens": call.input_tokens,
        },
        "metrics": {"latencyMs": BLOCKED_LATENCY_MS},
    }
    if use.trace:
        response["trace"] = {"guardrail": _trace(use, checked, None)}
    return response


def _trace(
    use: GuardrailUse,
    checked_input: Evaluation,
    checked_output: Evaluation | None,
) -> dict[str, Any]:
    """Return GuardrailTraceAssessment, keyed by guardrail id as Bedrock keys it."""
    guardrail_id = use.guardrail.guardrail_id
    trace: dict[str, Any] = {"inputAssessment": {guardrail_id: assessment(checked_input)}}
    if checked_output is None:
        trace["actionReason"] = action_reason(checked_input)
        return trace
    trace["outputAssessments"] = {guardrail_id: [assessment(checked_output)]}
    if checked_output.intervened:
        # Emulator's choice: what the model said is traced when the guardrail changed it.
        trace["modelOutput"] = list(checked_output.texts)
    trace["actionReason"] = action_reason(checked_input, checked_output)
    return trace
