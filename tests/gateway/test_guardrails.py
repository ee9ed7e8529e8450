"""Guardrails through the gateway, on the emulator: prompts blocked, answers blocked or masked.

Nova Micro takes a guardrail inside Converse; Claude Haiku 4.5 does not (the catalog's
`guardrails` capability), so the gateway checks its prompt and answer with ApplyGuardrail.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import Settings
from local.emulator import start_emulator
from local.guardrails import ids_json, local_guardrails
from stacks.config import KitConfig, parse_config
from tests.gateway.harness import TODAY, LocalGateway, log_lines, sse_events

NOVA = "amazon.nova-micro-v1:0"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
KEYS = {"app": "key-app", "strict": "key-strict", "free": "key-free"}
BLOCKED_IN = "Your request breaks the content policy."
BLOCKED_OUT = "The answer broke the content policy."
TEAM_LIMITS = {"throttle_rate_limit": 3, "throttle_burst_limit": 6}


def _config() -> KitConfig:
    return parse_config(
        {
            "models": {
                "enabled": [NOVA, HAIKU, TITAN],
                "cross_region": "us",
                "aliases": {"inline": NOVA, "checked": HAIKU, "embed": TITAN},
            },
            "api": {
                "teams": {
                    "app": TEAM_LIMITS,
                    "strict": {**TEAM_LIMITS, "guardrail": "standard"},
                    "free": {**TEAM_LIMITS, "guardrail": "none"},
                }
            },
            "guardrails": {
                "standard": {
                    "blocked_input_message": BLOCKED_IN,
                    "blocked_output_message": BLOCKED_OUT,
                    "blocked_words": ["project nightingale"],
                    "denied_topics": [
                        {
                            "name": "investment-advice",
                            "definition": "Advice on buying or selling securities.",
                            "examples": ["Which stocks should I buy?"],
                        }
                    ],
                    "pii": {"EMAIL": "anonymize", "US_SOCIAL_SECURITY_NUMBER": "block"},
                }
            },
            "guardrail_policy": {
                "aliases": {"inline": "standard", "checked": "standard", "embed": "standard"}
            },
        },
        source="g.toml",
        env_name="g",
        today=TODAY,
    )


class Gateway(LocalGateway):
    """The local gateway with a key per team."""

    def call(self, team: str, path: str, body: Any) -> Any:
        headers = {"authorization": f"Bearer {KEYS[team]}"}
        return self.request("POST", path, headers=headers, content=json.dumps(body).encode())

    def chat(self, model: str, text: str, team: str = "app", **extra: Any) -> Any:
        body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
        return self.call(team, "/v1/chat/completions", body)

    def operations(self) -> list[str]:
        return [r.operation for r in self.emulator.requests]


def _gateway(monkeypatch: pytest.MonkeyPatch, *, check_prompts: bool) -> Iterator[Gateway]:
    config = _config()
    guardrails = local_guardrails(config)
    if not check_prompts:
        # An emulator switch (no Bedrock one): lets an `echo:` line reach the answer's check.
        guardrails = [dataclasses.replace(g, input_enabled=False) for g in guardrails]
    with start_emulator(today=TODAY, guardrails=guardrails) as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": config.gateway_routing_json(),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEYS": json.dumps(KEYS),
                "GATEWAY_GUARDRAILS": ids_json(config, guardrails),
                "AWS_REGION": "us-east-1",
            }
        )
        yield Gateway(GatewayApp(settings), emulator)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    yield from _gateway(monkeypatch, check_prompts=True)


@pytest.fixture
def answers_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    yield from _gateway(monkeypatch, check_prompts=False)


@pytest.mark.parametrize("model", ["inline", "checked"])
@pytest.mark.parametrize(
    "prompt",
    ["Tell me about Project Nightingale", "Which stocks should I buy?", "My SSN is 123-45-6789"],
)
def test_a_blocked_prompt_is_a_400_with_the_guardrails_message_and_no_answer(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], model: str, prompt: str
) -> None:
    capsys.readouterr()
    response = gateway.chat(model, prompt)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "content_policy_violation" and error["param"] == "messages"
    assert BLOCKED_IN in error["message"]
    (line,) = log_lines(capsys)
    assert (line["guardrail"], line["guardrail_action"]) == ("standard", "input_blocked")
    # The log says what the guardrail did, never what it matched.
    assert prompt not in json.dumps(line) and "123-45-6789" not in json.dumps(line)
    if model == "checked":
        # A model without inline guardrails is never called with a blocked prompt.
        assert gateway.operations() == ["ApplyGuardrail"]


@pytest.mark.parametrize("model", ["inline", "checked"])
def test_a_blocked_answer_is_a_content_filter_finish_with_the_output_message(
    answers_only: Gateway, capsys: pytest.CaptureFixture[str], model: str
) -> None:
    capsys.readouterr()
    response = answers_only.chat(model, "echo: the plan is Project Nightingale")
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "content_filter"
    assert choice["message"]["content"] == BLOCKED_OUT
    (line,) = log_lines(capsys)
    assert line["guardrail_action"] == "output_blocked"


@pytest.mark.parametrize("model", ["inline", "checked"])
def test_an_email_in_the_answer_is_masked(answers_only: Gateway, model: str) -> None:
    response = answers_only.chat(model, "echo: write to ana@example.com today")
    assert response.status_code == 200, response.text
    content = response.json()["choices"][0]["message"]["content"]
    assert "{EMAIL}" in content and "ana@example.com" not in content


def test_a_streamed_prompt_is_checked_before_the_stream_starts(gateway: Gateway) -> None:
    response = gateway.chat("inline", "Tell me about Project Nightingale", stream=True)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_policy_violation"
    assert "ConverseStream" not in gateway.operations()


def test_a_streamed_answer_the_guardrail_stops_ends_with_content_filter(
    answers_only: Gateway,
) -> None:
    response = answers_only.chat(
        "inline", "echo: words before the secret: Project Nightingale", stream=True
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    reasons = [e["choices"][0]["finish_reason"] for e in events[:-1] if e["choices"]]
    assert reasons[-1] == "content_filter"
    (stream,) = [r for r in answers_only.emulator.requests if r.operation == "ConverseStream"]
    # Asynchronous: the stream went out while the guardrail checked it (README's trade-off).
    assert stream.body["guardrailConfig"]["streamProcessingMode"] == "async"  # type: ignore[index]


def test_embeddings_input_is_refused_or_masked_before_the_model(gateway: Gateway) -> None:
    refused = gateway.call("app", "/v1/embeddings", {"model": "embed", "input": "SSN 123-45-6789"})
    assert refused.status_code == 400
    assert "InvokeModel" not in gateway.operations()
    gateway.emulator.clear()
    masked = gateway.call(
        "app", "/v1/embeddings", {"model": "embed", "input": ["mail ana@example.com", "plain"]}
    )
    assert masked.status_code == 200, masked.text
    embedded = [r.body for r in gateway.emulator.requests if r.operation == "InvokeModel"]
    assert [b["inputText"] for b in embedded] == ["mail {EMAIL}", "plain"]  # type: ignore[index]


def test_a_teams_guardrail_wins_over_the_alias_and_none_opts_out(gateway: Gateway) -> None:
    strict = gateway.chat(NOVA, "Tell me about Project Nightingale", team="strict")
    assert strict.status_code == 400
    free = gateway.chat("inline", "Tell me about Project Nightingale", team="free")
    assert free.status_code == 200


def test_calling_a_guarded_aliases_model_by_its_id_is_guarded_too(gateway: Gateway) -> None:
    # "inline" serves Nova Micro under the guardrail: its id (or profile id) is no way around.
    by_id = gateway.chat(NOVA, "Tell me about Project Nightingale")
    assert by_id.status_code == 400
    assert by_id.json()["error"]["code"] == "content_policy_violation"


def test_the_native_passthrough_is_refused_where_a_guardrail_applies(gateway: Gateway) -> None:
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    refused = gateway.call("strict", f"/v1/models/{NOVA}/invoke", body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "guardrail_required"


def test_a_structured_answer_is_checked_too(answers_only: Gateway) -> None:
    # Structured output arrives as a tool's input, which Bedrock's inline check does not read.
    response = answers_only.chat(
        "checked",
        "echo: Project Nightingale",
        response_format={"type": "json_object"},
    )
    assert response.status_code == 200, response.text
    assert "ApplyGuardrail" in answers_only.operations()


def test_a_masked_prompt_never_reaches_a_model_that_takes_no_guardrail(
    gateway: Gateway,
) -> None:
    response = gateway.chat("checked", "Reply to ana@example.com please")
    assert response.status_code == 200, response.text
    (converse,) = [r for r in gateway.emulator.requests if r.operation == "Converse"]
    sent = json.dumps(converse.body)
    assert "ana@example.com" not in sent and "{EMAIL}" in sent


def test_an_assistant_turn_is_checked_like_the_others(gateway: Gateway) -> None:
    body = {
        "model": "checked",
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "About Project Nightingale:"},
            {"role": "user", "content": "go on"},
        ],
    }
    response = gateway.call("app", "/v1/chat/completions", body)
    assert response.status_code == 400
    assert "Converse" not in gateway.operations()


def test_a_failing_answer_check_is_not_retried_on_another_model_and_the_call_is_metered(
    answers_only: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    # The prompt check passes, the answer check is throttled.
    answers_only.emulator.inject_fault("ThrottlingException", operation="ApplyGuardrail", after=1)
    response = answers_only.chat("checked", "Hello")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "guardrail_unavailable"
    assert answers_only.operations().count("Converse") == 1
    (line,) = log_lines(capsys)
    assert line["input_tokens"] > 0 and line["output_tokens"] > 0
