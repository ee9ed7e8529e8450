"""Guardrails the emulator applies: their configuration, their ids, and the registry by version.

A LocalGuardrail stands in for an AWS::Bedrock::Guardrail version. It is matched
deterministically (guardrail_policies): words, a fixed profanity list, denied topics by their
examples or name, PII by regular expressions and custom regexes. Content filters (hate,
violence, ...) and contextual grounding are not emulated: their configuration is accepted and
never matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import BedrockError

# Bedrock's guardrail ids (GuardrailId: [a-z0-9]+; the console's are 12 characters).
ID_PATTERN = re.compile(r"[a-z0-9]+")
# GuardrailVersion without the empty string: a numbered version or the working draft.
VERSION_PATTERN = re.compile(r"[1-9][0-9]{0,7}|DRAFT")
DRAFT = "DRAFT"
# GuardrailArn: the form Bedrock accepts wherever it takes a guardrail identifier.
ARN_PATTERN = re.compile(
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/([a-z0-9]+)"
)
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 12
# Emulator's choice: the console's default blocked messaging (wording not checked with AWS).
DEFAULT_BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."
NOT_FOUND_MESSAGE = "The guardrail identifier or version provided in the request does not exist."

# GuardrailPiiEntityType's values in botocore's copy of AWS's bedrock model: all accepted.


def _pii_types() -> frozenset[str]:
    import botocore.session
    from botocore.model import StringShape

    model = botocore.session.get_session().get_service_model("bedrock")
    shape = model.shape_for("GuardrailPiiEntityType")
    assert isinstance(shape, StringShape)
    return frozenset(shape.enum)


PII_TYPES = _pii_types()
CONTENT_FILTER_TYPES = frozenset(
    {"SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"}
)
# GuardrailSensitiveInformationAction: NONE only reports what was detected.
SENSITIVE_ACTIONS = ("BLOCK", "ANONYMIZE", "NONE")
# bedrock's CreateGuardrail limits (TopicConfig, GuardrailWordConfig, GuardrailRegexConfig).
_TOPIC_NAME = re.compile(r"[0-9a-zA-Z-_ !?.]{1,100}")
MAX_TOPIC_DEFINITION = 200
MAX_TOPIC_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 100
MAX_WORD_CHARS = 100
MAX_REGEX_NAME = 100
MAX_REGEX_PATTERN = 500
MAX_MESSAGE_CHARS = 500

Topic = tuple[str, str, tuple[str, ...]]
Regex = tuple[str, str, str]


def local_guardrail_id(name: str) -> str:
    """Return the 12-character [a-z0-9] id the emulator gives guardrail `name`."""
    number = int.from_bytes(hashlib.sha256(f"guardrail\0{name}".encode()).digest()[:8], "big")
    digits: list[str] = []
    for _ in range(_ID_LENGTH):
        number, digit = divmod(number, len(_ID_ALPHABET))
        digits.append(_ID_ALPHABET[digit])
    return "".join(digits)


@dataclass(frozen=True, slots=True)
class LocalGuardrail:
    """One guardrail version: its blocked messaging and the policies the emulator matches.

    `words` match case-insensitively as whole words or phrases; `profanity` turns on a small
    fixed list (guardrail_policies.PROFANITY). A topic is (name, definition, examples): it
    matches text containing one of its examples, or its name with '-' and '_' read as spaces.
    `pii` maps GuardrailPiiEntityType values to BLOCK, ANONYMIZE or NONE; only EMAIL, PHONE,
    US_SOCIAL_SECURITY_NUMBER, CREDIT_DEBIT_CARD_NUMBER and IP_ADDRESS are recognized, the other
    types are accepted and never match. A regex is (name, pattern, action). `content_filters`
    names GuardrailContentFilterType values, accepted and never matched.

    Emulator's choice: `input_enabled` / `output_enabled` switch the whole guardrail per
    direction, where Bedrock has inputEnabled / outputEnabled on each filter.
    """

    guardrail_id: str
    version: str = "1"
    blocked_input_message: str = DEFAULT_BLOCKED_MESSAGE
    blocked_output_message: str = DEFAULT_BLOCKED_MESSAGE
    words: tuple[str, ...] = ()
    profanity: bool = False
    topics: tuple[Topic, ...] = ()
    # Not hashed: a mapping is not hashable, and the other fields tell versions apart.
    pii: Mapping[str, str] = field(default_factory=dict, hash=False)
    regexes: tuple[Regex, ...] = ()
    content_filters: tuple[str, ...] = ()
    input_enabled: bool = True
    output_enabled: bool = True

    def __post_init__(self) -> None:
        if not ID_PATTERN.fullmatch(self.guardrail_id):
            raise ValueError(f"guardrail_id must be [a-z0-9]+, not {self.guardrail_id!r}")
        if not VERSION_PATTERN.fullmatch(self.version):
            raise ValueError(f"version must be 1-99999999 or DRAFT, not {self.version!r}")
        for label, message in (
            ("blocked_input_message", self.blocked_input_message),
            ("blocked_output_message", self.blocked_output_message),
        ):
            if not 1 <= len(message) <= MAX_MESSAGE_CHARS:
                raise ValueError(f"{label} must have 1 to {MAX_MESSAGE_CHARS} characters")
        # Accept lists where tuples are declared (a config file gives lists); store tuples.
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "content_filters", tuple(self.content_filters))
        object.__setattr__(
            self, "topics", tuple((name, text, tuple(ex)) for name, text, ex in self.topics)
        )
        object.__setattr__(self, "regexes", tuple(tuple(regex) for regex in self.regexes))
        object.__setattr__(self, "pii", MappingProxyType(dict(self.pii)))
        _check_words(self.words)
        _check_topics(self.topics)
        _check_pii(self.pii)
        _check_regexes(self.regexes)
        unknown = sorted(set(self.content_filters) - CONTENT_FILTER_TYPES)
        if unknown:
            raise ValueError(f"unknown content filter types: {', '.join(unknown)}")

    def blocked_message(self, source: str) -> str:
        """Return the blocked messaging for INPUT or OUTPUT."""
        return self.blocked_input_message if source == "INPUT" else self.blocked_output_message

    def enabled(self, source: str) -> bool:
        """Return whether the guardrail evaluates content from `source` (INPUT or OUTPUT)."""
        return self.input_enabled if source == "INPUT" else self.output_enabled


def _check_words(words: tuple[str, ...]) -> None:
    for word in words:
        if not isinstance(word, str) or not word.strip() or len(word) > MAX_WORD_CHARS:
            raise ValueError(f"each word must have 1 to {MAX_WORD_CHARS} characters: {word!r}")


def _check_topics(topics: tuple[Topic, ...]) -> None:
    names: set[str] = set()
    for name, definition, examples in topics:
        if not _TOPIC_NAME.fullmatch(name) or name in names:
            raise ValueError(f"topic names must be unique, 1-100 of [0-9a-zA-Z-_ !?.]: {name!r}")
        names.add(name)
        if not 1 <= len(definition) <= MAX_TOPIC_DEFINITION:
            raise ValueError(f"topic {name!r}: the definition must have 1 to 200 characters")
        if len(examples) > MAX_TOPIC_EXAMPLES or not all(
            1 <= len(example) <= MAX_EXAMPLE_CHARS for example in examples
        ):
            raise ValueError(f"topic {name!r}: at most 5 examples of 1 to 100 characters")


def _check_pii(pii: Mapping[str, str]) -> None:
    for entity, action in pii.items():
        if entity not in PII_TYPES:
            raise ValueError(f"unknown PII entity type {entity!r}")
        if action not in SENSITIVE_ACTIONS:
            raise ValueError(f"PII {entity}: the action must be BLOCK, ANONYMIZE or NONE")


def _check_regexes(regexes: tuple[Regex, ...]) -> None:
    for regex in regexes:
        if len(regex) != 3:  # (name, pattern, action)
            raise ValueError(f"a regex is (name, pattern, action), not {regex!r}")
        name, pattern, action = regex
        if not 1 <= len(name) <= MAX_REGEX_NAME:
            raise ValueError(f"regex names must have 1 to {MAX_REGEX_NAME} characters: {name!r}")
        if not 1 <= len(pattern) <= MAX_REGEX_PATTERN:
            raise ValueError(f"regex {name!r}: the pattern must have 1 to 500 characters")
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"regex {name!r}: {error}") from None
        if action not in SENSITIVE_ACTIONS:
            raise ValueError(f"regex {name!r}: the action must be BLOCK, ANONYMIZE or NONE")


def guardrail_id_of(identifier: str) -> str:
    """Return the id an identifier names: the id itself, or the last part of a guardrail ARN."""
    matched = ARN_PATTERN.fullmatch(identifier)
    return matched.group(2) if matched else identifier


class GuardrailStore:
    """The registered guardrails, by id and version (immutable once built: no lock needed)."""

    def __init__(self, guardrails: Sequence[LocalGuardrail] = ()) -> None:
        self._by_key: dict[tuple[str, str], LocalGuardrail] = {}
        for guardrail in guardrails:
            key = (guardrail.guardrail_id, guardrail.version)
            if key in self._by_key:
                raise ValueError(
                    f"guardrail {guardrail.guardrail_id} version {guardrail.version} "
                    "is registered twice"
                )
            self._by_key[key] = guardrail

    @property
    def guardrails(self) -> tuple[LocalGuardrail, ...]:
        """Return the registered guardrails, in registration order."""
        return tuple(self._by_key.values())

    def resolve(self, identifier: str, version: str) -> LocalGuardrail:
        """Return the guardrail an identifier (id or ARN) and version name, or raise Bedrock's 404.

        Emulator's choice: DRAFT, unless registered itself, names the highest numbered version
        (Bedrock's working draft is where new versions are made from).
        """
        guardrail_id = guardrail_id_of(identifier)
        found = self._by_key.get((guardrail_id, version))
        if found is None and version == DRAFT:
            numbered = [g for (gid, _), g in self._by_key.items() if gid == guardrail_id]
            found = max(numbered, key=lambda g: int(g.version), default=None)
        if found is None:
            raise BedrockError("ResourceNotFoundException", NOT_FOUND_MESSAGE)
        return found
