"""Retrieve, StartIngestionJob and GetIngestionJob on the wire: Bedrock's checks, then answers.

Checks follow botocore's service models for bedrock-agent-runtime and bedrock-agent, in the
service framework's wording (errors.constraint) where a modelled constraint fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .content import structure
from .errors import BedrockError, constraint, serialization, validation
from .kb_filters import check_filter, matches, redacted_constraint
from .kb_search import Chunk
from .kb_store import KnowledgeBaseStore
from .knowledge_bases import LocalKnowledgeBase
from .wire import Reply, StoreRequest, json_reply

# Retrieve's KnowledgeBaseIdentifier: an id or a knowledge base ARN.
_RUNTIME_ID = (
    r"^[0-9a-zA-Z]{10}$|^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:"
    r"knowledge-base/[0-9a-zA-Z]{10}$"
)
# bedrock-agent's Id shape (knowledge base, data source and ingestion job ids).
_AGENT_ID = "[0-9a-zA-Z]{10}"
_CLIENT_TOKEN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}"  # noqa: S105 - a pattern, not a secret
_SEARCH_TYPES = ("HYBRID", "SEMANTIC")
_QUERY_TYPES = ("TEXT", "IMAGE")
MAX_QUERY_CHARS = 20_000
MAX_RESULTS = 100
# Bedrock returns five results when numberOfResults is left out (user guide, kb-test-config).
DEFAULT_RESULTS = 5
_VECTOR_PATH = "retrievalConfiguration.vectorSearchConfiguration"


KnowledgeBaseRequest = StoreRequest[KnowledgeBaseStore]
KnowledgeBaseHandler = Callable[[KnowledgeBaseRequest], Reply]


def handle_retrieve(request: KnowledgeBaseRequest) -> Reply:
    """Serve `POST /knowledgebases/{knowledgeBaseId}/retrieve`."""
    knowledge_base_id = _runtime_id(request.params["knowledgeBaseId"])
    body = _body(request)
    text = _query_text(body.get("retrievalQuery"))
    configuration = body.get("retrievalConfiguration")
    vector: Mapping[str, object] = {}
    if configuration is not None:
        search = structure(configuration, "retrievalConfiguration").get("vectorSearchConfiguration")
        vector = structure(search, _VECTOR_PATH) if search is not None else {}
    top_k = _number_of_results(vector.get("numberOfResults"))
    search_type = vector.get("overrideSearchType")
    if search_type is not None and search_type not in _SEARCH_TYPES:
        raise constraint(
            search_type,
            f"{_VECTOR_PATH}.overrideSearchType",
            f"satisfy enum value set: [{', '.join(_SEARCH_TYPES)}]",
        )
    # Emulator's choice: HYBRID and SEMANTIC rank alike (one BM25 index), and reranking,
    # implicit filters, guardrails and nextToken are accepted and ignored.
    filter_ = vector.get("filter")
    rule = check_filter(filter_, f"{_VECTOR_PATH}.filter") if filter_ is not None else None
    _registered(request.store, knowledge_base_id)
    index = request.store.search_index(knowledge_base_id)
    found = index.search(text, top_k, lambda metadata: rule is None or matches(rule, metadata))
    return json_reply({"retrievalResults": [_result(chunk, score) for chunk, score in found]})


def handle_start_ingestion_job(request: KnowledgeBaseRequest) -> Reply:
    """Serve `PUT /knowledgebases/{kbId}/datasources/{dsId}/ingestionjobs/` (202, STARTING)."""
    knowledge_base_id = _agent_id(request.params["knowledgeBaseId"], "knowledgeBaseId")
    data_source_id = _agent_id(request.params["dataSourceId"], "dataSourceId")
    body = _body(request)
    client_token = _optional_text(body, "clientToken", 33, 256, _CLIENT_TOKEN)
    description = _optional_text(body, "description", 1, 200)
    _data_source(_registered(request.store, knowledge_base_id), data_source_id)
    job, started = request.store.start_ingestion(
        knowledge_base_id, client_token=client_token, description=description
    )
    shown = job.as_started() if started else job
    return json_reply({"ingestionJob": shown.to_wire()}, status=202)


def handle_get_ingestion_job(request: KnowledgeBaseRequest) -> Reply:
    """Serve `GET /knowledgebases/{kbId}/datasources/{dsId}/ingestionjobs/{ingestionJobId}`."""
    knowledge_base_id = _agent_id(request.params["knowledgeBaseId"], "knowledgeBaseId")
    data_source_id = _agent_id(request.params["dataSourceId"], "dataSourceId")
    job_id = _agent_id(request.params["ingestionJobId"], "ingestionJobId")
    _data_source(_registered(request.store, knowledge_base_id), data_source_id)
    job = request.store.ingestion_job(knowledge_base_id, job_id)
    if job is None:
        raise BedrockError(
            "ResourceNotFoundException",
            f"Ingestion job {job_id} does not exist for data source {data_source_id} of "
            f"knowledge base {knowledge_base_id}.",
        )
    return json_reply({"ingestionJob": job.to_wire()})


def _result(chunk: Chunk, score: float) -> dict[str, Any]:
    return {
        "content": {"type": "TEXT", "text": chunk.text},
        "location": {"type": "S3", "s3Location": {"uri": chunk.source_uri}},
        "metadata": dict(chunk.metadata),
        "score": score,
    }


def _body(request: KnowledgeBaseRequest) -> Mapping[str, object]:
    if request.body_error is not None:
        raise BedrockError("SerializationException", "The request body is not valid JSON.")
    if request.body is None:
        return {}
    return structure(request.body, "")


def _runtime_id(value: str) -> str:
    """Check Retrieve's knowledgeBaseId; return the id it names (an ARN ends with the id)."""
    if not re.fullmatch(_RUNTIME_ID, value):
        raise constraint(
            value, "knowledgeBaseId", f"satisfy regular expression pattern: {_RUNTIME_ID}"
        )
    return value.rsplit("/", 1)[-1]


def _agent_id(value: str, path: str) -> str:
    if not re.fullmatch(_AGENT_ID, value):
        raise constraint(value, path, f"satisfy regular expression pattern: {_AGENT_ID}")
    return value


def _query_text(value: object) -> str:
    if value is None:
        raise constraint(None, "retrievalQuery", "not be null")
    query = structure(value, "retrievalQuery")
    query_type = query.get("type")
    if query_type is not None and query_type not in _QUERY_TYPES:
        raise constraint(
            query_type,
            "retrievalQuery.type",
            f"satisfy enum value set: [{', '.join(_QUERY_TYPES)}]",
        )
    if query_type == "IMAGE" or "image" in query:
        raise validation(
            "The local emulator's knowledge bases hold text only: query them with "
            "retrievalQuery.text."
        )
    text = query.get("text")
    if text is None:
        raise constraint(None, "retrievalQuery.text", "not be null")
    if not isinstance(text, str):
        raise serialization("retrievalQuery.text", "a string")
    if len(text) > MAX_QUERY_CHARS:
        # KnowledgeBaseQuery is a sensitive shape: the message does not echo the query.
        raise redacted_constraint(
            "retrievalQuery.text", f"have length less than or equal to {MAX_QUERY_CHARS}"
        )
    return text


def _number_of_results(value: object) -> int:
    if value is None:
        return DEFAULT_RESULTS
    if isinstance(value, bool) or not isinstance(value, int):
        raise serialization(f"{_VECTOR_PATH}.numberOfResults", "an integer")
    if value < 1:
        raise constraint(
            value, f"{_VECTOR_PATH}.numberOfResults", "have value greater than or equal to 1"
        )
    if value > MAX_RESULTS:
        raise constraint(
            value,
            f"{_VECTOR_PATH}.numberOfResults",
            f"have value less than or equal to {MAX_RESULTS}",
        )
    return value


def _optional_text(
    body: Mapping[str, object], member: str, shortest: int, longest: int, pattern: str = ""
) -> str | None:
    value = body.get(member)
    if value is None:
        return None
    if not isinstance(value, str):
        raise serialization(member, "a string")
    if not shortest <= len(value) <= longest:
        raise constraint(value, member, f"have length between {shortest} and {longest}")
    if pattern and not re.fullmatch(pattern, value):
        raise constraint(value, member, f"satisfy regular expression pattern: {pattern}")
    return value


def _registered(store: KnowledgeBaseStore, knowledge_base_id: str) -> LocalKnowledgeBase:
    knowledge_base = store.find(knowledge_base_id)
    if knowledge_base is None:
        served = ", ".join(f"{kb.name} ({kb.knowledge_base_id})" for kb in store.knowledge_bases)
        raise BedrockError(
            "ResourceNotFoundException",
            f"Knowledge base {knowledge_base_id} does not exist. The local emulator serves: "
            f"{served or 'no knowledge bases'}.",
        )
    return knowledge_base


def _data_source(knowledge_base: LocalKnowledgeBase, data_source_id: str) -> None:
    # Each local knowledge base has one data source: its folder.
    if data_source_id != knowledge_base.data_source_id:
        raise BedrockError(
            "ResourceNotFoundException",
            f"Data source {data_source_id} does not exist in knowledge base "
            f"{knowledge_base.knowledge_base_id} ({knowledge_base.name}'s data source is "
            f"{knowledge_base.data_source_id}).",
        )
