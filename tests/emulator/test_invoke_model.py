"""InvokeModelWithResponseStream in the emulator (InvokeModel itself: test_invoke.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.emulator import Emulator, start_emulator
from tests.emulator.dates import FORMATS_DAY

TITAN_EMBED = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"
SD35 = "stability.sd3-5-large-v1:0"
CANVAS = "amazon.nova-canvas-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(today=FORMATS_DAY) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def invoke(
    client: Any, model_id: str, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    response = client.invoke_model(modelId=model_id, body=json.dumps(body))
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def rejected(client: Any, model_id: str, body: dict[str, Any]) -> str:
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=model_id, body=json.dumps(body))
    assert caught.value.response["Error"]["Code"] in (
        "ValidationException",
        "SerializationException",
    )
    return str(caught.value.response["Error"]["Message"])


def test_invoke_with_response_stream_sends_the_answer_and_metrics_in_chunks(client: Any) -> None:
    response = client.invoke_model_with_response_stream(
        modelId=f"us.{HAIKU}",
        body=json.dumps(
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "Hello"}],
            }
        ),
    )
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert chunks[0]["content"][0]["text"].startswith("[emulated")
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] > 0 and metrics["outputTokenCount"] > 0
