"""Bedrock Guardrails: which one applies to a request, and the checks Converse cannot make inline.

A guardrail travels inside Converse (`guardrailConfig`) for models that take one; for the rest
(and for embeddings' input) the gateway calls ApplyGuardrail itself. A blocked prompt is a 400
`content_policy_violation`; a blocked answer is `finish_reason: "content_filter"` with the
guardrail's message; masked entities read `{TYPE}`. Logs name the guardrail and what it did,
never the text it matched.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .chat_request import ChatRequest
from .errors import ApiError

if TYPE_CHECKING:
    from .exchange import Exchange
    from .teams import TeamPolicy

NO_GUARDRAIL = "none"
# The outcomes a request's log line reports, from least to most severe (compare reports its
# models' most severe one). INPUT_MASKED: the prompt was masked and the request went on.
PASSED, INPUT_MASKED, MASKED = "none", "input_masked", "masked"
OUTPUT_BLOCKED, INPUT_BLOCKED = "output_blocked", "input_blocked"
OUTCOMES = (PASSED, INPUT_MASKED, MASKED, OUTPUT_BLOCKED, INPUT_BLOCKED)
# ApplyGuardrail's `action` when it blocked or masked something (else "NONE").
APPLY_INTERVENED = "GUARDRAIL_INTERVENED"


@dataclass(frozen=True, slots=True)
class Guardrail:
    """One deployed guardrail: its name in config, Bedrock id and published version."""

    name: str
    identifier: str
    version: str

    def converse_config(self, *, stream: bool) -> dict[str, str]:
        """Converse's guardrailConfig (a stream's: asynchronous, see README's trade-off)."""
        config = {
            "guardrailIdentifier": self.identifier,
            "guardrailVersion": self.version,
            # The trace tells a blocked prompt from a blocked answer (it is never logged).
            "trace": "enabled",
        }
        if stream:
            config["streamProcessingMode"] = "async"
        return config


@dataclass(frozen=True, slots=True)
class GuardrailRules:
    """The deployment's guardrails and which applies: team's, else alias's, else default."""

    by_name: Mapping[str, Guardrail] = field(default_factory=lambda: MappingProxyType({}))
    default: str | None = None
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Model id -> the guardrail of the aliases serving it: calling the model by its id does
    # not step around its alias's guardrail.
    models: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def for_request(
        self, policy: TeamPolicy | None, model: str, model_ids: Sequence[str] = ()
    ) -> Guardrail | None:
        """The guardrail of a request for `model` by `policy`'s team (`model_ids`: its models)."""
        name = policy.guardrail if policy is not None else None
        if name is None and model in self.aliases:
            name = self.aliases[model]
        if name is None and model not in self.aliases:
            # A model named by id (an alias's rule covers its models' ids, not other aliases).
            name = next((self.models[m] for m in model_ids if m in self.models), None)
        if name is None:
            name = self.default
        if name is None or name == NO_GUARDRAIL:
            return None
        return self.by_name[name]

    @classmethod
    def from_data(cls, section: object, ids_json: str | None) -> GuardrailRules:
        """Read the deployment file's `guardrails` and their ids and versions (environment)."""
        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise ValueError("'guardrails' must be an object")
        ids = json.loads(ids_json) if ids_json else {}
        if not isinstance(ids, Mapping):
            raise ValueError("GATEWAY_GUARDRAILS must be an object of name to {id, version}")
        found: dict[str, Guardrail] = {}
        for name in section.get("names", []):
            entry = ids.get(name)
            if not isinstance(entry, Mapping) or not entry.get("id") or not entry.get("version"):
                raise ValueError(f"guardrail {name!r} has no id and version in GATEWAY_GUARDRAILS")
            found[str(name)] = Guardrail(str(name), str(entry["id"]), str(entry["version"]))
        default = section.get("default")
        aliases = {str(k): str(v) for k, v in dict(section.get("aliases") or {}).items()}
        models = {str(k): str(v) for k, v in dict(section.get("models") or {}).items()}
        for name in (default, *aliases.values(), *models.values()):
            if name is not None and name != NO_GUARDRAIL and name not in found:
                raise ValueError(f"guardrail rules name an unknown guardrail {name!r}")
        return cls(
            MappingProxyType(found),
            default,
            MappingProxyType(aliases),
            MappingProxyType(models),
        )


def blocked_prompt(guardrail: Guardrail, message: str) -> ApiError:
    """The 400 a client gets when the guardrail refuses its prompt (Bedrock's message)."""
    return ApiError(
        400,
        f"{message} (guardrail '{guardrail.name}' blocked the request)",
        code="content_policy_violation",
        param="messages",
    )


def prompt_was_blocked(response: Mapping[str, Any]) -> bool:
    """Whether a Converse answer that a guardrail stopped was stopped at the prompt."""
    if response.get("stopReason") != "guardrail_intervened":
        return False
    trace = (response.get("trace") or {}).get("guardrail") or {}
    return any(_blocks(assessment) for assessment in (trace.get("inputAssessment") or {}).values())


def masked_in(response: Mapping[str, Any]) -> str | None:
    """What a Converse answer's trace says the guardrail masked: "input", "output" or None."""
    trace = (response.get("trace") or {}).get("guardrail") or {}
    if any(
        "ANONYMIZED" in _actions(assessment)
        for assessments in (trace.get("outputAssessments") or {}).values()
        for assessment in assessments
    ):
        return "output"
    inputs = (trace.get("inputAssessment") or {}).values()
    return "input" if any("ANONYMIZED" in _actions(a) for a in inputs) else None


def check_prompt(exchange: Exchange, guardrail: Guardrail, texts: Sequence[str]) -> None:
    """ApplyGuardrail on a prompt's texts before a model that cannot take it inline."""
    result = _apply(exchange, guardrail, "INPUT", texts)
    if result.get("action") != APPLY_INTERVENED:
        return
    if any(_blocks(a) for a in result.get("assessments", [])):
        exchange.guardrail_outcome = INPUT_BLOCKED
        outputs = result.get("outputs") or [{}]
        raise blocked_prompt(guardrail, str(outputs[0].get("text") or "Blocked."))
    # Only masked: a model that takes the guardrail inline masks it again itself.
    exchange.guardrail_outcome = INPUT_MASKED


def guard_inputs(exchange: Exchange, guardrail: Guardrail, texts: Sequence[str]) -> list[str]:
    """Inputs a model takes without a guardrail (embeddings, image prompts): refused or masked."""
    check_prompt(exchange, guardrail, texts)
    if exchange.guardrail_outcome != INPUT_MASKED:
        return list(texts)
    # Something was masked: each text's own masked version (one check per input).
    exchange.guardrail_outcome = MASKED
    masked = []
    for text in texts:
        result = _apply(exchange, guardrail, "INPUT", [text])
        outputs = result.get("outputs") or []
        intervened = result.get("action") == APPLY_INTERVENED and outputs
        masked.append(str(outputs[0].get("text")) if intervened else text)
    return masked


def guard_prompt(exchange: Exchange, guardrail: Guardrail, request: ChatRequest) -> ChatRequest:
    """ApplyGuardrail on every turn's text; blocked is a 400, masked turns are rewritten.

    For models that take no guardrail inline (and streams): Bedrock's inline check reads every
    message, so this one does too; a model must never read what the guardrail masked.
    """
    turns = [(position, m.text) for position, m in enumerate(request.messages) if m.text]
    masked = guard_inputs(exchange, guardrail, [text for _, text in turns])
    if exchange.guardrail_outcome == MASKED:
        exchange.guardrail_outcome = INPUT_MASKED
    messages = list(request.messages)
    for (position, text), new in zip(turns, masked, strict=True):
        if new != text:
            message = messages[position]
            others = tuple(part for part in message.parts if not isinstance(part, str))
            messages[position] = dataclasses.replace(message, parts=(new, *others))
    return dataclasses.replace(request, messages=tuple(messages))


def guard_answer(
    exchange: Exchange,
    guardrail: Guardrail,
    response: dict[str, Any],
    *,
    text_checked: bool = False,
) -> dict[str, Any]:
    """ApplyGuardrail on a Converse answer: its text and its tool inputs (structured output).

    `text_checked`: the text was guarded inline, only the tool inputs are left (Bedrock does
    not guard toolUse input). Blocked: the guardrail's message; masked: rewritten in place.
    """
    message = response.get("output", {}).get("message", {})
    blocks = list(message.get("content", []))
    pieces: list[tuple[int | None, str]] = []
    text = converse_text(response)
    if text and not text_checked:
        pieces.append((None, text))
    for position, block in enumerate(blocks):
        if "toolUse" in block:
            pieces.append((position, json.dumps(block["toolUse"].get("input", {}))))
    if not pieces:
        return response
    result = _apply(exchange, guardrail, "OUTPUT", [piece for _, piece in pieces], after_call=True)
    if result.get("action") != APPLY_INTERVENED:
        return response
    if any(_blocks(a) for a in result.get("assessments", [])):
        exchange.guardrail_outcome = OUTPUT_BLOCKED
        outputs = result.get("outputs") or [{}]
        blocked = {**message, "content": [{"text": str(outputs[0].get("text") or "")}]}
        return {**response, "output": {"message": blocked}, "stopReason": "guardrail_intervened"}
    exchange.guardrail_outcome = MASKED
    new_text: str | None = None
    for where, piece in pieces:
        single = _apply(exchange, guardrail, "OUTPUT", [piece], after_call=True)
        outputs = single.get("outputs") or []
        if single.get("action") != APPLY_INTERVENED or not outputs:
            continue
        masked = str(outputs[0].get("text") or "")
        if where is None:
            new_text = masked
            continue
        try:
            masked_input = json.loads(masked)
        except ValueError:
            masked_input = {}
        blocks[where] = {"toolUse": {**blocks[where]["toolUse"], "input": masked_input}}
    if new_text is not None:
        blocks = [{"text": new_text}, *(block for block in blocks if "text" not in block)]
    return {**response, "output": {"message": {**message, "content": blocks}}}


def converse_text(response: Mapping[str, Any]) -> str:
    """The text of a Converse answer (its text blocks, joined)."""
    blocks = response.get("output", {}).get("message", {}).get("content", [])
    return "".join(block.get("text", "") for block in blocks)


def _apply(
    exchange: Exchange,
    guardrail: Guardrail,
    source: str,
    texts: Sequence[str],
    *,
    after_call: bool = False,
) -> dict[str, Any]:
    """One ApplyGuardrail call; after a model call, a failure is not the model's (no fallback)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .bedrock import translate_error

    client = exchange.clients.for_budget(exchange.budget)
    try:
        return dict(
            client.apply_guardrail(
                guardrailIdentifier=guardrail.identifier,
                guardrailVersion=guardrail.version,
                source=source,  # type: ignore[arg-type]
                content=[{"text": {"text": text}} for text in texts if text],
            )
        )
    except (ClientError, BotoCoreError) as error:
        subject = f"guardrail '{guardrail.name}'"
        translated = translate_error(error, guardrail.name, subject=subject)
        if not after_call:
            raise translated from error
        # The answer exists and is paid for: another model must not be tried for it.
        raise ApiError(
            502,
            f"The answer could not be checked by {subject} ({translated.code}).",
            type_="api_error",
            code="guardrail_unavailable",
        ) from error


def _actions(assessment: Mapping[str, Any]) -> set[str]:
    """Every action an assessment reports (BLOCKED, ANONYMIZED, NONE), whatever the policy."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, Mapping):
            action = node.get("action")
            if isinstance(action, str):
                found.add(action)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(assessment)
    return found


def _blocks(assessment: Mapping[str, Any]) -> bool:
    return "BLOCKED" in _actions(assessment)
