"""End to end on loopback: `make run`'s sample knowledge base, searched and cited via the SDK."""

from __future__ import annotations

import httpx
import pytest
from openai import OpenAI

from tests.e2e.conftest import API_KEY, LocalGateway

pytestmark = pytest.mark.e2e


def test_openai_sdk_gets_a_grounded_answer_with_citations(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    completion = client.chat.completions.create(
        model="balanced",
        messages=[{"role": "user", "content": "How do I file travel expenses?"}],
        extra_body={"knowledge_base": {"name": "handbook", "top_k": 3}},
    )
    extra = completion.model_extra or {}
    citations = extra["citations"]
    assert len(citations) == 3
    assert citations[0]["source"]["uri"].startswith("s3://") and citations[0]["chunk_id"]
    assert "[1]" in (completion.choices[0].message.content or "")
    assert completion.usage is not None
    assert (completion.usage.model_extra or {})["retrieval_tokens"] > 0


def test_openai_sdk_streams_a_grounded_answer_with_citations_first(
    local_gateway: LocalGateway,
) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    stream = client.chat.completions.create(
        model="balanced",
        messages=[{"role": "user", "content": "How many days of leave do I get?"}],
        extra_body={"knowledge_base": "handbook"},
        stream=True,
    )
    chunks = list(stream)
    assert (chunks[0].model_extra or {})["citations"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "[1]" in text


def test_the_local_knowledge_base_is_listed_and_searchable(local_gateway: LocalGateway) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    listed = httpx.get(f"{local_gateway.base_url}/knowledge-bases", headers=headers).json()
    assert [kb["id"] for kb in listed["data"]] == ["handbook"]
    found = httpx.post(
        f"{local_gateway.base_url}/knowledge-bases/handbook/retrieve",
        headers=headers,
        json={"query": "password rules", "top_k": 2},
    ).json()
    assert len(found["data"]) == 2
    assert "security" in found["data"][0]["source"]["uri"]
