"""Guardrails in the emulator: ApplyGuardrail, and Converse / ConverseStream's guardrailConfig."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from local.emulator import Emulator, LocalGuardrail, local_guardrail_id, start_emulator
from local.emulator.guardrails import GuardrailStore
from tests.emulator.clients import error_of, make_client
from tests.emulator.dates import FORMATS_DAY

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ONE_ATTEMPT: dict[str, Any] = {"retries": {"mode": "standard", "total_max_attempts": 1}}
RECOGNIZED = {
    "EMAIL": "jane.doe@example.com",
    "PHONE": "(555) 123-4567",
    "US_SOCIAL_SECURITY_NUMBER": "123-45-6789",
    "CREDIT_DEBIT_CARD_NUMBER": "4111-1111-1111-1111",
    "IP_ADDRESS": "192.168.1.20",
}
BLOCKER = LocalGuardrail(
    local_guardrail_id("blocker"),
    blocked_input_message="Input blocked by policy.",
    blocked_output_message="Output blocked by policy.",
    words=("forbidden fruit", "Voldemort"),
    profanity=True,
    topics=(
        (
            "Investment_Advice",
            "Guidance on where to put one's money.",
            ("Should I buy bitcoin?", "which stocks to pick"),
        ),
    ),
    pii=dict.fromkeys([*RECOGNIZED, "NAME", "ADDRESS"], "BLOCK"),
    regexes=(("ticket", r"TICKET-\d{3}", "BLOCK"),),
    content_filters=("HATE", "VIOLENCE"),
)
# Version 2 of the same guardrail: what DRAFT names (the highest numbered version).
BLOCKER_V2 = LocalGuardrail(
    BLOCKER.guardrail_id, version="2", words=("Voldemort",), blocked_input_message="v2 blocked."
)
MASKER = LocalGuardrail(
    local_guardrail_id("masker"),
    pii=dict.fromkeys(RECOGNIZED, "ANONYMIZE"),
    regexes=(("ticket", r"TICKET-\d{3}", "ANONYMIZE"),),
)
# Evaluates answers only: the input can ask for words the output may not contain.
OUTPUT_ONLY = LocalGuardrail(
    local_guardrail_id("output-only"),
    blocked_output_message="The answer was withheld.",
    words=("forbidden fruit",),
    pii={"EMAIL": "ANONYMIZE", "PHONE": "NONE"},
    input_enabled=False,
)
BLOCKED_WORD_LINE = "echo: the forbidden fruit is sweet"


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    guardrails = [BLOCKER, BLOCKER_V2, MASKER, OUTPUT_ONLY]
    with start_emulator(today=FORMATS_DAY, guardrails=guardrails) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(emulator: Emulator) -> None:
    emulator.clear()


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Any:
    return make_client(emulator.url, **ONE_ATTEMPT)


@pytest.fixture(scope="module")
def lenient(emulator: Emulator) -> Any:
    """A client without botocore's parameter checks: the emulator must judge the request."""
    return make_client(emulator.url, parameter_validation=False, **ONE_ATTEMPT)


def apply(
    client: Any, guardrail: LocalGuardrail, text: str, source: str = "INPUT", **extra: Any
) -> dict[str, Any]:
    """Call ApplyGuardrail on one text block."""
    return dict(
        client.apply_guardrail(
            guardrailIdentifier=extra.pop("identifier", guardrail.guardrail_id),
            guardrailVersion=extra.pop("version", guardrail.version),
            source=source,
            content=[{"text": {"text": text}}],
            **extra,
        )
    )


def config(guardrail: LocalGuardrail, **extra: str) -> dict[str, str]:
    """A guardrailConfig naming `guardrail`."""
    return {
        "guardrailIdentifier": guardrail.guardrail_id,
        "guardrailVersion": guardrail.version,
        **extra,
    }


def user(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(blocks)}]


def said(text: str) -> list[dict[str, Any]]:
    return user({"text": text})


def text_of(response: dict[str, Any]) -> str:
    (block,) = response["output"]["message"]["content"]
    return str(block["text"])


def streamed(client: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return list(client.converse_stream(modelId=HAIKU, **kwargs)["stream"])


def deltas(events: list[dict[str, Any]]) -> list[str]:
    return [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]


def entries(assessment: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return (policy entry kind, name or match, action) for each finding of an assessment."""
    found = [
        ("topic", t["name"], t["action"])
        for t in assessment.get("topicPolicy", {}).get("topics", [])
    ]
    words = assessment.get("wordPolicy", {})
    found += [("word", w["match"], w["action"]) for w in words.get("customWords", [])]
    found += [("profanity", w["match"], w["action"]) for w in words.get("managedWordLists", [])]
    sensitive = assessment.get("sensitiveInformationPolicy", {})
    found += [(p["type"], p["match"], p["action"]) for p in sensitive.get("piiEntities", [])]
    found += [("regex", r["match"], r["action"]) for r in sensitive.get("regexes", [])]
    return found


# --- the configuration ------------------------------------------------------------------------


def test_local_guardrail_ids_are_stable_and_shaped_like_bedrocks() -> None:
    first = local_guardrail_id("support")
    assert re.fullmatch(r"[a-z0-9]{12}", first)
    assert first == local_guardrail_id("support") != local_guardrail_id("support2")


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"guardrail_id": "Upper"}, "guardrail_id"),
        ({"version": "0"}, "version"),
        ({"pii": {"SOCIAL": "BLOCK"}}, "unknown PII"),
        ({"pii": {"EMAIL": "MASK"}}, "BLOCK, ANONYMIZE or NONE"),
        ({"regexes": (("bad", "(", "BLOCK"),)}, "regex 'bad'"),
        ({"topics": (("a/b", "x", ()),)}, "topic names"),
        ({"content_filters": ("RUDENESS",)}, "content filter"),
        ({"blocked_input_message": ""}, "blocked_input_message"),
    ],
)
def test_a_configuration_bedrock_would_refuse_is_refused(
    changes: dict[str, Any], complaint: str
) -> None:
    arguments: dict[str, Any] = {"guardrail_id": "abc123", **changes}
    with pytest.raises(ValueError, match=re.escape(complaint)):
        LocalGuardrail(**arguments)


def test_a_version_registered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        GuardrailStore([BLOCKER, LocalGuardrail(BLOCKER.guardrail_id)])


def test_the_emulator_lists_its_guardrails(emulator: Emulator) -> None:
    assert emulator.guardrails == (BLOCKER, BLOCKER_V2, MASKER, OUTPUT_ONLY)


# --- ApplyGuardrail ---------------------------------------------------------------------------


BLOCKING_CASES = [
    ("I want the Forbidden\n fruit now", ("word", "forbidden fruit", "BLOCKED")),
    ("Is VOLDEMORT back?", ("word", "Voldemort", "BLOCKED")),
    ("well, damn it", ("profanity", "damn", "BLOCKED")),
    ("should i buy bitcoin? asks Bob", ("topic", "Investment_Advice", "BLOCKED")),
    ("Any investment advice for a student?", ("topic", "Investment_Advice", "BLOCKED")),
    ("Please reopen TICKET-123 today", ("regex", "TICKET-123", "BLOCKED")),
    *((f"the value is {value}.", (kind, value, "BLOCKED")) for kind, value in RECOGNIZED.items()),
]


@pytest.mark.parametrize("source", ["INPUT", "OUTPUT"])
@pytest.mark.parametrize(("text", "entry"), BLOCKING_CASES)
def test_each_filter_blocks_with_the_sources_message(
    client: Any, source: str, text: str, entry: tuple[str, str, str]
) -> None:
    response = apply(client, BLOCKER, text, source)
    assert response["action"] == "GUARDRAIL_INTERVENED"
    message = BLOCKER.blocked_input_message if source == "INPUT" else BLOCKER.blocked_output_message
    assert response["outputs"] == [{"text": message}]
    (assessment,) = response["assessments"]
    assert entries(assessment) == [entry]


def test_assessment_entries_have_the_service_models_shapes(client: Any) -> None:
    text = "Voldemort, damn: Should I buy bitcoin? Mail a@b.co about TICKET-007."
    (assessment,) = apply(client, BLOCKER, text)["assessments"]
    assert assessment["topicPolicy"] == {
        "topics": [
            {"name": "Investment_Advice", "type": "DENY", "action": "BLOCKED", "detected": True}
        ]
    }
    assert assessment["wordPolicy"] == {
        "customWords": [{"match": "Voldemort", "action": "BLOCKED", "detected": True}],
        "managedWordLists": [
            {"match": "damn", "type": "PROFANITY", "action": "BLOCKED", "detected": True}
        ],
    }
    assert assessment["sensitiveInformationPolicy"] == {
        "piiEntities": [
            {"match": "a@b.co", "type": "EMAIL", "action": "BLOCKED", "detected": True}
        ],
        "regexes": [
            {
                "name": "ticket",
                "match": "TICKET-007",
                "regex": r"TICKET-\d{3}",
                "action": "BLOCKED",
                "detected": True,
            }
        ],
    }
    metrics = assessment["invocationMetrics"]
    assert metrics["guardrailCoverage"] == {
        "textCharacters": {"guarded": len(text), "total": len(text)}
    }


@pytest.mark.parametrize("source", ["INPUT", "OUTPUT"])
@pytest.mark.parametrize("kind", sorted(RECOGNIZED))
def test_each_pii_type_is_masked_with_its_type(client: Any, source: str, kind: str) -> None:
    value = RECOGNIZED[kind]
    response = apply(client, MASKER, f"Note: {value}, thanks.", source)
    assert response["action"] == "GUARDRAIL_INTERVENED"
    assert response["outputs"] == [{"text": f"Note: {{{kind}}}, thanks."}]
    (assessment,) = response["assessments"]
    assert entries(assessment) == [(kind, value, "ANONYMIZED")]


def test_several_matches_are_masked_in_place_and_a_regex_by_its_name(client: Any) -> None:
    text = "a@b.com called 555-867-5309 about TICKET-404 from 10.0.0.1."
    response = apply(client, MASKER, text)
    assert response["outputs"] == [
        {"text": "{EMAIL} called {PHONE} about {ticket} from {IP_ADDRESS}."}
    ]
    assert response["actionReason"] == "Guardrail masked."


def test_a_block_wins_over_masking_and_both_are_assessed(client: Any) -> None:
    response = apply(client, OUTPUT_ONLY, "The forbidden fruit is at a@b.com", "OUTPUT")
    assert response["outputs"] == [{"text": OUTPUT_ONLY.blocked_output_message}]
    (assessment,) = response["assessments"]
    assert entries(assessment) == [
        ("word", "forbidden fruit", "BLOCKED"),
        ("EMAIL", "a@b.com", "ANONYMIZED"),
    ]


def test_a_none_action_reports_without_intervening(client: Any) -> None:
    response = apply(client, OUTPUT_ONLY, "Call 555-123-4567", "OUTPUT")
    assert response["action"] == "NONE"
    assert response["outputs"] == []
    assert entries(response["assessments"][0]) == [("PHONE", "555-123-4567", "NONE")]


@pytest.mark.parametrize(
    "text",
    [
        "The forbidden fruitcake and Voldemorts",  # whole words only
        "card 4111 1111 1111 1112",  # fails the Luhn checksum
        "ssn 000-12-3456 and build 1.2.3",  # never-issued area number; not an IPv4 address
        "John Smith lives at 100 Main Street",  # NAME, ADDRESS: accepted, never detected
        "I hate you and will hurt you",  # content filters: not emulated
        "Investment is a noun",  # the topic's name is a phrase, not a word of it
    ],
)
def test_text_without_matches_passes(client: Any, text: str) -> None:
    response = apply(client, BLOCKER, text)
    assert (response["action"], response["outputs"]) == ("NONE", [])
    assert response["actionReason"] == "No action."
    assert list(response["assessments"][0]) == ["invocationMetrics"]


def test_usage_counts_text_units_per_configured_policy(client: Any) -> None:
    text = "x" * 2_001  # three text units of 1,000 characters
    assert apply(client, BLOCKER, text)["usage"] == {
        "topicPolicyUnits": 3,
        "contentPolicyUnits": 3,
        "wordPolicyUnits": 3,
        "sensitiveInformationPolicyUnits": 3,
        "sensitiveInformationPolicyFreeUnits": 3,
        "contextualGroundingPolicyUnits": 0,
    }
    masker = apply(client, MASKER, text)["usage"]
    assert (masker["topicPolicyUnits"], masker["wordPolicyUnits"]) == (0, 0)


def test_a_direction_switched_off_evaluates_nothing(client: Any) -> None:
    response = apply(client, OUTPUT_ONLY, "the forbidden fruit", "INPUT")
    assert response["action"] == "NONE"
    assert set(response["usage"].values()) == {0}


def test_several_text_blocks_are_masked_one_output_each(client: Any) -> None:
    response = client.apply_guardrail(
        guardrailIdentifier=MASKER.guardrail_id,
        guardrailVersion="1",
        source="OUTPUT",
        content=[
            {"text": {"text": "first a@b.com"}},
            {"text": {"text": "second", "qualifiers": ["guard_content"]}},
        ],
    )
    assert response["outputs"] == [{"text": "first {EMAIL}"}, {"text": "second"}]


def test_a_guardrail_arn_and_draft_name_registered_versions(client: Any) -> None:
    arn = f"arn:aws:bedrock:eu-west-1:123456789012:guardrail/{BLOCKER.guardrail_id}"
    assert apply(client, BLOCKER, "Voldemort", identifier=arn)["outputs"] == [
        {"text": BLOCKER.blocked_input_message}
    ]
    # DRAFT is the latest version; version 2 only blocks Voldemort.
    assert apply(client, BLOCKER, "Voldemort", version="DRAFT")["outputs"] == [
        {"text": "v2 blocked."}
    ]
    assert apply(client, BLOCKER, "damn", version="2")["action"] == "NONE"


@pytest.mark.parametrize(
    ("identifier", "version"),
    [(local_guardrail_id("nobody"), "1"), (BLOCKER.guardrail_id, "3")],
)
def test_an_unknown_guardrail_or_version_is_not_found(
    client: Any, identifier: str, version: str
) -> None:
    code, status, message = error_of(
        client.apply_guardrail,
        guardrailIdentifier=identifier,
        guardrailVersion=version,
        source="INPUT",
        content=[{"text": {"text": "hello"}}],
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "guardrail" in message


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"guardrailVersion": "v1"}, "Value 'v1' at 'guardrailVersion' failed to satisfy"),
        ({"guardrailIdentifier": "Not-An-Id"}, "at 'guardrailIdentifier' failed to satisfy"),
        ({"source": "BOTH"}, "Member must satisfy enum value set: [INPUT, OUTPUT]"),
        ({"source": None}, "Value null at 'source' failed to satisfy"),
        ({"content": None}, "Value null at 'content' failed to satisfy"),
        ({"content": [{"text": {"text": "a"}, "image": {}}]}, "must set one of: text, image"),
        ({"content": [{"text": {"text": "a", "qualifiers": ["x"]}}]}, "enum value set"),
        ({"outputScope": "ALL"}, "[INTERVENTIONS, FULL]"),
    ],
)
def test_a_malformed_request_is_a_validation_exception(
    lenient: Any, changes: dict[str, Any], fragment: str
) -> None:
    request: dict[str, Any] = {
        "guardrailIdentifier": BLOCKER.guardrail_id,
        "guardrailVersion": "1",
        "source": "INPUT",
        "content": [{"text": {"text": "hello"}}],
    }
    request.update(changes)
    code, status, message = error_of(
        lenient.apply_guardrail,
        **{key: value for key, value in request.items() if value is not None},
    )
    assert (code, status) == ("ValidationException", 400)
    assert fragment in message
    if "Value" in fragment:
        assert message.startswith("1 validation error detected: ")


def test_apply_guardrail_is_logged_and_takes_faults(emulator: Emulator, client: Any) -> None:
    emulator.inject_fault("ThrottlingException", operation="ApplyGuardrail")
    code, status, _ = error_of(
        client.apply_guardrail,
        guardrailIdentifier=MASKER.guardrail_id,
        guardrailVersion="1",
        source="INPUT",
        content=[{"text": {"text": "hello"}}],
    )
    assert (code, status) == ("ThrottlingException", 429)
    assert [request.operation for request in emulator.requests] == ["ApplyGuardrail"]
    assert emulator.requests[0].body == {
        "source": "INPUT",
        "content": [{"text": {"text": "hello"}}],
    }


# --- Converse ---------------------------------------------------------------------------------


def test_the_echo_line_puts_text_in_the_answer_verbatim(client: Any) -> None:
    response = client.converse(
        modelId=HAIKU, messages=said("Hi!\necho:  Keep   this\n echo: and this")
    )
    assert "Keep   this\nand this" in text_of(response)
    assert "You said" not in text_of(response)


def test_a_blocked_input_is_answered_with_the_blocked_message(client: Any) -> None:
    messages = said("Tell me about Voldemort")
    plain = client.converse(modelId=HAIKU, messages=messages)
    response = client.converse(modelId=HAIKU, messages=messages, guardrailConfig=config(BLOCKER))
    assert response["stopReason"] == "guardrail_intervened"
    assert text_of(response) == BLOCKER.blocked_input_message
    assert response["usage"] == {
        "inputTokens": plain["usage"]["inputTokens"],
        "outputTokens": 0,
        "totalTokens": plain["usage"]["inputTokens"],
    }
    assert "trace" not in response


def test_a_blocked_input_is_traced_when_asked(client: Any) -> None:
    response = client.converse(
        modelId=HAIKU,
        system=[{"text": "You are helpful."}],
        messages=said("Tell me about Voldemort"),
        guardrailConfig=config(BLOCKER, trace="enabled"),
    )
    trace = response["trace"]["guardrail"]
    assert set(trace) == {"inputAssessment", "actionReason"}
    assessment = trace["inputAssessment"][BLOCKER.guardrail_id]
    assert entries(assessment) == [("word", "Voldemort", "BLOCKED")]


def test_the_system_prompt_and_earlier_user_turns_are_input_too(client: Any) -> None:
    guarded = config(BLOCKER)
    system = [{"text": "Never mention Voldemort."}]
    by_system = client.converse(
        modelId=HAIKU, system=system, messages=said("hi"), guardrailConfig=guarded
    )
    history = [
        {"role": "user", "content": [{"text": "Voldemort?"}]},
        {"role": "assistant", "content": [{"text": "Who?"}]},
        {"role": "user", "content": [{"text": "never mind"}]},
    ]
    by_history = client.converse(modelId=HAIKU, messages=history, guardrailConfig=guarded)
    assert by_system["stopReason"] == by_history["stopReason"] == "guardrail_intervened"


def test_a_blocked_answer_is_replaced_with_the_output_message(client: Any) -> None:
    messages = said(BLOCKED_WORD_LINE)
    plain = client.converse(modelId=HAIKU, messages=messages)
    response = client.converse(
        modelId=HAIKU, messages=messages, guardrailConfig=config(OUTPUT_ONLY, trace="enabled")
    )
    assert response["stopReason"] == "guardrail_intervened"
    assert text_of(response) == OUTPUT_ONLY.blocked_output_message
    assert response["usage"] == plain["usage"]  # the model did answer
    trace = response["trace"]["guardrail"]
    assert trace["modelOutput"] == [text_of(plain)]
    (assessment,) = trace["outputAssessments"][OUTPUT_ONLY.guardrail_id]
    assert entries(assessment) == [("word", "forbidden fruit", "BLOCKED")]
    assert "wordPolicy" not in trace["inputAssessment"][OUTPUT_ONLY.guardrail_id]


def test_a_masked_answer_keeps_its_stop_reason(client: Any) -> None:
    messages = said("echo: write to jane@example.org")
    plain = text_of(client.converse(modelId=HAIKU, messages=messages))
    response = client.converse(
        modelId=HAIKU, messages=messages, guardrailConfig=config(OUTPUT_ONLY, trace="enabled")
    )
    assert response["stopReason"] == "end_turn"
    assert text_of(response) == plain.replace("jane@example.org", "{EMAIL}")
    (assessment,) = response["trace"]["guardrail"]["outputAssessments"][OUTPUT_ONLY.guardrail_id]
    assert entries(assessment) == [("EMAIL", "jane@example.org", "ANONYMIZED")]


def test_masked_input_is_what_the_model_reads(client: Any) -> None:
    response = client.converse(
        modelId=HAIKU,
        messages=said("My card is 4111 1111 1111 1111"),
        guardrailConfig=config(MASKER, trace="enabled"),
    )
    assert "{CREDIT_DEBIT_CARD_NUMBER}" in text_of(response)
    assert "4111" not in text_of(response)
    assessment = response["trace"]["guardrail"]["inputAssessment"][MASKER.guardrail_id]
    assert entries(assessment) == [
        ("CREDIT_DEBIT_CARD_NUMBER", "4111 1111 1111 1111", "ANONYMIZED")
    ]


def test_guard_content_alone_is_evaluated_as_input(client: Any) -> None:
    guarded = config(BLOCKER)
    # The text block is not input here; the answer, which quotes it, is still evaluated.
    clean_guard = user(
        {"guardContent": {"text": {"text": "a harmless question"}}}, {"text": "Voldemort?"}
    )
    response = client.converse(modelId=HAIKU, messages=clean_guard, guardrailConfig=guarded)
    assert text_of(response) == BLOCKER.blocked_output_message
    flagged = user({"guardContent": {"text": {"text": "Voldemort?"}}}, {"text": "hello"})
    response = client.converse(modelId=HAIKU, messages=flagged, guardrailConfig=guarded)
    assert text_of(response) == BLOCKER.blocked_input_message
    passing = user({"guardContent": {"text": {"text": "fine"}}}, {"text": "hello"})
    response = client.converse(modelId=HAIKU, messages=passing, guardrailConfig=guarded)
    assert response["stopReason"] == "end_turn"


def test_a_passing_call_is_answered_as_without_a_guardrail(client: Any) -> None:
    messages = said("What is the capital of France?")
    plain = client.converse(modelId=HAIKU, messages=messages)
    response = client.converse(
        modelId=HAIKU, messages=messages, guardrailConfig=config(BLOCKER, trace="enabled")
    )
    assert (text_of(response), response["stopReason"]) == (text_of(plain), "end_turn")
    trace = response["trace"]["guardrail"]
    assert trace["actionReason"] == "No action."
    assert list(trace["outputAssessments"][BLOCKER.guardrail_id][0]) == ["invocationMetrics"]
    disabled = client.converse(
        modelId=HAIKU, messages=messages, guardrailConfig=config(BLOCKER, trace="disabled")
    )
    assert "trace" not in disabled


def test_converse_takes_a_guardrail_arn(client: Any) -> None:
    arn = f"arn:aws:bedrock:us-east-1:123456789012:guardrail/{BLOCKER.guardrail_id}"
    response = client.converse(
        modelId=HAIKU,
        messages=said("Voldemort"),
        guardrailConfig={"guardrailIdentifier": arn, "guardrailVersion": "1", "trace": "enabled"},
    )
    assert BLOCKER.guardrail_id in response["trace"]["guardrail"]["inputAssessment"]


@pytest.mark.parametrize(
    ("guardrail_config", "expected"),
    [
        (
            {"guardrailIdentifier": local_guardrail_id("nobody"), "guardrailVersion": "1"},
            "ResourceNotFoundException",
        ),
        (
            {"guardrailIdentifier": BLOCKER.guardrail_id, "guardrailVersion": "9"},
            "ResourceNotFoundException",
        ),
        ({"guardrailIdentifier": BLOCKER.guardrail_id}, "ValidationException"),
        ({**config(BLOCKER), "trace": "verbose"}, "ValidationException"),
    ],
)
def test_a_bad_guardrail_config_fails_the_call(
    lenient: Any, guardrail_config: dict[str, str], expected: str
) -> None:
    code, _, _ = error_of(
        lenient.converse, modelId=HAIKU, messages=said("hi"), guardrailConfig=guardrail_config
    )
    assert code == expected


# --- ConverseStream ---------------------------------------------------------------------------


def test_a_blocked_input_streams_the_blocked_message(client: Any) -> None:
    events = streamed(
        client, messages=said("Voldemort"), guardrailConfig=config(BLOCKER, trace="enabled")
    )
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart" and kinds[-3:] == [
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert deltas(events) == [BLOCKER.blocked_input_message]
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"
    metadata = events[-1]["metadata"]
    assert metadata["usage"]["outputTokens"] == 0
    assert BLOCKER.guardrail_id in metadata["trace"]["guardrail"]["inputAssessment"]


@pytest.mark.parametrize("mode", [None, "sync"])
def test_sync_streams_the_guardrails_verdict_only(client: Any, mode: str | None) -> None:
    extra = {"streamProcessingMode": mode} if mode else {}
    guarded = config(OUTPUT_ONLY, **extra)
    blocked = streamed(client, messages=said(BLOCKED_WORD_LINE), guardrailConfig=guarded)
    assert deltas(blocked) == [OUTPUT_ONLY.blocked_output_message]
    assert blocked[-2]["messageStop"]["stopReason"] == "guardrail_intervened"
    assert "trace" not in blocked[-1]["metadata"]
    messages = said("echo: mail jane@example.org")
    masked = streamed(client, messages=messages, guardrailConfig=guarded)
    whole = client.converse(modelId=HAIKU, messages=messages, guardrailConfig=config(OUTPUT_ONLY))
    assert "".join(deltas(masked)) == text_of(whole)
    assert "{EMAIL}" in text_of(whole)
    assert masked[-2]["messageStop"]["stopReason"] == "end_turn"


def test_async_streams_chunks_until_the_blocked_text_appears(client: Any) -> None:
    messages = said(BLOCKED_WORD_LINE)
    full = text_of(client.converse(modelId=HAIKU, messages=messages))
    events = streamed(
        client,
        messages=messages,
        guardrailConfig=config(OUTPUT_ONLY, trace="enabled", streamProcessingMode="async"),
    )
    pieces = deltas(events)
    seen = "".join(pieces)
    end = full.index("forbidden fruit") + len("forbidden fruit")
    # The client saw the answer up to the chunk where the blocked words end, not beyond.
    assert full.startswith(seen) and len(seen) < len(full)
    assert "forbidden fruit" in seen and "forbidden fruit" not in "".join(pieces[:-1])
    assert len(seen) - end < len(pieces[-1])
    assert len(pieces) > 2
    assert events[-2]["messageStop"]["stopReason"] == "guardrail_intervened"
    trace = events[-1]["metadata"]["trace"]["guardrail"]
    (assessment,) = trace["outputAssessments"][OUTPUT_ONLY.guardrail_id]
    assert entries(assessment) == [("word", "forbidden fruit", "BLOCKED")]


def test_async_cannot_mask(client: Any) -> None:
    # The documented trade-off: Bedrock doesn't mask sensitive information in async mode.
    events = streamed(
        client,
        messages=said("echo: mail jane@example.org"),
        guardrailConfig=config(OUTPUT_ONLY, streamProcessingMode="async"),
    )
    assert "jane@example.org" in "".join(deltas(events))
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"


def test_async_still_blocks_the_input_before_the_model(client: Any) -> None:
    events = streamed(
        client,
        messages=said("Voldemort"),
        guardrailConfig=config(BLOCKER, streamProcessingMode="async"),
    )
    assert "".join(deltas(events)) == BLOCKER.blocked_input_message


def test_an_unknown_guardrail_fails_before_the_stream_starts(lenient: Any) -> None:
    code, status, _ = error_of(
        lenient.converse_stream,
        modelId=HAIKU,
        messages=said("hi"),
        guardrailConfig={"guardrailIdentifier": BLOCKER.guardrail_id, "guardrailVersion": "7"},
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    code, _, message = error_of(
        lenient.converse_stream,
        modelId=HAIKU,
        messages=said("hi"),
        guardrailConfig={**config(BLOCKER), "streamProcessingMode": "later"},
    )
    assert code == "ValidationException" and "[sync, async]" in message
