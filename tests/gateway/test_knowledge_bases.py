"""Knowledge bases through the gateway: listing, retrieval, grounded chat, teams and failures.

A gateway configured from a kit config (as `make run` does) on the emulator, whose knowledge
bases are indexed from folders by the same ingestion code `make ingest` runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import Settings
from local.emulator import start_emulator
from local.knowledge_bases import ids_json, ingest_all, local_knowledge_bases
from stacks.config import KitConfig, parse_config
from tests.gateway.harness import TODAY, LocalGateway, log_lines, sse_events

ROOT = Path(__file__).resolve().parents[2]
NOVA = "amazon.nova-micro-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
HANDBOOK = ROOT / "local" / "kb" / "handbook"
KEYS = {"everyone": "key-everyone", "support": "key-support", "broke": "key-broke"}


def _config(tmp: Path) -> KitConfig:
    (tmp / "empty").mkdir()
    return parse_config(
        {
            "models": {"enabled": [NOVA, NOVA_LITE]},
            "api": {
                "throttle_rate_limit": 30,
                "throttle_burst_limit": 60,
                "teams": {
                    "everyone": {"throttle_rate_limit": 10, "throttle_burst_limit": 20},
                    "support": {
                        "throttle_rate_limit": 10,
                        "throttle_burst_limit": 20,
                        "knowledge_bases": ["handbook"],
                    },
                    "broke": {
                        "throttle_rate_limit": 10,
                        "throttle_burst_limit": 20,
                        "monthly_token_limit": 1,
                    },
                },
            },
            "knowledge_bases": {
                "handbook": {"local_folder": str(HANDBOOK)},
                "empty": {"local_folder": str(tmp / "empty")},
            },
        },
        source="kb.toml",
        env_name="kb",
        today=TODAY,
    )


class KbGateway(LocalGateway):
    """The local gateway, with one key per team."""

    def as_team(self, team: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"authorization": f"Bearer {KEYS[team]}"}
        content = json.dumps(body).encode() if body is not None else None
        return self.request(method, path, headers=headers, content=content)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[KbGateway]:
    config = _config(tmp_path)
    knowledge_bases = local_knowledge_bases(config)
    with start_emulator(today=TODAY, knowledge_bases=knowledge_bases) as emulator:
        for service in ("BEDROCK_RUNTIME", "BEDROCK_AGENT_RUNTIME"):
            monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", emulator.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
        # The handbook is indexed; "empty" never was (its folder has nothing anyway).
        ingest_all(emulator.url, [kb for kb in knowledge_bases if kb.name == "handbook"])
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": config.gateway_routing_json(),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEYS": json.dumps(KEYS),
                "GATEWAY_KNOWLEDGE_BASE_IDS": ids_json(knowledge_bases),
                "AWS_REGION": "us-east-1",
            }
        )
        yield KbGateway(GatewayApp(settings), emulator)


def _retrieve(gateway: KbGateway, body: dict[str, Any], team: str = "everyone") -> Any:
    return gateway.as_team(team, "POST", "/v1/knowledge-bases/handbook/retrieve", body)


def _chat(query: str, **extra: Any) -> dict[str, Any]:
    return {"model": NOVA, "messages": [{"role": "user", "content": query}], **extra}


def test_listing_shows_the_knowledge_bases_the_callers_team_may_use(gateway: KbGateway) -> None:
    everyone = gateway.as_team("everyone", "GET", "/v1/knowledge-bases").json()
    assert [kb["id"] for kb in everyone["data"]] == ["handbook", "empty"]
    assert everyone["data"][0]["embedding_model"] == "amazon.titan-embed-text-v2:0"
    support = gateway.as_team("support", "GET", "/v1/knowledge-bases").json()
    assert [kb["id"] for kb in support["data"]] == ["handbook"]


def test_retrieve_ranks_the_matching_document_first_with_its_source_and_chunk(
    gateway: KbGateway,
) -> None:
    response = _retrieve(gateway, {"query": "How do I file travel expenses and receipts?"})
    assert response.status_code == 200, response.text
    body = response.json()
    passages = body["data"]
    assert 1 <= len(passages) <= 5  # Bedrock's default top-k
    first = passages[0]
    assert first["source"]["type"] == "S3"
    assert "travel" in first["source"]["uri"]
    assert first["source"]["uri"].startswith("s3://")
    assert first["chunk_id"]
    assert [p["index"] for p in passages] == list(range(1, len(passages) + 1))
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)
    # The query's embedding is metered (estimated: Retrieve reports no usage) and priced.
    assert body["usage"]["prompt_tokens"] > 0 and body["usage"]["estimated"] is True
    assert Decimal(response.headers["x-gateway-cost-usd"]) > 0
    # Asked twice, the same ranking: nothing in it depends on time or order of arrival.
    again = _retrieve(gateway, {"query": "How do I file travel expenses and receipts?"}).json()
    assert [p["chunk_id"] for p in again["data"]] == [p["chunk_id"] for p in passages]


def test_retrieve_honours_top_k_and_metadata_filters(gateway: KbGateway) -> None:
    one = _retrieve(gateway, {"query": "security", "top_k": 1}).json()
    assert len(one["data"]) == 1
    everything = _retrieve(gateway, {"query": "policy", "top_k": 100}).json()["data"]
    key, value = next(
        (k, v)
        for p in everything
        for k, v in p["metadata"].items()
        if not k.startswith("x-amz-bedrock-kb-") and isinstance(v, str)
    )
    filtered = _retrieve(
        gateway,
        {"query": "policy", "top_k": 100, "filter": {"equals": {"key": key, "value": value}}},
    ).json()["data"]
    assert filtered and len(filtered) < len(everything)
    assert all(p["metadata"][key] == value for p in filtered)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x", "top_k": 0}, "top_k"),
        ({"query": "x", "top_k": 101}, "top_k"),
        ({"query": "x", "filter": {"andAll": [{"equals": {"key": "a", "value": 1}}]}}, None),
        ({"query": "x", "filter": {"near": {"key": "a", "value": 1}}}, "filter"),
        ({"query": "x", "search_type": "fuzzy"}, "search_type"),
        ({"query": "x", "k": 3}, "k"),
    ],
)
def test_bad_retrieve_requests_are_400s_naming_the_field(
    gateway: KbGateway, body: dict[str, Any], param: str | None
) -> None:
    response = _retrieve(gateway, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == (param or "filter.andAll")
    assert not [r for r in gateway.emulator.requests if r.operation == "Retrieve"]


def test_unknown_and_forbidden_knowledge_bases_are_404_and_403(gateway: KbGateway) -> None:
    missing = gateway.as_team(
        "everyone", "POST", "/v1/knowledge-bases/nope/retrieve", {"query": "x"}
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "knowledge_base_not_found"
    forbidden = gateway.as_team(
        "support", "POST", "/v1/knowledge-bases/empty/retrieve", {"query": "x"}
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "knowledge_base_not_allowed"
    grounded = gateway.as_team(
        "support", "POST", "/v1/chat/completions", _chat("x", knowledge_base="empty")
    )
    assert grounded.status_code == 403
    assert "empty" in grounded.json()["error"]["message"]


def test_a_knowledge_base_with_nothing_indexed_says_so_on_both_routes(gateway: KbGateway) -> None:
    retrieve = gateway.as_team(
        "everyone", "POST", "/v1/knowledge-bases/empty/retrieve", {"query": "x"}
    )
    assert retrieve.status_code == 409
    error = retrieve.json()["error"]
    assert error["code"] == "knowledge_base_empty"
    assert "make ingest KB=empty" in error["message"]
    chat = gateway.as_team(
        "everyone", "POST", "/v1/chat/completions", _chat("x", knowledge_base="empty")
    )
    assert chat.status_code == 409
    # No model was called for an answer that could not be grounded.
    assert not [r for r in gateway.emulator.requests if r.operation == "Converse"]


def test_grounded_chat_answers_from_the_passages_and_returns_their_citations(
    gateway: KbGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = gateway.as_team(
        "everyone",
        "POST",
        "/v1/chat/completions",
        _chat("How do I file travel expenses?", knowledge_base={"name": "handbook", "top_k": 2}),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    citations = body["citations"]
    assert len(citations) == 2 and citations[0]["index"] == 1
    assert "travel" in citations[0]["source"]["uri"] and citations[0]["chunk_id"]
    assert body["knowledge_base"] == "handbook"
    assert "[1]" in body["choices"][0]["message"]["content"]
    # The model read the passages in the user turn, numbered as the citations are.
    (converse,) = [r for r in gateway.emulator.requests if r.operation == "Converse"]
    prompt = json.dumps(converse.body)
    assert '<passage index=\\"1\\"' in prompt and citations[0]["text"][:40] in prompt.replace(
        "\\n", "\n"
    )
    usage = body["usage"]
    assert usage["retrieval_tokens"] > 0
    assert usage["total_tokens"] == (
        usage["prompt_tokens"] + usage["completion_tokens"] + usage["retrieval_tokens"]
    )
    # Metered once: the model's tokens plus the query's embedding, on one log line.
    (line,) = log_lines(capsys)
    assert line["input_tokens"] == usage["prompt_tokens"] + usage["retrieval_tokens"]


def test_grounded_chat_streams_citations_first_and_counts_the_query_in_usage(
    gateway: KbGateway,
) -> None:
    response = gateway.as_team(
        "everyone",
        "POST",
        "/v1/chat/completions",
        _chat(
            "What must my password look like?",
            knowledge_base="handbook",
            stream=True,
            stream_options={"include_usage": True},
        ),
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    first = events[0]
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert first["citations"] and first["knowledge_base"] == "handbook"
    text = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e["choices"]
    )
    assert "[1]" in text
    (usage,) = [e["usage"] for e in events[:-1] if e.get("usage")]
    assert usage["retrieval_tokens"] > 0


@pytest.mark.parametrize(
    ("extension", "param"),
    [
        (7, "knowledge_base"),
        ({"top_k": 2}, "knowledge_base.name"),
        ({"name": "handbook", "top_k": 0}, "knowledge_base.top_k"),
        ({"name": "handbook", "rerank": True}, "knowledge_base.rerank"),
        ({"name": "handbook", "filter": []}, "knowledge_base.filter"),
    ],
)
def test_bad_knowledge_base_fields_in_chat_are_400s_naming_them(
    gateway: KbGateway, extension: object, param: str
) -> None:
    response = gateway.as_team(
        "everyone", "POST", "/v1/chat/completions", _chat("x", knowledge_base=extension)
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_throttled_retrieval_is_a_429_naming_the_knowledge_base(gateway: KbGateway) -> None:
    gateway.emulator.inject_fault("ThrottlingException", operation="Retrieve")
    response = _retrieve(gateway, {"query": "leave"})
    assert response.status_code == 429
    assert "knowledge base 'handbook'" in response.json()["error"]["message"]
    assert response.headers["retry-after"]


def test_a_spent_budget_stops_the_search_before_bedrock_is_called(gateway: KbGateway) -> None:
    first = gateway.as_team(
        "broke", "POST", "/v1/knowledge-bases/handbook/retrieve", {"query": "leave"}
    )
    assert first.status_code == 200  # admitted under the limit; its tokens spend it
    second = gateway.as_team(
        "broke", "POST", "/v1/knowledge-bases/handbook/retrieve", {"query": "leave"}
    )
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "budget_exceeded"
    retrieves = [r for r in gateway.emulator.requests if r.operation == "Retrieve"]
    assert len(retrieves) == 1


def test_a_knowledge_base_bedrock_does_not_know_is_the_deployments_fault(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    with start_emulator(today=TODAY) as emulator:  # it serves no knowledge base at all
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", emulator.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": config.gateway_routing_json(),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEYS": json.dumps(KEYS),
                "GATEWAY_KNOWLEDGE_BASE_IDS": json.dumps(
                    {"handbook": "ABCDEFGHIJ", "empty": "KLMNOPQRST"}
                ),
                "AWS_REGION": "us-east-1",
            }
        )
        gateway = KbGateway(GatewayApp(settings), emulator)
        response = _retrieve(gateway, {"query": "leave"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "knowledge_base_unavailable"


def test_the_gateway_refuses_to_start_without_an_id_for_each_knowledge_base(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path)
    with pytest.raises(ValueError, match="knowledge base 'empty' has no valid id"):
        Settings.from_env(
            {
                "GATEWAY_ROUTING": config.gateway_routing_json(),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEYS": json.dumps(KEYS),
                "GATEWAY_KNOWLEDGE_BASE_IDS": json.dumps({"handbook": "ABCDEFGHIJ"}),
            }
        )


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Every log line written so far (request and model-call lines)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_grounded_answers_on_the_responses_api_carry_their_citations(gateway: KbGateway) -> None:
    body = {"model": NOVA, "input": "How do I file travel expenses?", "knowledge_base": "handbook"}
    answer = gateway.as_team("everyone", "POST", "/v1/responses", body).json()
    assert answer["citations"] and answer["knowledge_base"] == "handbook"
    assert "[1]" in answer["output"][0]["content"][0]["text"]
    assert answer["usage"]["retrieval_tokens"] > 0
    streamed = gateway.as_team("everyone", "POST", "/v1/responses", {**body, "stream": True})
    events = [
        json.loads(line.removeprefix("data: "))
        for line in streamed.text.splitlines()
        if line.startswith("data: ")
    ]
    (completed,) = [e["response"] for e in events if e["type"] == "response.completed"]
    assert completed["citations"] == answer["citations"]


def test_compare_searches_once_and_every_model_answers_from_the_same_passages(
    gateway: KbGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    body = {
        "models": [NOVA, NOVA_LITE],
        "messages": [{"role": "user", "content": "How many days of leave do I get?"}],
        "knowledge_base": "handbook",
    }
    response = gateway.as_team("everyone", "POST", "/v1/compare", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["citations"] and answer["knowledge_base"] == "handbook"
    assert all("[1]" in result["content"] for result in answer["results"])
    assert len([r for r in gateway.emulator.requests if r.operation == "Retrieve"]) == 1
    lines = _lines(capsys)
    # The search's own line puts its embedding on the embedding model's metrics; the request's
    # line totals everything once (what the team is charged).
    (search,) = [line for line in lines if line["request_id"].endswith("-retrieve")]
    assert search["model"] == "amazon.titan-embed-text-v2:0" and search["input_tokens"] > 0
    (request,) = [line for line in lines if line["type"] == "gateway.request"]
    calls = [line for line in lines if line["type"] == "gateway.model_call"]
    assert request["input_tokens"] == sum(line["input_tokens"] for line in calls)


def test_the_retrieve_routes_line_names_the_embedding_model_it_paid_for(
    gateway: KbGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = _retrieve(gateway, {"query": "leave"})
    assert response.headers["x-gateway-model"] == "amazon.titan-embed-text-v2:0"
    (line,) = log_lines(capsys)
    assert line["model"] == "amazon.titan-embed-text-v2:0"
    assert line["input_tokens"] == response.json()["usage"]["prompt_tokens"]


def test_a_grounded_stream_refused_for_its_stream_limit_does_not_search_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lambdas.gateway.stream_slots import MemoryStreamSlots

    config = _config(tmp_path)
    knowledge_bases = local_knowledge_bases(config)
    with start_emulator(today=TODAY, knowledge_bases=knowledge_bases) as emulator:
        for service in ("BEDROCK_RUNTIME", "BEDROCK_AGENT_RUNTIME"):
            monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", emulator.url)
        ingest_all(emulator.url, knowledge_bases[:1])
        document = json.loads(config.gateway_routing_json())
        document["teams"]["everyone"]["max_concurrent_streams"] = 1
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": json.dumps(document),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEYS": json.dumps(KEYS),
                "GATEWAY_KNOWLEDGE_BASE_IDS": ids_json(knowledge_bases),
            }
        )
        app = GatewayApp(settings)
        slots = app.gateway.stream_slots
        assert isinstance(slots, MemoryStreamSlots)
        # The only slot, taken by a stream in flight.
        assert slots.acquire("everyone", "someone-else", 1, time.time())
        gateway = KbGateway(app, emulator)
        body = _chat("leave", knowledge_base="handbook", stream=True)
        response = gateway.as_team("everyone", "POST", "/v1/chat/completions", body)
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "too_many_streams"
        assert not [r for r in emulator.requests if r.operation == "Retrieve"]


def test_a_failing_store_is_a_502_that_does_not_repeat_bedrocks_words(
    gateway: KbGateway,
) -> None:
    gateway.emulator.inject_fault(
        "DependencyFailedException",
        operation="Retrieve",
        status=424,
        message="arn:aws:iam::123456789012:role/kb-role is not authorized to query the index",
    )
    response = _retrieve(gateway, {"query": "leave"})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "knowledge_base_unavailable"
    assert "123456789012" not in error["message"]


def test_a_long_message_searches_with_its_end_and_an_explicit_query_is_the_question(
    gateway: KbGateway,
) -> None:
    long = "filler " * 4000 + "How do I file travel expenses?"
    response = gateway.as_team(
        "everyone", "POST", "/v1/chat/completions", _chat(long, knowledge_base="handbook")
    )
    assert response.status_code == 200, response.text
    (retrieve,) = [r for r in gateway.emulator.requests if r.operation == "Retrieve"]
    query = retrieve.body["retrievalQuery"]["text"]  # type: ignore[index]
    assert len(query) == 20_000 and query.endswith("travel expenses?")
    only_system = {
        "model": NOVA,
        "messages": [{"role": "system", "content": "Answer briefly."}],
        "knowledge_base": {"name": "handbook", "query": "What must my password look like?"},
    }
    gateway.emulator.clear()
    answer = gateway.as_team("everyone", "POST", "/v1/chat/completions", only_system)
    assert answer.status_code == 200, answer.text
    (converse,) = [r for r in gateway.emulator.requests if r.operation == "Converse"]
    assert "What must my password look like?" in json.dumps(converse.body)


@pytest.mark.parametrize(
    ("filter_", "param"),
    [
        ({"in": {"key": "year", "value": 2024}}, "filter.in.value"),
        ({"greaterThan": {"key": "year", "value": "2024"}}, "filter.greaterThan.value"),
        ({"equals": {"key": "year", "value": {"a": 1}}}, "filter.equals.value"),
        ({"startsWith": {"key": "department", "value": 7}}, "filter.startsWith.value"),
    ],
)
def test_a_filter_value_of_the_wrong_kind_is_refused_before_bedrock(
    gateway: KbGateway, filter_: dict[str, Any], param: str
) -> None:
    response = _retrieve(gateway, {"query": "leave", "filter": filter_})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert not [r for r in gateway.emulator.requests if r.operation == "Retrieve"]
