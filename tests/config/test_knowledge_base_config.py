"""[knowledge_bases.NAME]: each kind's and store's keys, the embedding model, the teams' lists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config.knowledge_bases import VectorStore
from tests.config.helpers import MINIMAL, parse, problems

DOMAIN = {
    "store": "opensearch_domain",
    "domain_arn": "arn:aws:es:us-east-1:123456789012:domain/catalog",
    "domain_endpoint": "https://search-catalog.us-east-1.es.amazonaws.com",
    "index_name": "products",
}
KENDRA = "arn:aws:kendra:us-east-1:123456789012:index/0123abcd-4567-89ab-cdef-0123456789ab"


def kb(name: str = "docs", **table: Any) -> dict[str, Any]:
    return {**MINIMAL, "knowledge_bases": {name: table}}


def test_a_bare_table_is_an_s3_vectors_knowledge_base_on_titan_v2_at_1024() -> None:
    config = parse(kb())
    (docs,) = config.knowledge_bases
    assert docs.store is VectorStore.S3_VECTORS
    spec = docs.embedding_spec(config.embedding_models())
    assert (spec.model_id, docs.vector_dimensions(spec)) == ("amazon.titan-embed-text-v2:0", 1024)
    assert (docs.chunk_max_tokens, docs.chunk_overlap_percent) == (300, 20)


def test_an_environment_without_the_table_has_no_knowledge_bases() -> None:
    config = parse(MINIMAL)
    assert config.knowledge_bases == ()
    assert "knowledge_bases" not in json.loads(config.gateway_routing_json())


@pytest.mark.parametrize(
    ("table", "line"),
    [
        (
            {"embedding_model": "amazon.nova-micro-v1:0"},
            "knowledge_bases.docs.embedding_model: 'amazon.nova-micro-v1:0' is not an embedding "
            "model; use one of amazon.titan-embed-text-v2:0, cohere.embed-english-v3, "
            "cohere.embed-multilingual-v3",
        ),
        (
            {"dimensions": 768},
            "knowledge_bases.docs.dimensions: amazon.titan-embed-text-v2:0 embeds at 1024, 512, "
            "256 dimensions, not 768",
        ),
        (
            {"domain_arn": DOMAIN["domain_arn"]},
            "knowledge_bases.docs.domain_arn: only with store 'opensearch_domain'",
        ),
        (
            {"store": "opensearch_domain", "domain_arn": DOMAIN["domain_arn"]},
            "knowledge_bases.docs.domain_endpoint: required with store 'opensearch_domain'",
        ),
        (
            {"store": "aurora", "cluster_arn": "arn:aws:rds:us-east-1:123456789012:cluster:c"},
            "knowledge_bases.docs.secret_arn: required with store 'aurora'",
        ),
        (
            {"kind": "kendra", "kendra_index_arn": KENDRA, "embedding_model": "x"},
            "knowledge_bases.docs.embedding_model: only for knowledge bases of kind 'vector'",
        ),
        (
            {"kendra_index_arn": KENDRA},
            "knowledge_bases.docs.kendra_index_arn: only for knowledge bases of kind 'kendra'",
        ),
        (
            {"chunking": "none", "chunk_max_tokens": 500},
            "knowledge_bases.docs.chunk_max_tokens: only with chunking 'fixed_size'",
        ),
        (
            {"chunk_overlap_percent": 0},
            "knowledge_bases.docs.chunk_overlap_percent: must be at least 1, got 0",
        ),
        (
            {"embedding_model": "cohere.embed-english-v3", "chunk_max_tokens": 1000},
            "knowledge_bases.docs.chunk_max_tokens: cohere.embed-english-v3 embeds at most 512 "
            "tokens at once, so chunks of 1000 would be cut",
        ),
        (
            {"chunking": "none", "chunk_overlap_percent": 10},
            "knowledge_bases.docs.chunk_overlap_percent: only with chunking 'fixed_size'",
        ),
        ({"store": "pinecone"}, "knowledge_bases.docs.store: 'pinecone' is not one of"),
        ({"sauce": 1}, "knowledge_bases.docs.sauce: unknown key"),
    ],
)
def test_a_key_that_does_not_fit_is_one_line_naming_it(table: dict[str, Any], line: str) -> None:
    (found,) = problems(kb(**table))
    assert found.startswith(line), found


@pytest.mark.parametrize("name", ["Docs", "two--dashes", "-docs", "a" * 33])
def test_names_must_also_be_valid_bedrock_resource_names(name: str) -> None:
    (found,) = problems(kb(name))
    assert found.startswith("knowledge_bases"), found


def test_every_store_and_kind_is_accepted_with_its_keys() -> None:
    config = parse(
        {
            **MINIMAL,
            "knowledge_bases": {
                "a": {"store": "opensearch_serverless", "standby_replicas": True},
                "b": DOMAIN,
                "c": {
                    "store": "aurora",
                    "cluster_arn": "arn:aws:rds:us-east-1:123456789012:cluster:orders",
                    "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:kb-AbC",
                    "database": "kb",
                    "table": "bedrock_kb.orders",
                    "primary_key_field": "id",
                    "vector_field": "embedding",
                    "text_field": "chunks",
                    "metadata_field": "metadata",
                },
                "d": {"kind": "kendra", "kendra_index_arn": KENDRA},
                "e": {"embedding_model": "cohere.embed-english-v3", "chunking": "none"},
            },
        }
    )
    assert [kb.name for kb in config.knowledge_bases] == ["a", "b", "c", "d", "e"]
    assert config.knowledge_bases[1].bedrock_field_mapping == (
        "bedrock-knowledge-base-default-vector",
        "AMAZON_BEDROCK_TEXT_CHUNK",
        "AMAZON_BEDROCK_METADATA",
    )


def test_a_teams_list_may_name_only_this_environments_knowledge_bases() -> None:
    data = {**kb(), "api": {"teams": {"search": {"knowledge_bases": ["wiki"]}}}}
    (found,) = problems(data)
    assert found == (
        "api.teams.search.knowledge_bases: 'wiki' is not a [knowledge_bases] table of this "
        "environment"
    )
    allowed = parse({**kb(), "api": {"teams": {"search": {"knowledge_bases": ["docs"]}}}})
    assert allowed.team_policies().policies["search"].knowledge_bases == frozenset({"docs"})
