"""An in-process gateway on a real bedrock-runtime client, against the emulator on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx
import pytest

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import Settings
from local.emulator import Emulator, start_emulator
from tests.conftest import routing_json

API_KEY = "k"
NOVA = "amazon.nova-micro-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
TITAN_EMBED = "amazon.titan-embed-text-v2:0"
COHERE_EMBED = "cohere.embed-english-v3"
CORE = "stability.stable-image-core-v1:1"
ULTRA = "stability.stable-image-ultra-v1:1"
ENABLED = [NOVA, NOVA_LITE, TITAN_EMBED, COHERE_EMBED, CORE, ULTRA]
ALIASES = {
    "fast": [NOVA, NOVA_LITE],
    "embed": [TITAN_EMBED, COHERE_EMBED],
    "image": [CORE, ULTRA],
}
TODAY = date(2026, 11, 30)
# The fields of the requestContext API Gateway puts in every REST proxy event (payload 1.0),
# which the Web Adapter forwards as the `x-amzn-request-context` header; trimmed to a few.
REQUEST_CONTEXT: dict[str, Any] = {
    "accountId": "123456789012",
    "apiId": "a1b2c3d4e5",
    "resourcePath": "/{proxy+}",
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "stage": "api",
    "identity": {"sourceIp": "10.0.0.1", "apiKeyId": "k1a2b3"},
}


class LocalGateway:
    """A GatewayApp reached through httpx's ASGI transport, with its log lines captured."""

    def __init__(self, app: GatewayApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.request("POST", path, content=content, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return asyncio.run(self.requests([(method, path, kwargs)]))[0]

    async def requests(
        self, calls: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> list[httpx.Response]:
        """Send several requests at once; answers in the same order."""
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:

            async def one(method: str, path: str, kwargs: dict[str, Any]) -> httpx.Response:
                headers = {"authorization": f"Bearer {API_KEY}", **kwargs.pop("headers", {})}
                return await client.request(method, path, headers=headers, timeout=60, **kwargs)

            return list(await asyncio.gather(*(one(m, p, dict(k)) for m, p, k in calls)))


@contextmanager
def local_gateway(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[LocalGateway]:
    """Start an emulator and a gateway on it (threaded calls, as `make run`)."""
    with start_emulator(today=TODAY) as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": routing_json(ENABLED, ALIASES),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEY": API_KEY,
                "AWS_REGION": "us-east-1",
                **env,
            }
        )
        yield LocalGateway(GatewayApp(settings), emulator)


def log_lines(capsys: pytest.CaptureFixture[str], kind: str = "gateway.request") -> list[dict]:
    """The gateway's log lines of one type written so far."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    return [line for line in lines if line.get("type") == kind]


def sse_events(text: str) -> list[Any]:
    """The data of every server-sent event ([DONE] as the string)."""
    events: list[Any] = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events
