"""An evaluation in the service model's shapes: GuardrailAssessment, GuardrailUsage, coverage."""

from __future__ import annotations

from typing import Any

from .guardrail_policies import Evaluation, Finding

# Emulator's choice: a plausible, fixed processing latency (GuardrailProcessingLatency, in ms).
PROCESSING_LATENCY_MS = 35
# Assessment actions are the past tense of configured actions (BLOCK -> BLOCKED).
_ASSESSED = {"BLOCK": "BLOCKED", "ANONYMIZE": "ANONYMIZED", "NONE": "NONE"}


def usage(evaluation: Evaluation) -> dict[str, int]:
    """Return GuardrailUsage: the text units of each configured policy, 0 for the others.

    AWS charges for configured policies only (user guide, guardrails-how). Emulator's choice:
    a text unit is 1,000 characters, rounded up; PII filters count as
    sensitiveInformationPolicyUnits and custom regexes as the free ones; contextual grounding,
    not emulated, counts nothing.
    """
    units = evaluation.text_units
    guardrail = evaluation.guardrail
    return {
        "topicPolicyUnits": units if guardrail.topics else 0,
        "contentPolicyUnits": units if guardrail.content_filters else 0,
        "wordPolicyUnits": units if guardrail.words or guardrail.profanity else 0,
        "sensitiveInformationPolicyUnits": units if guardrail.pii else 0,
        "sensitiveInformationPolicyFreeUnits": units if guardrail.regexes else 0,
        "contextualGroundingPolicyUnits": 0,
    }


def coverage(evaluation: Evaluation) -> dict[str, Any]:
    """Return GuardrailCoverage: every text character given is guarded."""
    characters = evaluation.characters
    return {"textCharacters": {"guarded": characters, "total": characters}}


def assessment(evaluation: Evaluation) -> dict[str, Any]:
    """Return the GuardrailAssessment of one evaluation: a policy entry per finding."""
    found = evaluation.all_findings
    result: dict[str, Any] = {}
    topics = [_topic(finding) for finding in found if finding.policy == "topic"]
    if topics:
        result["topicPolicy"] = {"topics": topics}
    custom = [_word(finding) for finding in found if finding.policy == "word"]
    managed = [
        {**_word(finding), "type": "PROFANITY"}
        for finding in found
        if finding.policy == "profanity"
    ]
    if custom or managed:
        result["wordPolicy"] = {"customWords": custom, "managedWordLists": managed}
    pii = [_pii(finding) for finding in found if finding.policy == "pii"]
    regexes = [_regex(finding) for finding in found if finding.policy == "regex"]
    if pii or regexes:
        result["sensitiveInformationPolicy"] = {"piiEntities": pii, "regexes": regexes}
    result["invocationMetrics"] = {
        "guardrailProcessingLatency": PROCESSING_LATENCY_MS,
        "usage": usage(evaluation),
        "guardrailCoverage": coverage(evaluation),
    }
    return result


def action_reason(*evaluations: Evaluation) -> str:
    """Return actionReason (Emulator's choice of wording: AWS documents no values)."""
    if any(evaluation.blocked for evaluation in evaluations):
        return "Guardrail blocked."
    if any(evaluation.intervened for evaluation in evaluations):
        return "Guardrail masked."
    return "No action."


def _topic(finding: Finding) -> dict[str, Any]:
    return {
        "name": finding.name,
        "type": "DENY",
        "action": _ASSESSED[finding.action],
        "detected": True,
    }


def _word(finding: Finding) -> dict[str, Any]:
    # The configured word (or list entry) is reported, not the text's spelling of it.
    return {"match": finding.name, "action": _ASSESSED[finding.action], "detected": True}


def _pii(finding: Finding) -> dict[str, Any]:
    return {
        "match": finding.match,
        "type": finding.name,
        "action": _ASSESSED[finding.action],
        "detected": True,
    }


def _regex(finding: Finding) -> dict[str, Any]:
    return {
        "name": finding.name,
        "match": finding.match,
        "regex": finding.pattern,
        "action": _ASSESSED[finding.action],
        "detected": True,
    }
