"""Every catalog model works end to end through the gateway against the strict emulator.

The emulator rejects what Bedrock rejects (a system prompt to a model without system support,
tools to a model without tool use, both temperature and top_p to Claude 4.5, max_tokens above
the model's limit...), so these tests catch per-family mistakes in the gateway's requests.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.bedrock import create_client
from lambdas.gateway.catalog import (
    Capability,
    Geography,
    ImageQuality,
    LifecycleStatus,
    Modality,
    ModelSpec,
)
from lambdas.gateway.routing import Routing
from lambdas.gateway.settings import Settings
from local.emulator import Emulator, start_emulator
from model_catalog import all_models

# The catalog's facts were checked on this day; the emulator compares lifecycle dates with it.
TODAY = date(2026, 11, 30)
ALL = list(all_models().values())
SPECS = [s for s in ALL if s.lifecycle.status_on(TODAY) is not LifecycleStatus.END_OF_LIFE]
DEAD = [s for s in ALL if s.lifecycle.status_on(TODAY) is LifecycleStatus.END_OF_LIFE]
TEXT = [s for s in SPECS if s.modality is Modality.TEXT]
EMBEDDING = [s for s in SPECS if s.modality is Modality.EMBEDDING]
IMAGE = [s for s in SPECS if s.modality is Modality.IMAGE]
TOOLS = [s for s in TEXT if s.supports(Capability.TOOL_USE)]
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(today=TODAY) as running:
        yield running


@pytest.fixture(scope="module")
def call(emulator: Emulator) -> Iterator[Any]:
    # Every model that requires a profile offers a US one, so the whole catalog is callable.
    routing = Routing(enabled=tuple(ALL), aliases={}, geography=Geography.US)
    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": routing.to_json(),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": "k",
            "AWS_REGION": "us-east-1",
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        # The gateway's own client factory (retries, timeouts) finds the emulator this way.
        patch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        client = create_client(settings)
    app = GatewayApp(settings, client_factory=lambda: client)

    def post(path: str, body: dict[str, Any]) -> httpx.Response:
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
                return await http.post(path, json=body, headers={"authorization": "Bearer k"})

        return asyncio.run(run())

    yield post


def ids(spec: ModelSpec) -> str:
    return spec.model_id


@pytest.mark.parametrize("spec", TEXT, ids=ids)
def test_chat_with_system_prompt_and_sampling_works_on_every_text_model(
    call: Any, emulator: Emulator, spec: ModelSpec
) -> None:
    body: dict[str, Any] = {
        "model": spec.model_id,
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Name a planet."},
            {"role": "assistant", "content": "Mars."},
            {"role": "user", "content": "Another one?"},
        ],
        "max_tokens": 1_000_000,  # capped to the model's own limit
        "stop": ["###"],
    }
    if not spec.supports(Capability.NO_SAMPLING_PARAMETERS):
        body["temperature"] = 0.3
        if not spec.supports(Capability.EXCLUSIVE_TEMPERATURE_TOP_P):
            body["top_p"] = 0.9
    response = call("/v1/chat/completions", body)
    assert response.status_code == 200, response.text
    sent = emulator.requests[-1].body
    assert sent["inferenceConfig"]["maxTokens"] == spec.max_output_tokens
    assert ("system" in sent) is spec.supports(Capability.SYSTEM_PROMPT)
    assert response.json()["usage"]["total_tokens"] > 0


@pytest.mark.parametrize(
    "spec", [s for s in TEXT if s.supports(Capability.NO_SAMPLING_PARAMETERS)], ids=ids
)
def test_sampling_parameters_are_refused_by_name_where_the_model_takes_none(
    call: Any, spec: ModelSpec
) -> None:
    response = call(
        "/v1/chat/completions",
        {"model": spec.model_id, "messages": [{"role": "user", "content": "Hi"}], "top_p": 0.5},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "top_p" and spec.model_id in error["message"]


@pytest.mark.parametrize("spec", TEXT, ids=ids)
def test_every_text_model_streams_those_that_cannot_answer_whole_as_a_stream(
    call: Any, spec: ModelSpec
) -> None:
    # The emulator refuses ConverseStream where Bedrock does (Llama 4): the gateway then calls
    # Converse and sends its answer as the stream the client asked for.
    response = call(
        "/v1/chat/completions",
        {"model": spec.model_id, "messages": [{"role": "user", "content": "Hi"}], "stream": True},
    )
    assert response.status_code == 200, response.text
    assert response.text.rstrip().endswith("data: [DONE]")
    assert '"content":"[emulated' in response.text


@pytest.mark.parametrize("spec", TOOLS, ids=ids)
def test_tool_calls_work_on_every_tool_model(call: Any, spec: ModelSpec) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {
                    "type": "object",
                    "properties": {"q": {"type": "string"}},
                    "required": ["q"],
                },
            },
        }
    ]
    # Bedrock forces a tool call only on Claude and Nova (ToolChoice, API reference): the
    # others are asked (`auto`) in words a model calls a tool for.
    forced = spec.supports(Capability.FORCED_TOOL_CHOICE)
    response = call(
        "/v1/chat/completions",
        {
            "model": spec.model_id,
            "tools": tools,
            "tool_choice": "required" if forced else "auto",
            "messages": [{"role": "user", "content": "Look up the weather in Paris"}],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "lookup"
    if not forced:
        refused = call(
            "/v1/chat/completions",
            {
                "model": spec.model_id,
                "tools": tools,
                "tool_choice": "required",
                "messages": [{"role": "user", "content": "Look it up"}],
            },
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "tool_choice"
        assert spec.model_id in refused.json()["error"]["message"]


@pytest.mark.parametrize("spec", [s for s in TEXT if not s.supports(Capability.TOOL_USE)], ids=ids)
def test_tools_are_refused_by_name_on_models_without_tool_use(call: Any, spec: ModelSpec) -> None:
    response = call(
        "/v1/chat/completions",
        {
            "model": spec.model_id,
            "messages": [{"role": "user", "content": "Hi"}],
            "tools": [{"type": "function", "function": {"name": "lookup"}}],
        },
    )
    assert response.status_code == 400
    assert spec.model_id in response.json()["error"]["message"]


@pytest.mark.parametrize("spec", TEXT, ids=ids)
def test_images_work_on_vision_models_and_are_refused_elsewhere(call: Any, spec: ModelSpec) -> None:
    response = call(
        "/v1/chat/completions",
        {
            "model": spec.model_id,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": PNG}},
                    ],
                }
            ],
        },
    )
    expected = 200 if spec.supports(Capability.VISION) else 400
    assert response.status_code == expected, response.text


@pytest.mark.parametrize("spec", EMBEDDING, ids=ids)
def test_embeddings_work_on_every_embedding_model(call: Any, spec: ModelSpec) -> None:
    response = call("/v1/embeddings", {"model": spec.model_id, "input": ["alpha", "beta"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) == 2 and body["usage"]["prompt_tokens"] > 0


@pytest.mark.parametrize("spec", IMAGE, ids=ids)
def test_images_generate_on_every_image_model(call: Any, spec: ModelSpec) -> None:
    response = call(
        "/v1/images/generations",
        {"model": spec.model_id, "prompt": "a kite", "n": 2, "size": "1024x1024", "seed": 3},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 2
    per_image = spec.pricing.image_price(1024, 1024, ImageQuality.STANDARD)
    assert response.headers["x-gateway-cost-usd"] == f"{per_image * 2:.8f}"


@pytest.mark.parametrize("spec", DEAD, ids=ids)
def test_end_of_life_models_fail_as_bedrock_fails_them(call: Any, spec: ModelSpec) -> None:
    route, body = {
        Modality.TEXT: ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]}),
        Modality.EMBEDDING: ("/v1/embeddings", {"input": "Hi"}),
        Modality.IMAGE: ("/v1/images/generations", {"prompt": "a kite"}),
    }[spec.modality]
    response = call(route, {"model": spec.model_id, **body})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "ResourceNotFoundException"
    assert "reached the end of its life" in error["message"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("ModelTimeoutException", 504),
        ("ServiceUnavailableException", 503),
        ("ModelErrorException", 502),
        ("InternalServerException", 502),
    ],
)
def test_injected_emulator_faults_reach_the_client_mapped(
    call: Any, emulator: Emulator, code: str, status: int
) -> None:
    # botocore retries once (two attempts): inject enough faults to exhaust them.
    emulator.inject_fault(code, times=2)
    response = call(
        "/v1/chat/completions",
        {"model": "amazon.nova-micro-v1:0", "messages": [{"role": "user", "content": "Hi"}]},
    )
    emulator.clear()
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert json.loads(response.text)["error"]["message"]
