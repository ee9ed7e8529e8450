"""[guardrails.NAME] tables and [guardrail_policy]: Bedrock Guardrails as code, and who gets which.

Field limits are AWS::Bedrock::Guardrail's (CloudFormation schema) and CreateGuardrail's
(bedrock service model): names, messages, topics, words, PII entity types and regexes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StrictBool, StrictFloat, TypeAdapter, model_validator

from stacks.config.base import Problem, Section
from stacks.config.patterns import form_pattern

GUARDRAIL_NAME = form_pattern(
    r"^[a-z](-?[a-z0-9])*$", "a name of lowercase letters and digits, single '-' between (max 32)"
)
TOPIC_NAME = form_pattern(
    r"^[0-9a-zA-Z-_ !?.]{1,100}$", "a topic name: letters, digits, spaces and -_!?. (max 100)"
)
# "none": a team or alias that opts out of the default guardrail.
NO_GUARDRAIL = "none"


class Strength(StrEnum):
    """How strictly a content filter blocks (AWS::Bedrock::Guardrail ContentFilterConfig)."""

    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class ContentFilter(StrEnum):
    """The content filter categories Bedrock offers."""

    HATE = "hate"
    INSULTS = "insults"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    MISCONDUCT = "misconduct"
    PROMPT_ATTACK = "prompt_attack"


class PiiAction(StrEnum):
    """What happens to a detected entity: refused, or masked as {TYPE}."""

    BLOCK = "block"
    ANONYMIZE = "anonymize"


# GuardrailPiiEntityType of the bedrock service model (and the CloudFormation schema).


def _pii_types() -> frozenset[str]:
    import botocore.session
    from botocore.model import StringShape

    model = botocore.session.get_session().get_service_model("bedrock")
    shape = model.shape_for("GuardrailPiiEntityType")
    assert isinstance(shape, StringShape)
    return frozenset(shape.enum)


PII_TYPES = _pii_types()


class FilterStrengths(Section):
    """A content filter's strength on prompts and on answers."""

    input: Strength = Strength.HIGH
    output: Strength = Strength.HIGH


class DeniedTopic(Section):
    """A subject the guardrail refuses, in prompts and answers."""

    name: str = Field(pattern=TOPIC_NAME)
    # CreateGuardrail's GuardrailTopicDefinition: at most 200 characters.
    definition: str = Field(min_length=1, max_length=200)
    examples: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = Field(
        default=(), max_length=5
    )


class RegexFilter(Section):
    """A custom pattern of sensitive information."""

    name: str = Field(min_length=1, max_length=100)
    pattern: str = Field(min_length=1, max_length=500)
    action: PiiAction = PiiAction.ANONYMIZE
    description: str | None = Field(default=None, min_length=1, max_length=1000)


class _GuardrailSettings(Section):
    """One [guardrails.NAME] table."""

    description: str | None = Field(default=None, min_length=1, max_length=200)
    blocked_input_message: str = Field(
        default="This request was blocked by the organization's content policy.",
        min_length=1,
        max_length=500,
    )
    blocked_output_message: str = Field(
        default="The answer was withheld by the organization's content policy.",
        min_length=1,
        max_length=500,
    )
    # Category -> strength on both directions, or {input, output}.
    content_filters: dict[ContentFilter, Strength | FilterStrengths] = Field(default_factory=dict)
    denied_topics: tuple[DeniedTopic, ...] = Field(default=(), max_length=30)
    blocked_words: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = Field(
        default=(), max_length=10_000
    )
    # AWS's managed profanity word list.
    profanity: StrictBool = False
    # PII entity type (EMAIL, PHONE, ...) -> block or anonymize.
    pii: dict[str, PiiAction] = Field(default_factory=dict)
    regexes: tuple[RegexFilter, ...] = Field(default=(), max_length=30)
    # Contextual grounding (answers checked against the knowledge base passages they cite).
    grounding_threshold: StrictFloat | None = Field(default=None, ge=0, le=0.99)
    relevance_threshold: StrictFloat | None = Field(default=None, ge=0, le=0.99)

    @model_validator(mode="after")
    def _names_and_patterns(self) -> Self:
        for key, names in (
            ("denied_topics", [topic.name for topic in self.denied_topics]),
            ("regexes", [regex.name for regex in self.regexes]),
        ):
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise Problem(key, f"{repeated[0]!r} is named twice")
        for regex in self.regexes:
            try:
                re.compile(regex.pattern)
            except re.error as error:
                raise Problem(f"regexes.{regex.name}", f"not a valid pattern: {error}") from None
        if any(not word.strip() for word in self.blocked_words):
            raise Problem("blocked_words", "a word of spaces only blocks nothing")
        return self

    @model_validator(mode="after")
    def _has_a_policy(self) -> Self:
        unknown = sorted(set(self.pii) - PII_TYPES)
        if unknown:
            raise Problem(
                f"pii.{unknown[0]}",
                "is not a PII entity type Bedrock detects (EMAIL, PHONE, NAME, ADDRESS, "
                "US_SOCIAL_SECURITY_NUMBER, CREDIT_DEBIT_CARD_NUMBER, ... : docs/configuration.md)",
            )
        if not (
            self.content_filters
            or self.denied_topics
            or self.blocked_words
            or self.profanity
            or self.pii
            or self.regexes
            or self.grounding_threshold is not None
            or self.relevance_threshold is not None
        ):
            raise Problem(
                "",
                "a guardrail needs at least one policy: content_filters, denied_topics, "
                "blocked_words, profanity, pii, regexes or a grounding threshold",
            )
        return self

    def strengths(self) -> dict[ContentFilter, FilterStrengths]:
        """Each configured filter's input and output strength."""
        return {
            kind: value
            if isinstance(value, FilterStrengths)
            else FilterStrengths(input=value, output=value)
            for kind, value in self.content_filters.items()
        }


class GuardrailConfig(_GuardrailSettings):
    """One guardrail: its policies and the messages shown when it blocks."""

    name: str


class GuardrailPolicyConfig(Section):
    """Which guardrail applies: a team's first, else the alias's, else the default."""

    default: str | None = None
    # Alias -> guardrail name (or "none").
    aliases: dict[str, str] = Field(default_factory=dict)


_TABLES = TypeAdapter(
    dict[Annotated[str, Field(pattern=GUARDRAIL_NAME, max_length=32)], _GuardrailSettings]
)


def guardrails_from_tables(tables: object) -> tuple[GuardrailConfig, ...]:
    """Validate the [guardrails] tables into one GuardrailConfig per name."""
    if not isinstance(tables, dict):
        raise ValueError("must be tables, one [guardrails.NAME] per guardrail")
    settings = _TABLES.validate_python(tables)
    return tuple(
        GuardrailConfig(name=name, **table.model_dump(exclude_unset=True))
        for name, table in settings.items()
    )


def check_names(names: Mapping[str, str | None], known: set[str]) -> None:
    """Every guardrail a rule names exists (or is "none"); keys are config paths."""
    for key, name in names.items():
        if name is not None and name != NO_GUARDRAIL and name not in known:
            listed = ", ".join(sorted(known)) or "none declared"
            raise Problem(key, f"{name!r} is not a [guardrails] table ({listed}), nor 'none'")
