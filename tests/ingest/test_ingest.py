"""`make ingest`: ids from the Stateful stack's outputs, one job started, waited for, reported.

botocore's Stubber checks every request and answer against the real service models.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from local import ingest
from local.emulator import start_emulator
from local.knowledge_bases import local_knowledge_bases
from stacks.config import load_config

ROOT = Path(__file__).resolve().parents[2]
KB_ID, SOURCE_ID, JOB_ID = "KB12345678", "DS12345678", "JOB1234567"
STACK = "BedrockKit-dev-Stateful"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _job(status: str, **statistics: int) -> dict[str, Any]:
    job: dict[str, Any] = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": SOURCE_ID,
        "ingestionJobId": JOB_ID,
        "status": status,
        "startedAt": NOW,
        "updatedAt": NOW,
    }
    if statistics:
        job["statistics"] = statistics
    return job


def _outputs(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "CreationTime": NOW,
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in pairs],
            }
        ]
    }


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    agent = boto3.client(
        "bedrock-agent", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    cloudformation = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(agent) as agent_stub, Stubber(cloudformation) as cfn_stub:
        yield agent, cloudformation, agent_stub, cfn_stub
        agent_stub.assert_no_pending_responses()
        cfn_stub.assert_no_pending_responses()


def _run(agent: Any, cloudformation: Any, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = ingest.main(
        ["--env", "dev", *argv],
        agent=agent,
        cloudformation=cloudformation,
        out=out,
        err=err,
        sleep=lambda _seconds: None,
    )
    return code, out.getvalue(), err.getvalue()


def _stub_outputs(cfn_stub: Stubber) -> None:
    outputs = _outputs(
        ("KnowledgeBasehandbookId", KB_ID),
        ("KnowledgeBasehandbookDataSourceId", SOURCE_ID),
        ("KnowledgeBasehandbookBucket", "bucket"),
        # Another knowledge base whose name starts the same: never mistaken for this one.
        ("KnowledgeBasehandbookDashidId", "KBOTHER123"),
        ("ApiKeysTable0A1B2C3D", "keys"),
    )
    for _ in range(2):
        cfn_stub.add_response("describe_stacks", outputs, {"StackName": STACK})


def test_ingest_starts_one_job_waits_for_it_and_reports_its_counts(clients: Any) -> None:
    agent, cloudformation, agent_stub, cfn_stub = clients
    _stub_outputs(cfn_stub)
    ids = {"knowledgeBaseId": KB_ID, "dataSourceId": SOURCE_ID}
    agent_stub.add_response(
        "start_ingestion_job",
        {"ingestionJob": _job("STARTING")},
        {**ids, "description": "bedrock-kit: make ingest"},
    )
    for status in ("IN_PROGRESS", "IN_PROGRESS"):
        agent_stub.add_response(
            "get_ingestion_job", {"ingestionJob": _job(status)}, {**ids, "ingestionJobId": JOB_ID}
        )
    done = _job(
        "COMPLETE",
        numberOfDocumentsScanned=4,
        numberOfNewDocumentsIndexed=3,
        numberOfModifiedDocumentsIndexed=1,
        numberOfDocumentsFailed=0,
    )
    agent_stub.add_response(
        "get_ingestion_job", {"ingestionJob": done}, {**ids, "ingestionJobId": JOB_ID}
    )
    code, out, err = _run(agent, cloudformation, "--kb", "handbook")
    assert (code, err) == (0, "")
    assert f"Knowledge base handbook ({KB_ID}), data source {SOURCE_ID}" in out
    assert "  IN_PROGRESS\n  COMPLETE\n" in out
    assert "       4  documents scanned" in out
    assert "       3  new documents indexed" in out


def test_failed_documents_make_ingest_fail_with_their_reasons(clients: Any) -> None:
    agent, cloudformation, agent_stub, cfn_stub = clients
    _stub_outputs(cfn_stub)
    agent_stub.add_response("start_ingestion_job", {"ingestionJob": _job("STARTING")})
    failed = {
        **_job("COMPLETE", numberOfDocumentsScanned=2, numberOfDocumentsFailed=1),
        "failureReasons": ["scan.pdf: the file exceeds 50 MB"],
    }
    agent_stub.add_response("get_ingestion_job", {"ingestionJob": failed})
    code, out, _err = _run(agent, cloudformation, "--kb", "handbook")
    assert code == ingest.EXIT_FAILED
    assert "failure: scan.pdf: the file exceeds 50 MB" in out


def test_a_running_job_is_a_clear_conflict(clients: Any) -> None:
    agent, cloudformation, agent_stub, cfn_stub = clients
    _stub_outputs(cfn_stub)
    agent_stub.add_client_error(
        "start_ingestion_job", service_error_code="ConflictException", http_status_code=409
    )
    code, _out, err = _run(agent, cloudformation, "--kb", "handbook")
    assert code == ingest.EXIT_FAILED
    assert "already running" in err


def test_a_job_still_running_at_the_timeout_is_reported_not_abandoned_silently(
    clients: Any,
) -> None:
    agent, cloudformation, agent_stub, cfn_stub = clients
    _stub_outputs(cfn_stub)
    agent_stub.add_response("start_ingestion_job", {"ingestionJob": _job("STARTING")})
    code, _out, err = _run(agent, cloudformation, "--kb", "handbook", "--timeout", "0")
    assert code == ingest.EXIT_FAILED
    assert "still STARTING" in err and "goes on in Bedrock" in err


def test_an_undeployed_environment_says_deploy_first(clients: Any) -> None:
    agent, cloudformation, _agent_stub, cfn_stub = clients
    cfn_stub.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {STACK} does not exist",
    )
    code, _out, err = _run(agent, cloudformation, "--kb", "handbook")
    assert code == ingest.EXIT_FAILED
    assert "make deploy ENV=dev" in err


@pytest.mark.parametrize(
    ("name", "message"), [("nope", "not a knowledge base of"), ("", "not a knowledge base of")]
)
def test_a_name_the_config_lacks_is_refused_before_any_call(
    clients: Any, name: str, message: str
) -> None:
    agent, cloudformation, _agent_stub, _cfn_stub = clients
    code, _out, err = _run(agent, cloudformation, "--kb", name)
    assert code == ingest.EXIT_FAILED
    assert message in err


def test_against_the_emulator_ingest_indexes_the_local_folder() -> None:
    config = load_config(ROOT / "config" / "dev.toml", "dev")
    knowledge_bases = local_knowledge_bases(config)
    documents = sorted(
        p for p in (ROOT / "local" / "kb" / "handbook").iterdir() if p.suffix == ".md"
    )
    with start_emulator(knowledge_bases=knowledge_bases) as emulator:
        out, err = io.StringIO(), io.StringIO()
        code = ingest.main(
            ["--kb", "handbook", "--endpoint-url", emulator.url, "--poll", "0.01"],
            out=out,
            err=err,
        )
        assert (code, err.getvalue()) == (0, "")
        assert f"{len(documents):>8}  new documents indexed" in out.getvalue()
        # Nothing changed: a second sync indexes nothing new (syncing is incremental).
        out = io.StringIO()
        argv = ["--kb", "handbook", "--endpoint-url", emulator.url, "--poll", "0.01"]
        assert ingest.main(argv, out=out) == 0
        assert "       0  new documents indexed" in out.getvalue()
