"""[guardrails.NAME] and [guardrail_policy]: policies as Bedrock takes them, rules naming them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.config.helpers import MINIMAL, parse, problems

NOVA = "amazon.nova-micro-v1:0"


def guardrail(name: str = "strict", **table: Any) -> dict[str, Any]:
    return {**MINIMAL, "guardrails": {name: table or {"blocked_words": ["secret"]}}}


def test_a_guardrail_applies_through_the_default_an_alias_or_a_team() -> None:
    config = parse(
        {
            "models": {"enabled": [NOVA], "aliases": {"chat": NOVA}},
            "guardrails": {
                "strict": {"profanity": True},
                "lenient": {"pii": {"EMAIL": "anonymize"}},
            },
            "guardrail_policy": {"default": "strict", "aliases": {"chat": "lenient"}},
            "api": {"teams": {"research": {"guardrail": "none"}}},
        }
    )
    document = json.loads(config.gateway_routing_json())
    assert document["guardrails"] == {
        "names": ["strict", "lenient"],
        "default": "strict",
        "aliases": {"chat": "lenient"},
        # The alias's guardrail also covers its model called by id.
        "models": {NOVA: "lenient"},
    }
    assert document["teams"]["research"]["guardrail"] == "none"


def test_content_filters_take_one_strength_or_one_per_direction() -> None:
    config = parse(
        guardrail(content_filters={"hate": "HIGH", "violence": {"input": "LOW", "output": "HIGH"}})
    )
    strengths = config.guardrails[0].strengths()
    assert [(k.value, v.input.value, v.output.value) for k, v in strengths.items()] == [
        ("hate", "HIGH", "HIGH"),
        ("violence", "LOW", "HIGH"),
    ]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (
            guardrail(description="nothing else"),
            "guardrails.strict: a guardrail needs at least one policy",
        ),
        (
            guardrail(pii={"SOCIAL": "block"}),
            "guardrails.strict.pii.SOCIAL: is not a PII entity type Bedrock detects",
        ),
        (guardrail(pii={"EMAIL": "hide"}), "guardrails.strict.pii.EMAIL: 'hide' is not one of"),
        (
            guardrail(content_filters={"spam": "HIGH"}),
            "guardrails.strict.content_filters.spam",
        ),
        (
            guardrail(denied_topics=[{"name": "x", "definition": "d" * 201}]),
            "guardrails.strict.denied_topics.definition: must be at most 200",
        ),
        (guardrail(grounding_threshold=1.0), "guardrails.strict.grounding_threshold: must be at"),
        (
            {**guardrail(), "guardrail_policy": {"default": "lax"}},
            "guardrail_policy.default: 'lax'",
        ),
        (
            {**guardrail(), "guardrail_policy": {"aliases": {"nope": "strict"}}},
            "guardrail_policy.aliases.nope: is not an alias of [models.aliases]",
        ),
        (
            {**guardrail(), "api": {"teams": {"a": {"guardrail": "lax"}}}},
            "api.teams.a.guardrail: 'lax' is not a [guardrails] table (strict), nor 'none'",
        ),
        ({**MINIMAL, "guardrails": {"Strict": {"profanity": True}}}, "guardrails"),
    ],
)
def test_a_guardrail_problem_is_one_line_naming_its_key(data: dict[str, Any], line: str) -> None:
    found = problems(data)
    assert any(problem.startswith(line) for problem in found), found


def test_one_model_answers_under_one_guardrail_whichever_alias_serves_it() -> None:
    data = {
        "models": {"enabled": [NOVA], "aliases": {"a": NOVA, "b": NOVA}},
        "guardrails": {"strict": {"profanity": True}, "lenient": {"pii": {"EMAIL": "anonymize"}}},
        "guardrail_policy": {"aliases": {"a": "strict", "b": "lenient"}},
    }
    (found,) = problems(data)
    assert found.startswith("guardrail_policy.aliases.b: amazon.nova-micro-v1:0 is also served")


@pytest.mark.parametrize(
    ("table", "line"),
    [
        (
            {"regexes": [{"name": "id", "pattern": "("}]},
            "guardrails.strict.regexes.id: not a valid",
        ),
        (
            {"regexes": [{"name": "a", "pattern": "x"}, {"name": "a", "pattern": "y"}]},
            "guardrails.strict.regexes: 'a' is named twice",
        ),
        (
            {"denied_topics": [{"name": "t", "definition": "d"}, {"name": "t", "definition": "e"}]},
            "guardrails.strict.denied_topics: 't' is named twice",
        ),
        ({"blocked_words": ["  "]}, "guardrails.strict.blocked_words: a word of spaces only"),
    ],
)
def test_what_aws_would_refuse_at_deploy_is_refused_at_synthesis(
    table: dict[str, Any], line: str
) -> None:
    (found,) = problems(guardrail(**table))
    assert found.startswith(line), found
