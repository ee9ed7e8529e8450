"""InvokeModel in the emulator: every native body, strict like Bedrock, metered in headers."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas.gateway.catalog import Adapter, Api, all_models
from local.emulator import Emulator, start_emulator
from local.emulator.native_formats import native_formats

TITAN_EMBED = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"
SD35 = "stability.sd3-5-large-v1:0"
CANVAS = "amazon.nova-canvas-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator() as running:
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


@pytest.mark.parametrize("dimensions", [256, 512, 1024])
def test_titan_embeddings_have_the_requested_length_unit_norm_and_token_count(
    client: Any, dimensions: int
) -> None:
    body, headers = invoke(
        client, TITAN_EMBED, {"inputText": "hello world", "dimensions": dimensions}
    )
    vector = body["embedding"]
    assert len(vector) == dimensions
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-6)
    assert body["inputTextTokenCount"] > 0
    assert headers["x-amzn-bedrock-input-token-count"] == str(body["inputTextTokenCount"])
    again, _ = invoke(client, TITAN_EMBED, {"inputText": "hello world", "dimensions": dimensions})
    assert again["embedding"] == vector


def test_cohere_embeddings_batch_and_meter_only_in_headers(client: Any) -> None:
    body, headers = invoke(client, COHERE, {"texts": ["a", "b", "c"], "input_type": "search_query"})
    assert [len(v) for v in body["embeddings"]] == [1024] * 3
    assert int(headers["x-amzn-bedrock-input-token-count"]) > 0


def test_stability_returns_one_valid_png(client: Any) -> None:
    body, _ = invoke(client, SD35, {"prompt": "a lighthouse", "aspect_ratio": "16:9", "seed": 3})
    (image,) = body["images"]
    assert base64.b64decode(image).startswith(b"\x89PNG\r\n\x1a\n")
    assert body["finish_reasons"] == [None]


def test_canvas_returns_n_valid_pngs(client: Any) -> None:
    body, _ = invoke(
        client,
        CANVAS,
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a fox"},
            "imageGenerationConfig": {"numberOfImages": 3, "width": 1024, "height": 1024},
        },
    )
    assert len(body["images"]) == 3
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in body["images"])


def test_content_filter_trigger_blocks_images_the_way_each_family_does(client: Any) -> None:
    body, _ = invoke(client, SD35, {"prompt": "blocked-by-filter"})
    assert body["images"] == [] and body["finish_reasons"][0].startswith("Filter reason")
    message = rejected(
        client,
        CANVAS,
        {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "blocked-by-filter"}},
    )
    assert "content filters" in message


@pytest.mark.parametrize(
    ("model_id", "body", "expected"),
    [
        (TITAN_EMBED, {"inputText": "x", "dimensions": 300}, "dimensions"),
        (TITAN_EMBED, {}, "inputText"),
        (COHERE, {"texts": ["x"]}, "input_type"),
        (SD35, {"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio"),
        (SD35, {"prompt": "x", "width": 512}, "width"),
        (
            CANVAS,
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "imageGenerationConfig": {"numberOfImages": 9},
            },
            "numberOfImages",
        ),
        (
            HAIKU,
            {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
            "anthropic_version",
        ),
        ("meta.llama3-8b-instruct-v1:0", {"max_gen_len": 10}, "prompt"),
    ],
    ids=[
        "titan-dimensions",
        "titan-no-text",
        "cohere-no-input-type",
        "sd3-aspect",
        "sd3-width",
        "canvas-too-many",
        "claude-no-version",
        "llama-no-prompt",
    ],
)
def test_bodies_bedrock_would_reject_are_rejected_naming_the_field(
    client: Any, model_id: str, body: dict[str, Any], expected: str
) -> None:
    assert expected in rejected(client, model_id, body)


@pytest.mark.parametrize(
    "spec", [s for s in all_models().values() if s.api is Api.CONVERSE], ids=lambda s: s.model_id
)
def test_every_text_model_has_a_native_format(spec: Any) -> None:
    assert spec.model_id in native_formats()


def test_native_claude_body_answers_in_the_messages_shape(client: Any) -> None:
    body, headers = invoke(
        client,
        f"us.{HAIKU}",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "Hello"}],
        },
    )
    assert body["type"] == "message" and body["content"][0]["text"].startswith("[emulated")
    assert headers["x-amzn-bedrock-output-token-count"] == str(body["usage"]["output_tokens"])


def test_profile_only_models_refuse_their_base_id_on_invoke_too(client: Any) -> None:
    message = rejected(
        client,
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert "on-demand throughput" in message


def test_faults_apply_to_invoke_model(client: Any, emulator: Emulator) -> None:
    emulator.inject_fault("ThrottlingException", operation="InvokeModel")
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=TITAN_EMBED, body=json.dumps({"inputText": "x"}))
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"


def test_every_image_and_embedding_adapter_is_served(client: Any) -> None:
    adapters = {s.adapter for s in all_models().values() if s.api is Api.INVOKE}
    assert adapters == {
        Adapter.TITAN_EMBED,
        Adapter.COHERE_EMBED,
        Adapter.STABILITY_IMAGE,
        Adapter.NOVA_TITAN_IMAGE,
    }


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
