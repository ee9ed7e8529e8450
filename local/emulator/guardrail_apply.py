"""ApplyGuardrail on the wire: `POST /guardrail/{guardrailIdentifier}/version/{v}/apply`.

Checks follow botocore's bedrock-runtime service model, in the service framework's wording
(errors.constraint) where a modelled constraint fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .content import structure
from .errors import BedrockError, constraint, serialization, validation
from .guardrail_assessment import action_reason, assessment, coverage, usage
from .guardrail_policies import Evaluation, evaluate
from .guardrails import GuardrailStore
from .wire import Reply, StoreRequest, json_reply

# The service model's GuardrailIdentifier and GuardrailVersion patterns, as it words them.
IDENTIFIER_PATTERN = (
    r"(|([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))"
)
VERSION_PATTERN = r"(|([1-9][0-9]{0,7})|(DRAFT))"
MAX_IDENTIFIER_CHARS = 2048
SOURCES = ("INPUT", "OUTPUT")
OUTPUT_SCOPES = ("INTERVENTIONS", "FULL")
_QUALIFIERS = ("grounding_source", "query", "guard_content")
_IMAGE_FORMATS = ("png", "jpeg")


GuardrailRequest = StoreRequest[GuardrailStore]
GuardrailHandler = Callable[[GuardrailRequest], Reply]


def handle_apply_guardrail(request: GuardrailRequest) -> Reply:
    """Serve ApplyGuardrail: evaluate the text blocks as the source's content."""
    identifier = check_identifier(request.params["guardrailIdentifier"], "guardrailIdentifier")
    version = check_version(request.params["guardrailVersion"], "guardrailVersion")
    body = _body(request)
    source = body.get("source")
    if source is None:
        raise constraint(None, "source", "not be null")
    if source not in SOURCES:
        raise constraint(source, "source", f"satisfy enum value set: [{', '.join(SOURCES)}]")
    texts = _texts(body.get("content"))
    scope = body.get("outputScope")
    if scope is not None and scope not in OUTPUT_SCOPES:
        raise constraint(
            scope, "outputScope", f"satisfy enum value set: [{', '.join(OUTPUT_SCOPES)}]"
        )
    # Emulator's choice: FULL reports what INTERVENTIONS does (the emulator lists matches only).
    guardrail = request.store.resolve(identifier, version)
    return json_reply(apply_response(evaluate(guardrail, texts, str(source))))


def apply_response(evaluation: Evaluation) -> dict[str, Any]:
    """Return the ApplyGuardrailResponse body for an evaluation."""
    if evaluation.blocked:
        outputs = [{"text": evaluation.guardrail.blocked_message(evaluation.source)}]
    elif evaluation.intervened:
        outputs = [{"text": text} for text in evaluation.masked()]
    else:
        # Emulator's choice: nothing to use instead of the content, so no outputs.
        outputs = []
    return {
        "usage": usage(evaluation),
        "action": "GUARDRAIL_INTERVENED" if evaluation.intervened else "NONE",
        "actionReason": action_reason(evaluation),
        "outputs": outputs,
        "assessments": [assessment(evaluation)],
        "guardrailCoverage": coverage(evaluation),
    }


def check_identifier(value: object, path: str) -> str:
    """Return a guardrail identifier (id or ARN) that satisfies the service model's constraints."""
    if not isinstance(value, str):
        raise serialization(path, "a string")
    if len(value) > MAX_IDENTIFIER_CHARS:
        raise constraint(value, path, f"have length less than or equal to {MAX_IDENTIFIER_CHARS}")
    if not re.fullmatch(IDENTIFIER_PATTERN, value):
        raise constraint(value, path, f"satisfy regular expression pattern: {IDENTIFIER_PATTERN}")
    return value


def check_version(value: object, path: str) -> str:
    """Return a guardrail version that satisfies the service model's pattern."""
    if not isinstance(value, str):
        raise serialization(path, "a string")
    if not re.fullmatch(VERSION_PATTERN, value):
        raise constraint(value, path, f"satisfy regular expression pattern: {VERSION_PATTERN}")
    return value


def _body(request: GuardrailRequest) -> Mapping[str, object]:
    if request.body_error is not None:
        raise BedrockError("SerializationException", "The request body is not valid JSON.")
    if request.body is None:
        return {}
    if not isinstance(request.body, dict):
        raise serialization("", "a JSON object")
    return request.body


def _texts(value: object) -> list[str]:
    """Check GuardrailContentBlockList; return its texts (images are accepted, not evaluated)."""
    if value is None:
        raise constraint(None, "content", "not be null")
    if not isinstance(value, list):
        raise serialization("content", "a list")
    texts: list[str] = []
    for index, item in enumerate(value):
        path = f"content.{index}"
        block = structure(item, path)
        members = [member for member in ("text", "image") if member in block]
        if len(members) != 1:
            raise validation(f"The GuardrailContentBlock at {path} must set one of: text, image.")
        if members[0] == "image":
            _image(block["image"], f"{path}.image")
            continue
        text_block = structure(block["text"], f"{path}.text")
        text = text_block.get("text")
        if text is None:
            raise constraint(None, f"{path}.member.text.text", "not be null")
        if not isinstance(text, str):
            raise serialization(f"{path}.text.text", "a string")
        _qualifiers(text_block.get("qualifiers"), f"{path}.text.qualifiers")
        texts.append(text)
    return texts


def _qualifiers(value: object, path: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        raise serialization(path, "a list")
    for qualifier in value:
        if qualifier not in _QUALIFIERS:
            raise constraint(qualifier, path, f"satisfy enum value set: [{', '.join(_QUALIFIERS)}]")


def _image(value: object, path: str) -> None:
    # Emulator's choice: images are checked for shape and never evaluated (content filters,
    # the only policy Bedrock applies to images, are not emulated).
    image = structure(value, path)
    fmt = image.get("format")
    if fmt not in _IMAGE_FORMATS:
        raise constraint(fmt, f"{path}.format", "satisfy enum value set: [png, jpeg]")
    source = structure(image.get("source"), f"{path}.source")
    if not isinstance(source.get("bytes"), str) or not source["bytes"]:
        raise constraint(source.get("bytes"), f"{path}.source.bytes", "not be null")
