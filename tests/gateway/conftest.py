"""An in-process gateway whose boto3 client is a real bedrock-runtime client under a Stubber."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.routing import Routing
from lambdas.gateway.settings import Settings
from tests.conftest import routing_json
from tests.gateway.usage_table import dynamo  # noqa: F401 - the moto usage table, a fixture

API_KEY = "test-key"
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA_MICRO = "amazon.nova-micro-v1:0"
MISTRAL_7B = "mistral.mistral-7b-instruct-v0:2"
TITAN_EMBED = "amazon.titan-embed-text-v2:0"
COHERE_EMBED = "cohere.embed-english-v3"
SD35 = "stability.sd3-5-large-v1:0"
# End of life on Bedrock, but the only catalog model of the Titan/Nova image body: the gateway
# itself never checks dates (synthesis does), so its adapter is still tested through it.
CANVAS = "amazon.nova-canvas-v1:0"
ROUTING = {
    "enabled": [HAIKU, NOVA_MICRO, MISTRAL_7B, TITAN_EMBED, COHERE_EMBED, SD35, CANVAS],
    "aliases": {"fast": [NOVA_MICRO, HAIKU], "embed": [TITAN_EMBED]},
    "cross_region": "us",
}


def invoke_response(body: dict[str, Any], **headers: str) -> dict[str, Any]:
    """A stubbed InvokeModel answer, with Bedrock's token-count headers."""
    data = json.dumps(body).encode()
    return {
        "body": StreamingBody(io.BytesIO(data), len(data)),
        "contentType": "application/json",
        "ResponseMetadata": {"HTTPHeaders": {k.replace("_", "-"): v for k, v in headers.items()}},
    }


def converse_response(
    text: str = "Hello there", input_tokens: int = 10, output_tokens: int = 4
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 42},
    }


class Gateway:
    """Synchronous helper around the ASGI app for tests."""

    def __init__(self, app: GatewayApp, stubber: Stubber) -> None:
        self.app = app
        self.stubber = stubber

    def request(
        self, method: str, path: str, *, key: str | None = API_KEY, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers.setdefault("authorization", f"Bearer {key}")

        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                return await client.request(method, path, headers=headers, **kwargs)

        return asyncio.run(run())

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.request("POST", path, content=json.dumps(body))

    def chat(self, **body: Any) -> httpx.Response:
        payload = {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}], **body}
        return self.request("POST", "/v1/chat/completions", content=json.dumps(payload))


def stubbed_settings() -> Settings:
    """Settings of a gateway whose Bedrock client is stubbed: ROUTING, API_KEY, one attempt."""
    return Settings.from_env(
        {
            "GATEWAY_ROUTING": routing_json(**ROUTING),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": API_KEY,
            # One attempt per model, as deployed: each stubbed error is one Bedrock answer.
            "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
        }
    )


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield Gateway(GatewayApp(stubbed_settings(), client_factory=lambda: client), stubber)
        stubber.assert_no_pending_responses()


@pytest.fixture
def routing() -> Routing:
    return Routing.from_json(routing_json(**ROUTING))
