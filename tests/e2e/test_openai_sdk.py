"""End to end on loopback: `python -m local.run` (emulator + gateway), called by the OpenAI SDK."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from openai import OpenAI, PermissionDeniedError

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
API_KEY = "e2e-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalGateway:
    base_url: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="module")
def local_gateway() -> Iterator[LocalGateway]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "EMULATOR_PORT": str(free_port()),
        "GATEWAY_API_KEY": API_KEY,
        "GATEWAY_BACKEND": "emulator",
        # Nothing here may reach AWS: the emulator is the only Bedrock.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }
    env.pop("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run", "--env", "dev"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(
                    f"gateway did not start:\n{process.stdout.read() if process.stdout else ''}"
                ) from None
            time.sleep(0.1)
    try:
        yield LocalGateway(base_url=f"{base}/v1", process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_openai_sdk_gets_a_chat_completion_from_the_emulator(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    completion = client.chat.completions.create(
        model="balanced",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Name a colour of the sky."},
        ],
        max_tokens=200,
    )
    text = completion.choices[0].message.content or ""
    assert "emulated" in text.lower()
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "anthropic.claude-3-haiku-20240307-v1:0"
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert (
        completion.usage.total_tokens
        == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_openai_sdk_lists_models_and_aliases(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    ids = {model.id for model in client.models.list()}
    assert {"fast", "balanced", "best", "anthropic.claude-3-haiku-20240307-v1:0"} <= ids


def test_openai_sdk_surfaces_gateway_errors(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY, max_retries=0)
    with pytest.raises(PermissionDeniedError, match="not enabled"):
        client.chat.completions.create(
            model="anthropic.claude-3-opus-20240229-v1:0",
            messages=[{"role": "user", "content": "Hi"}],
        )


def test_readme_curl_example_works(local_gateway: LocalGateway) -> None:
    request = urllib.request.Request(
        f"{local_gateway.base_url}/chat/completions",
        data=json.dumps(
            {"model": "balanced", "messages": [{"role": "user", "content": "Hello!"}]}
        ).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert body["object"] == "chat.completion"
    assert response.headers["x-gateway-cost-usd"]
