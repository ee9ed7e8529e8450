"""A guardrail's policies applied to text: what matched, where, and the masked text.

Matching is deterministic, by regular expressions: Bedrock's own detectors are ML models, so
the emulator finds the obvious forms only (documented per PII type below).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .guardrails import LocalGuardrail

# Emulator's choice: the managed profanity list, matched as whole words.
PROFANITY = (
    "asshole",
    "bastard",
    "bullshit",
    "crap",
    "damn",
    "fuck",
    "fucking",
    "shit",
)
# Emulator's choice: the PII the emulator recognizes, each by one regular expression.
PII_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        # name@domain.tld
        "EMAIL": re.compile(
            r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?!\w)"
        ),
        # North American numbers with separators (555-123-4567, (555) 123-4567, +1 555 123 4567)
        # and international ones written +CC followed by three to five groups of digits.
        "PHONE": re.compile(
            r"(?<![\w+])(?:(?:\+?1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}"
            r"|\+\d{1,3}(?:[ .-]\d{1,4}){3,5})(?![\w-])"
        ),
        # AAA-GG-SSSS, without the never-issued area numbers 000, 666 and 9xx.
        "US_SOCIAL_SECURITY_NUMBER": re.compile(
            r"(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])"
        ),
        # 13 to 19 digits, optionally grouped by spaces or dashes; the Luhn checksum must hold.
        "CREDIT_DEBIT_CARD_NUMBER": re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"),
        # IPv4 dotted quads, and IPv6 written in full (eight groups).
        "IP_ADDRESS": re.compile(
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
            r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\w)"
            r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"
        ),
    }
)
TEXT_UNIT_CHARS = 1_000


@dataclass(frozen=True, slots=True)
class Finding:
    """One match of one policy in one text, with the action its configuration takes."""

    # "topic", "word", "profanity", "pii" or "regex".
    policy: str
    # The topic's name, the configured word, the profanity, the PII type or the regex's name.
    name: str
    # The text matched.
    match: str
    start: int
    end: int
    # The configured action: BLOCK, ANONYMIZE or NONE.
    action: str
    # Custom regexes: the pattern.
    pattern: str = ""

    @property
    def mask(self) -> str:
        """Return the tag the match is replaced by when anonymized: {EMAIL}, {regex name}."""
        # Bedrock's documented masking of PII is the type in braces ({NAME}, {EMAIL}); a regex
        # is masked with its name in braces (Emulator's choice: not found in AWS's docs).
        return "{" + self.name + "}"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A guardrail applied to the texts of one source (INPUT or OUTPUT)."""

    guardrail: LocalGuardrail
    source: str
    texts: tuple[str, ...]
    # The findings in each text, in text order.
    findings: tuple[tuple[Finding, ...], ...]

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        """Return every finding, text after text."""
        return tuple(finding for found in self.findings for finding in found)

    @property
    def blocked(self) -> bool:
        """Return whether anything blocks the content."""
        return any(finding.action == "BLOCK" for finding in self.all_findings)

    @property
    def intervened(self) -> bool:
        """Return whether the guardrail blocks or masks anything (GUARDRAIL_INTERVENED)."""
        return any(finding.action in ("BLOCK", "ANONYMIZE") for finding in self.all_findings)

    @property
    def characters(self) -> int:
        """Return how many characters were evaluated."""
        return sum(len(text) for text in self.texts) if self.enabled else 0

    @property
    def enabled(self) -> bool:
        """Return whether the guardrail evaluates this source at all."""
        return self.guardrail.enabled(self.source)

    @property
    def text_units(self) -> int:
        """Return the text units evaluated: one per 1,000 characters, rounded up."""
        return math.ceil(self.characters / TEXT_UNIT_CHARS)

    def masked(self) -> tuple[str, ...]:
        """Return the texts with each anonymized match replaced by its tag."""
        return tuple(
            _masked(text, found) for text, found in zip(self.texts, self.findings, strict=True)
        )

    def first_block_end(self) -> tuple[int, int] | None:
        """Return (text index, offset) where the earliest blocking match ends, if any."""
        for index, found in enumerate(self.findings):
            ends = [finding.end for finding in found if finding.action == "BLOCK"]
            if ends:
                return index, min(ends)
        return None


def evaluate(guardrail: LocalGuardrail, texts: Sequence[str], source: str) -> Evaluation:
    """Apply `guardrail` to `texts` from `source` (INPUT or OUTPUT)."""
    texts = tuple(texts)
    if not guardrail.enabled(source):
        return Evaluation(guardrail, source, texts, tuple(() for _ in texts))
    return Evaluation(guardrail, source, texts, tuple(_findings(guardrail, text) for text in texts))


def _findings(guardrail: LocalGuardrail, text: str) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for name, _definition, examples in guardrail.topics:
        # Emulator's choice: a topic matches its examples or its name, never its definition.
        phrases = (*examples, name.replace("-", " ").replace("_", " "))
        hit = _first_phrase(text, phrases)
        if hit is not None:
            found.append(Finding("topic", name, hit.group(), hit.start(), hit.end(), "BLOCK"))
    for word in guardrail.words:
        hit = _phrase(word).search(text)
        if hit is not None:
            found.append(Finding("word", word, hit.group(), hit.start(), hit.end(), "BLOCK"))
    if guardrail.profanity:
        for word in PROFANITY:
            hit = _phrase(word).search(text)
            if hit is not None:
                found.append(
                    Finding("profanity", word, hit.group(), hit.start(), hit.end(), "BLOCK")
                )
    found.extend(_sensitive(guardrail, text))
    return tuple(found)


def _sensitive(guardrail: LocalGuardrail, text: str) -> list[Finding]:
    """Return PII and regex matches, overlaps resolved: the earlier, then the longer, wins."""
    candidates: list[Finding] = []
    for entity, action in guardrail.pii.items():
        pattern = PII_PATTERNS.get(entity)
        if pattern is None:
            continue  # accepted in the configuration, never detected (see LocalGuardrail)
        for hit in pattern.finditer(text):
            if entity == "CREDIT_DEBIT_CARD_NUMBER" and not _luhn(hit.group()):
                continue
            candidates.append(Finding("pii", entity, hit.group(), hit.start(), hit.end(), action))
    for name, pattern_text, action in guardrail.regexes:
        for hit in _compiled(pattern_text).finditer(text):
            if hit.end() > hit.start():
                candidates.append(
                    Finding(
                        "regex", name, hit.group(), hit.start(), hit.end(), action, pattern_text
                    )
                )
    kept: list[Finding] = []
    for finding in sorted(candidates, key=lambda f: (f.start, f.start - f.end)):
        if not kept or finding.start >= kept[-1].end:
            kept.append(finding)
    return kept


def _masked(text: str, findings: Sequence[Finding]) -> str:
    masked = text
    # Right to left, so earlier offsets stay valid; sensitive findings never overlap.
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        if finding.action == "ANONYMIZE":
            masked = masked[: finding.start] + finding.mask + masked[finding.end :]
    return masked


def _first_phrase(text: str, phrases: Sequence[str]) -> re.Match[str] | None:
    hits = [hit for phrase in phrases if (hit := _phrase(phrase).search(text)) is not None]
    return min(hits, key=lambda hit: hit.start(), default=None)


@functools.lru_cache(maxsize=1024)
def _phrase(phrase: str) -> re.Pattern[str]:
    """Compile a case-insensitive whole-word match of `phrase` (any whitespace between words)."""
    words = phrase.split()
    if not words:
        return re.compile(r"(?!)")  # a blank phrase matches nothing
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _luhn(number: str) -> bool:
    """Return whether a card number's digits pass the Luhn checksum."""
    digits = [int(char) for char in number if char.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0
