"""Property-based fuzzing of every POST route: whatever the body, no 5xx and an OpenAI-shaped error.

Bounded (a fixed number of examples per route, derandomized so CI is repeatable): each example
starts from a valid body and mutates it (a field set to any JSON value, removed or added, the
whole body replaced, the bytes broken), then goes through the gateway to the emulator.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import Settings
from local.emulator import start_emulator
from tests.conftest import routing_json
from tests.gateway.harness import ALIASES, ENABLED, NOVA, TODAY

EXAMPLES_PER_ROUTE = 120
MESSAGES = [{"role": "user", "content": "Hi"}]
VALID: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "fast", "messages": MESSAGES, "max_tokens": 20},
    "/v1/embeddings": {"model": "embed", "input": ["a", "b"]},
    "/v1/images/generations": {"model": "image", "prompt": "a kite", "n": 1},
    "/v1/compare": {"models": [NOVA, "amazon.nova-lite-v1:0"], "messages": MESSAGES},
    f"/v1/models/{NOVA}/invoke": {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]},
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def mutated_bodies(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """A valid body, mutated one to three times, serialized (sometimes broken) to bytes."""
    body: Any = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["set", "delete", "add", "replace", "nest"]))
        if not isinstance(body, dict):
            break
        keys = sorted(body) or ["model"]
        if action == "set":
            body[draw(st.sampled_from(keys))] = draw(json_values)
        elif action == "delete" and body:
            body.pop(draw(st.sampled_from(keys)), None)
        elif action == "add":
            body[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        elif action == "replace":
            body = draw(json_values)
        elif action == "nest" and isinstance(body.get("messages"), list) and body["messages"]:
            body["messages"][0] = draw(json_values)
    raw = json.dumps(body).encode()
    breakage = draw(st.sampled_from(["none", "none", "none", "truncate", "garbage"]))
    if breakage == "truncate":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    elif breakage == "garbage":
        raw = raw + draw(st.binary(min_size=1, max_size=8))
    return raw


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewayApp]:
    with start_emulator(today=TODAY) as emulator, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": routing_json(ENABLED, ALIASES),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEY": "k",
                "AWS_REGION": "us-east-1",
                # In-process and one call at a time: fast, and failures point at one body.
                "GATEWAY_THREADED_CALLS": "false",
            }
        )
        yield GatewayApp(settings)


def post(app: GatewayApp, path: str, raw: bytes) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.post(path, content=raw, headers={"authorization": "Bearer k"})

    return asyncio.run(run())


@pytest.mark.parametrize("path", list(VALID))
def test_no_body_gets_a_5xx_and_every_error_is_openai_shaped(
    gateway: GatewayApp, path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(raw=mutated_bodies(VALID[path]))
    def check(raw: bytes) -> None:
        response = post(gateway, path, raw)
        assert response.status_code < 500, (raw[:300], response.text[:300])
        if response.status_code >= 400:
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"}
            assert isinstance(error["message"], str) and len(error["message"]) < 2000

    check()
    capsys.readouterr()  # the gateway's log lines are not what this test reads
