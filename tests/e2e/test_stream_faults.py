"""A Bedrock error in the middle of a stream reaches the OpenAI SDK as an error it raises."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import openai
import pytest
import uvicorn

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import Settings
from local.emulator import Emulator, start_emulator
from tests.conftest import routing_json

pytestmark = pytest.mark.e2e
MODEL = "amazon.nova-micro-v1:0"


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Emulator, str]]:
    with start_emulator() as emulator, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": routing_json([MODEL]),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEY": "k",
                "AWS_REGION": "us-east-1",
            }
        )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                GatewayApp(settings),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        yield emulator, f"http://127.0.0.1:{port}/v1"
        server.should_exit = True
        thread.join(timeout=5)


def test_mid_stream_throttling_is_raised_by_the_sdk_after_partial_text(
    stack: tuple[Emulator, str],
) -> None:
    emulator, base_url = stack
    emulator.cut_stream("ThrottlingException", after_events=4)
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError, match="ThrottlingException"):
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert received, "text before the cut reaches the client"


def test_after_a_cut_the_next_stream_completes(stack: tuple[Emulator, str]) -> None:
    _, base_url = stack
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hello"}], stream=True
    )
    finish = [
        c.choices[0].finish_reason for c in stream if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["stop"]
