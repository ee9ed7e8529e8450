"""Knowledge bases in the emulator, through real bedrock-agent and bedrock-agent-runtime clients."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ParamValidationError

from local.emulator import Emulator, LocalKnowledgeBase, local_ids, start_emulator
from local.emulator.kb_documents import chunk_text
from tests.emulator.clients import error_of, make_client
from tests.emulator.dates import FORMATS_DAY

ROOT = Path(__file__).resolve().parents[2]
HANDBOOK = ROOT / "local" / "kb" / "handbook"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
BUCKET = "docs"
ONE_ATTEMPT = {"retries": {"mode": "standard", "total_max_attempts": 1}}
# Chunking NONE: one chunk per document, so rankings name documents.
RANKING = {
    "apples.txt": "Apples are crisp. An apple a day keeps the doctor away. Apple pie, apple juice.",
    "orchard.txt": "The orchard grows apple trees and pear trees.",
    "pears.txt": "Pears ripen after picking; a pear tree lives for decades.",
    "bread.txt": "Sourdough bread needs a starter, flour, water and salt.",
    "coffee.txt": "Coffee beans are roasted before grinding.",
    "tea.txt": "Green tea is steamed, black tea is oxidised.",
}
FILTERED: dict[str, tuple[str, dict[str, object] | None]] = {
    "alpha.txt": (
        "Expense policy for trips.",
        {"team": "finance", "year": 2023, "tags": ["travel", "budget"], "public": True},
    ),
    "beta.txt": (
        "Password rules for accounts.",
        {"team": "security", "year": 2024, "tags": ["passwords"], "public": False},
    ),
    "gamma.txt": (
        "Leave policy for holidays.",
        {"team": "people", "year": 2025, "tags": ["leave", "travel"]},
    ),
    "delta.txt": ("A note without metadata.", None),
}


# --- fixtures and helpers ---------------------------------------------------------------------


def write(folder: Path, files: Mapping[str, str | bytes]) -> None:
    """Create `folder` with `files` (relative path -> text or bytes)."""
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def metadata(attributes: Mapping[str, object]) -> str:
    return json.dumps({"metadataAttributes": attributes})


def _settings(url: str, config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "region_name": "us-east-1",
        "endpoint_url": url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "config": Config(**config),
    }


def agent_client(url: str, **config: Any) -> Any:
    """A bedrock-agent client (ingestion jobs) for the emulator at `url`."""
    return boto3.client("bedrock-agent", **_settings(url, config))


def runtime_client(url: str, **config: Any) -> Any:
    """A bedrock-agent-runtime client (Retrieve) for the emulator at `url`."""
    return boto3.client("bedrock-agent-runtime", **_settings(url, config))


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LocalKnowledgeBase]:
    root = tmp_path_factory.mktemp("knowledge-bases")
    write(root / "ranking", RANKING)
    filtered: dict[str, str | bytes] = {}
    for name, (text, attributes) in FILTERED.items():
        filtered[name] = text
        if attributes is not None:
            filtered[f"{name}.metadata.json"] = metadata(attributes)
    write(root / "filters", filtered)
    for name in ("stats", "broken"):
        (root / name).mkdir()
    return {
        "handbook": LocalKnowledgeBase.named("handbook", HANDBOOK, chunk_max_tokens=60),
        "ranking": LocalKnowledgeBase.named(
            "ranking", root / "ranking", bucket=BUCKET, chunking="NONE"
        ),
        "filters": LocalKnowledgeBase.named(
            "filters", root / "filters", bucket=BUCKET, chunking="NONE"
        ),
        "stats": LocalKnowledgeBase.named("stats", root / "stats", bucket=BUCKET),
        "broken": LocalKnowledgeBase.named("broken", root / "broken", bucket=BUCKET),
        "missing": LocalKnowledgeBase.named("missing", root / "nowhere"),
        "empty": LocalKnowledgeBase.named("empty", HANDBOOK),
    }


@pytest.fixture(scope="module")
def emulator(bases: dict[str, LocalKnowledgeBase]) -> Iterator[Emulator]:
    with start_emulator(knowledge_bases=list(bases.values()), today=FORMATS_DAY) as running:
        agent = agent_client(running.url)
        for name in ("handbook", "ranking", "filters"):
            assert ingest(agent, bases[name])["status"] == "COMPLETE"
        yield running


@pytest.fixture(autouse=True)
def _fresh(emulator: Emulator) -> None:
    emulator.clear()


@pytest.fixture(scope="module")
def agent(emulator: Emulator) -> Any:
    return agent_client(emulator.url, **ONE_ATTEMPT)


@pytest.fixture(scope="module")
def runtime(emulator: Emulator) -> Any:
    return runtime_client(emulator.url, **ONE_ATTEMPT)


@pytest.fixture(scope="module")
def lenient(emulator: Emulator) -> Any:
    """A runtime client without botocore's own parameter checks: the emulator must judge."""
    return runtime_client(emulator.url, parameter_validation=False, **ONE_ATTEMPT)


def send(emulator: Emulator, method: str, path: str, body: bytes = b"") -> Any:
    """Send a raw HTTP request; return (status, headers, decoded JSON body)."""
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def ingest(agent: Any, kb: LocalKnowledgeBase) -> dict[str, Any]:
    """Run an ingestion job as `make ingest` would; return GetIngestionJob's job."""
    ids = {"knowledgeBaseId": kb.knowledge_base_id, "dataSourceId": kb.data_source_id}
    started = agent.start_ingestion_job(**ids)["ingestionJob"]
    job: dict[str, Any] = agent.get_ingestion_job(**ids, ingestionJobId=started["ingestionJobId"])[
        "ingestionJob"
    ]
    return job


def retrieve(runtime: Any, kb: LocalKnowledgeBase, query: str, **search: Any) -> list[Any]:
    configuration = {"vectorSearchConfiguration": search} if search else {}
    response = runtime.retrieve(
        knowledgeBaseId=kb.knowledge_base_id,
        retrievalQuery={"text": query},
        retrievalConfiguration=configuration,
    )
    results: list[Any] = response["retrievalResults"]
    return results


def names(results: list[Any]) -> list[str]:
    """The file name of each result, in order."""
    return [result["location"]["s3Location"]["uri"].rsplit("/", 1)[1] for result in results]


def counts(job: Mapping[str, Any]) -> dict[str, int]:
    """The non-zero statistics of a job, without the `numberOf` prefix."""
    return {
        key.removeprefix("numberOf"): value for key, value in job["statistics"].items() if value
    }


# --- configuration ----------------------------------------------------------------------------


def test_local_ids_are_deterministic_bedrock_shaped_and_distinct() -> None:
    first, second = local_ids("handbook"), local_ids("handbook")
    assert first == second
    for value in (*first, *local_ids("other")):
        assert re.fullmatch(r"[0-9A-Z]{10}", value)
    assert len({*first, *local_ids("other")}) == 4


def test_a_knowledge_base_refuses_ids_bedrock_would_not_issue(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="knowledge_base_id"):
        LocalKnowledgeBase("x", "too-short", "ABCDEFGHIJ", tmp_path, "bucket")
    with pytest.raises(ValueError, match="chunking"):
        LocalKnowledgeBase.named("x", tmp_path, chunking="SEMANTIC")


def test_a_knowledge_base_cannot_be_registered_twice(tmp_path: Path) -> None:
    kb = LocalKnowledgeBase.named("twice", tmp_path)
    with pytest.raises(ValueError, match="registered twice"):
        Emulator(knowledge_bases=[kb, kb])


def test_fixed_size_chunks_overlap_by_the_given_percentage() -> None:
    text = " ".join(f"w{n}" for n in range(10))
    chunks = chunk_text(text, chunking="FIXED_SIZE", max_tokens=4, overlap_percent=50)
    assert chunks == ["w0 w1 w2 w3", "w2 w3 w4 w5", "w4 w5 w6 w7", "w6 w7 w8 w9"]
    assert chunk_text("a\nb", chunking="NONE", max_tokens=1, overlap_percent=0) == ["a\nb"]
    assert chunk_text(" \n ", chunking="FIXED_SIZE", max_tokens=5, overlap_percent=20) == []


# --- ingestion --------------------------------------------------------------------------------


def test_a_knowledge_base_is_empty_until_ingested(
    runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    assert retrieve(runtime, bases["empty"], "annual leave") == []


def test_start_answers_202_starting_and_get_reports_the_finished_job(
    agent: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["handbook"]
    ids = {"knowledgeBaseId": kb.knowledge_base_id, "dataSourceId": kb.data_source_id}
    response = agent.start_ingestion_job(**ids, description="nightly")
    started = response["ingestionJob"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert started["status"] == "STARTING"
    assert set(started["statistics"].values()) == {0}
    assert re.fullmatch(r"[0-9A-Z]{10}", started["ingestionJobId"])
    job = agent.get_ingestion_job(**ids, ingestionJobId=started["ingestionJobId"])["ingestionJob"]
    assert job["status"] == "COMPLETE"
    assert job["description"] == "nightly"
    assert job["startedAt"] == started["startedAt"] <= job["updatedAt"]
    # Nothing changed since the fixture's ingestion: scanned, nothing re-indexed.
    assert counts(job) == {"DocumentsScanned": 4, "MetadataDocumentsScanned": 4}


def test_ingestion_counts_new_then_only_modified_and_deleted_documents(
    agent: Any, runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["stats"]
    write(
        kb.folder,
        {
            "a.md": "# Alpha\n\nThe alpha document.",
            "a.md.metadata.json": metadata({"team": "one"}),
            "b.txt": "The bravo document.",
            "c.html": "<html><head><style>p {}</style><script>var secret = 1;</script></head>"
            "<body><p>Charlie&amp;co</p><p>document</p></body></html>",
            "notes.json": "{}",
        },
    )
    first = ingest(agent, kb)
    assert first["status"] == "COMPLETE"
    assert counts(first) == {
        "DocumentsScanned": 3,
        "MetadataDocumentsScanned": 1,
        "NewDocumentsIndexed": 3,
        "DocumentsSkipped": 1,
    }
    assert first["failureReasons"] == [
        "Skipped 1 file(s) of a format Bedrock does not ingest: s3://docs/notes.json."
    ]
    html = next(
        r
        for r in retrieve(runtime, kb, "charlie")
        if r["metadata"]["x-amz-bedrock-kb-source-uri"].endswith("c.html")
    )
    assert html["content"]["text"] == "Charlie&co\ndocument"

    write(kb.folder, {"b.txt": "The bravo document, revised.", "d.csv": "name,value\nx,1\n"})
    write(kb.folder, {"a.md.metadata.json": metadata({"team": "two"})})
    (kb.folder / "c.html").unlink()
    second = ingest(agent, kb)
    assert counts(second) == {
        "DocumentsScanned": 3,
        "MetadataDocumentsScanned": 1,
        "NewDocumentsIndexed": 1,
        "ModifiedDocumentsIndexed": 1,
        "MetadataDocumentsModified": 1,
        "DocumentsDeleted": 1,
        "DocumentsSkipped": 1,
    }
    found = retrieve(runtime, kb, "document", numberOfResults=10)
    assert sorted(names(found)) == ["a.md", "b.txt", "d.csv"]
    assert {r["content"]["text"] for r in found} >= {"The bravo document, revised."}
    assert next(r for r in found if names([r]) == ["a.md"])["metadata"]["team"] == "two"

    third = ingest(agent, kb)
    assert counts(third) == {
        "DocumentsScanned": 3,
        "MetadataDocumentsScanned": 1,
        "DocumentsSkipped": 1,
    }


def test_binary_formats_and_bad_metadata_fail_their_documents_only(
    agent: Any, runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["broken"]
    write(
        kb.folder,
        {
            "good.md": "A good document.",
            "report.pdf": b"%PDF-1.7\n",
            "notes.txt": "Notes.",
            "notes.txt.metadata.json": "{not json",
            "list.md": "A list.",
            "list.md.metadata.json": metadata({"owner": {"name": "nested"}}),
            "picture.png": b"\x89PNG",
        },
    )
    job = ingest(agent, kb)
    assert job["status"] == "COMPLETE"
    assert counts(job) == {
        "DocumentsScanned": 4,
        "MetadataDocumentsScanned": 2,
        "NewDocumentsIndexed": 1,
        "DocumentsFailed": 3,
        "DocumentsSkipped": 1,
    }
    reasons = "\n".join(job["failureReasons"])
    assert re.search(r"s3://docs/report\.pdf: .*reads only text formats", reasons)
    assert re.search(r"s3://docs/notes\.txt: .*notes\.txt\.metadata\.json.*not JSON", reasons)
    assert re.search(r"s3://docs/list\.md: .*'owner'", reasons)
    assert "picture.png" in reasons
    assert names(retrieve(runtime, kb, "document", numberOfResults=10)) == ["good.md"]


def test_a_missing_folder_fails_the_job_and_leaves_the_index_empty(
    agent: Any, runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    job = ingest(agent, bases["missing"])
    assert job["status"] == "FAILED"
    assert "nowhere" in job["failureReasons"][0]
    assert counts(job) == {}
    assert retrieve(runtime, bases["missing"], "anything") == []


def test_a_client_token_already_used_returns_its_job_without_a_new_run(
    agent: Any, emulator: Emulator, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["handbook"]
    ids = {"knowledgeBaseId": kb.knowledge_base_id, "dataSourceId": kb.data_source_id}
    token = "t" * 40
    first = agent.start_ingestion_job(**ids, clientToken=token)["ingestionJob"]
    again = agent.start_ingestion_job(**ids, clientToken=token)["ingestionJob"]
    assert again["ingestionJobId"] == first["ingestionJobId"]
    assert (first["status"], again["status"]) == ("STARTING", "COMPLETE")
    assert [r.operation for r in emulator.requests] == ["StartIngestionJob"] * 2


def test_ingestion_job_errors_are_the_modelled_exceptions(
    agent: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["handbook"]
    ids = {"knowledgeBaseId": kb.knowledge_base_id, "dataSourceId": kb.data_source_id}
    code, status, message = error_of(agent.get_ingestion_job, **ids, ingestionJobId="ZZZZZZZZZZ")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "ZZZZZZZZZZ" in message
    other = {**ids, "dataSourceId": "ZZZZZZZZZZ"}
    assert error_of(agent.start_ingestion_job, **other)[0] == "ResourceNotFoundException"
    unknown = {**ids, "knowledgeBaseId": "ZZZZZZZZZZ"}
    code, _, message = error_of(agent.start_ingestion_job, **unknown)
    assert code == "ResourceNotFoundException"
    assert f"handbook ({kb.knowledge_base_id})" in message
    code, status, message = error_of(
        agent.start_ingestion_job, **{**ids, "knowledgeBaseId": "BAD_ID_123"}
    )
    assert (code, status) == ("ValidationException", 400)
    assert "Value 'BAD_ID_123' at 'knowledgeBaseId' failed to satisfy constraint" in message
    with pytest.raises(agent.exceptions.ValidationException, match="length between 1 and 200"):
        agent.start_ingestion_job(**ids, description="x" * 201)


# --- retrieval --------------------------------------------------------------------------------


def test_results_carry_text_s3_location_metadata_and_a_score(
    runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["handbook"]
    (top,) = retrieve(runtime, kb, "How many days of annual leave do I get?", numberOfResults=1)
    assert top["content"]["type"] == "TEXT"
    assert "27 days of annual leave" in top["content"]["text"]
    uri = "s3://local-kb-handbook/leave-and-time-off.md"
    assert top["location"] == {"type": "S3", "s3Location": {"uri": uri}}
    meta = top["metadata"]
    assert {k: meta[k] for k in ("department", "year", "audience")} == {
        "department": "People",
        "year": 2024,
        "audience": ["employees"],
    }
    assert meta["x-amz-bedrock-kb-source-uri"] == uri
    assert meta["x-amz-bedrock-kb-data-source-id"] == kb.data_source_id
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["x-amz-bedrock-kb-chunk-id"])
    assert 0 < top["score"] < 1


def test_ranking_is_bm25_then_source_uri_and_the_same_every_time(
    runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["ranking"]
    results = retrieve(runtime, kb, "apple")
    # Default top-k is 5; chunks without the word still come back (score 0), by source URI.
    assert names(results) == ["apples.txt", "orchard.txt", "bread.txt", "coffee.txt", "pears.txt"]
    scores = [result["score"] for result in results]
    assert scores[0] > scores[1] > 0 and scores[2:] == [0.0, 0.0, 0.0]
    assert retrieve(runtime, kb, "apple") == results
    assert names(retrieve(runtime, kb, "pear tree", numberOfResults=2)) == [
        "pears.txt",
        "orchard.txt",
    ]


def test_number_of_results_caps_the_answer(
    runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["ranking"]
    assert len(retrieve(runtime, kb, "tea", numberOfResults=1)) == 1
    assert len(retrieve(runtime, kb, "tea", numberOfResults=100)) == len(RANKING)


def test_an_arn_names_the_knowledge_base_too(
    runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["ranking"]
    arn = f"arn:aws:bedrock:us-east-1:123456789012:knowledge-base/{kb.knowledge_base_id}"
    response = runtime.retrieve(knowledgeBaseId=arn, retrievalQuery={"text": "tea"})
    assert names(response["retrievalResults"])[0] == "tea.txt"


def _attribute(name: str, key: str, value: object) -> dict[str, Any]:
    return {name: {"key": key, "value": value}}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (_attribute("equals", "team", "finance"), {"alpha"}),
        (_attribute("equals", "public", True), {"alpha"}),
        (_attribute("equals", "year", "2023"), set()),  # a string is not a number
        # notEquals takes documents without the key (documented); notIn does not.
        (_attribute("notEquals", "team", "finance"), {"beta", "gamma", "delta"}),
        (_attribute("greaterThan", "year", 2023), {"beta", "gamma"}),
        (_attribute("greaterThanOrEquals", "year", 2024), {"beta", "gamma"}),
        (_attribute("lessThan", "year", 2024), {"alpha"}),
        (_attribute("lessThanOrEquals", "year", 2024.0), {"alpha", "beta"}),
        (_attribute("in", "team", ["finance", "people"]), {"alpha", "gamma"}),
        (_attribute("notIn", "team", ["finance"]), {"beta", "gamma"}),
        (_attribute("startsWith", "team", "sec"), {"beta"}),
        (_attribute("stringContains", "team", "an"), {"alpha"}),
        (_attribute("stringContains", "tags", "pass"), {"beta"}),  # a list member's substring
        (_attribute("listContains", "tags", "travel"), {"alpha", "gamma"}),
        (
            {
                "andAll": [
                    _attribute("listContains", "tags", "travel"),
                    _attribute("greaterThan", "year", 2023),
                ]
            },
            {"gamma"},
        ),
        (
            {
                "orAll": [
                    _attribute("equals", "team", "security"),
                    _attribute("equals", "year", 2025),
                ]
            },
            {"beta", "gamma"},
        ),
        (_attribute("equals", "x-amz-bedrock-kb-source-uri", "s3://docs/delta.txt"), {"delta"}),
    ],
)
def test_every_filter_operator_selects_by_metadata(
    runtime: Any, bases: dict[str, LocalKnowledgeBase], rule: dict[str, Any], expected: set[str]
) -> None:
    results = retrieve(runtime, bases["filters"], "policy", numberOfResults=10, filter=rule)
    assert {name.removesuffix(".txt") for name in names(results)} == expected


_PATH = "retrievalConfiguration.vectorSearchConfiguration"


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (
            {"numberOfResults": 0},
            f"Value '0' at '{_PATH}.numberOfResults' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ),
        ({"numberOfResults": 101}, "Member must have value less than or equal to 100"),
        ({"overrideSearchType": "FUZZY"}, "Member must satisfy enum value set: [HYBRID, SEMANTIC]"),
        (
            {"filter": {**_attribute("equals", "team", "x"), **_attribute("in", "team", ["x"])}},
            f"The RetrievalFilter object at {_PATH}.filter must set exactly one of its members",
        ),
        (
            {"filter": {"andAll": [_attribute("equals", "team", "x")]}},
            f"Value at '{_PATH}.filter.andAll' failed to satisfy constraint: "
            "Member must have length greater than or equal to 2",
        ),
        ({"filter": _attribute("greaterThan", "year", "2023")}, "its value must be one"),
        ({"filter": _attribute("in", "team", "finance")}, "needs a non-empty list"),
        (
            {"filter": {"orAll": [{"equals": {"key": "team"}}, _attribute("in", "t", ["x"])]}},
            f"'{_PATH}.filter.orAll.0.equals.value'",
        ),
    ],
)
def test_bad_searches_are_validation_exceptions(
    lenient: Any, bases: dict[str, LocalKnowledgeBase], search: dict[str, Any], expected: str
) -> None:
    code, status, message = error_of(
        lenient.retrieve,
        knowledgeBaseId=bases["filters"].knowledge_base_id,
        retrievalQuery={"text": "policy"},
        retrievalConfiguration={"vectorSearchConfiguration": search},
    )
    assert (code, status) == ("ValidationException", 400)
    assert expected in message


def test_botocore_itself_catches_what_its_model_bounds_from_below(
    runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    # numberOfResults' minimum and andAll's two members are checked client-side; the maximum
    # reaches the emulator, whose answer botocore raises as the modelled exception.
    kb = bases["filters"]
    with pytest.raises(ParamValidationError):
        retrieve(runtime, kb, "policy", numberOfResults=0)
    with pytest.raises(ParamValidationError):
        retrieve(runtime, kb, "policy", filter={"andAll": [_attribute("equals", "a", "b")]})
    with pytest.raises(runtime.exceptions.ValidationException):
        retrieve(runtime, kb, "policy", numberOfResults=101)


def test_ids_and_the_query_are_checked_before_the_knowledge_base_is_looked_up(
    lenient: Any, runtime: Any
) -> None:
    code, _, message = error_of(
        runtime.retrieve, knowledgeBaseId="BAD_ID_123", retrievalQuery={"text": "x"}
    )
    assert code == "ValidationException"
    assert (
        "Value 'BAD_ID_123' at 'knowledgeBaseId' failed to satisfy constraint: Member must "
        in message
    )
    assert "regular expression pattern" in message
    code, _, message = error_of(lenient.retrieve, knowledgeBaseId="ZZZZZZZZZZ")
    assert (code, message) == (
        "ValidationException",
        "1 validation error detected: Value null at 'retrievalQuery' failed to satisfy "
        "constraint: Member must not be null",
    )


def test_an_unknown_knowledge_base_is_resource_not_found(runtime: Any) -> None:
    code, status, _ = error_of(
        runtime.retrieve, knowledgeBaseId="ZZZZZZZZZZ", retrievalQuery={"text": "x"}
    )
    assert (code, status) == ("ResourceNotFoundException", 404)


# --- faults, delays, request log and routes ---------------------------------------------------


def test_faults_and_delays_apply_to_knowledge_base_operations(
    runtime: Any, agent: Any, emulator: Emulator, bases: dict[str, LocalKnowledgeBase]
) -> None:
    kb = bases["ranking"]
    emulator.inject_fault("ThrottlingException", operation="Retrieve")
    emulator.inject_fault("ModelTimeoutException", model_id=HAIKU)  # names a model: spares it
    code, status, _ = error_of(
        runtime.retrieve, knowledgeBaseId=kb.knowledge_base_id, retrievalQuery={"text": "tea"}
    )
    assert (code, status) == ("ThrottlingException", 429)
    assert retrieve(runtime, kb, "tea")
    emulator.inject_fault("ConflictException", operation="StartIngestionJob", status=409)
    with pytest.raises(agent.exceptions.ConflictException):
        ingest(agent, kb)
    emulator.delay(0.2, operation="Retrieve")
    began = time.monotonic()
    retrieve(runtime, kb, "tea")
    assert time.monotonic() - began >= 0.2
    logged = [(entry.operation, entry.model_id) for entry in emulator.requests]
    assert logged == [("Retrieve", None)] * 2 + [("StartIngestionJob", None), ("Retrieve", None)]


def test_a_knowledge_base_path_with_another_verb_names_no_operation(emulator: Emulator) -> None:
    status, headers, body = send(emulator, "GET", "/knowledgebases/ABCDEFGHIJ/retrieve")
    assert status == 404
    assert headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")
    assert "GET /knowledgebases/ABCDEFGHIJ/retrieve" in body["message"]
    assert emulator.requests[0].operation == "UnknownOperation"


def test_an_unknown_filter_operator_is_a_validation_exception(
    emulator: Emulator, bases: dict[str, LocalKnowledgeBase]
) -> None:
    # botocore cannot even serialize an operator its model lacks: send the body by hand.
    search = {"vectorSearchConfiguration": {"filter": _attribute("like", "team", "x")}}
    request = {"retrievalQuery": {"text": "policy"}, "retrievalConfiguration": search}
    path = f"/knowledgebases/{bases['filters'].knowledge_base_id}/retrieve"
    status, headers, body = send(emulator, "POST", path, json.dumps(request).encode())
    assert status == 400
    assert headers["x-amzn-ErrorType"].startswith("ValidationException:")
    assert "has the unknown member 'like'" in body["message"]


# --- grounded chat ----------------------------------------------------------------------------


def _passages(*passages: tuple[str, str]) -> str:
    """The block the gateway's grounded chat puts before the question."""
    blocks = [
        f'<passage index="{index}" source="{source}">\n{text}\n</passage>'
        for index, (source, text) in enumerate(passages, start=1)
    ]
    return "\n".join(
        ["Answer from the passages below.", "", "<passages>", *blocks, "</passages>", ""]
    )


def _ask(converse: Any, *texts: str) -> str:
    content = [{"text": text} for text in texts]
    response = converse.converse(modelId=HAIKU, messages=[{"role": "user", "content": content}])
    return str(response["output"]["message"]["content"][0]["text"])


@pytest.fixture(scope="module")
def chat(emulator: Emulator) -> Any:
    return make_client(emulator.url)


def test_a_grounded_answer_quotes_passage_one_and_cites_the_passages(chat: Any) -> None:
    block = _passages(
        ("s3://docs/leave.md", "# Leave\n\nFull-time staff get 27 days a year. Part-timers less."),
        ("s3://docs/other.md", "Something else."),
    )
    assert _ask(chat, block, "How much leave do I get?") == (
        '[emulated Claude 3 Haiku] According to the knowledge base [1]: "Full-time staff get 27 '
        'days a year." See also [2]. This deterministic reply comes from the local Bedrock '
        "emulator; no model was called."
    )
    single = _ask(chat, _passages(("s3://docs/a.md", "Only one passage here")), "Q?")
    assert 'According to the knowledge base [1]: "Only one passage here"' in single
    assert "[2]" not in single


def test_a_grounded_answer_over_retrieved_passages_streams_the_same(
    chat: Any, runtime: Any, bases: dict[str, LocalKnowledgeBase]
) -> None:
    found = retrieve(runtime, bases["handbook"], "password manager", numberOfResults=2)
    block = _passages(*((r["location"]["s3Location"]["uri"], r["content"]["text"]) for r in found))
    answer = _ask(chat, block, "Where do I keep passwords?")
    quote = answer.split('"')[1]
    assert quote in " ".join(found[0]["content"]["text"].split())
    assert "[1]" in answer and "[2]" in answer
    stream = chat.converse_stream(
        modelId=HAIKU,
        messages=[
            {"role": "user", "content": [{"text": block}, {"text": "Where do I keep passwords?"}]}
        ],
    )
    streamed = "".join(
        event["contentBlockDelta"]["delta"]["text"]
        for event in stream["stream"]
        if "contentBlockDelta" in event
    )
    assert streamed == answer


def test_no_passages_answers_that_the_knowledge_base_holds_nothing(chat: Any) -> None:
    notice = (
        "The knowledge base 'handbook' returned no passages for this question: say that it "
        "holds nothing on it instead of answering from memory."
    )
    answer = _ask(chat, notice, "What is the dress code?")
    assert answer.startswith(
        "[emulated Claude 3 Haiku] The knowledge base 'handbook' holds nothing on this question"
    )
    assert "You said" not in answer
