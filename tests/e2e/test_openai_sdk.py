"""End to end on loopback: `python -m local.run` (emulator + gateway), called by the OpenAI SDK."""

from __future__ import annotations

import base64
import json

import pytest
from openai import BadRequestError, OpenAI, PermissionDeniedError

from tests.e2e.conftest import API_KEY, LocalGateway

pytestmark = pytest.mark.e2e


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
    assert completion.model == "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert completion.usage is not None and completion.usage.prompt_tokens > 0
    assert (
        completion.usage.total_tokens
        == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_openai_sdk_lists_models_and_aliases(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    ids = {model.id for model in client.models.list()}
    assert {"fast", "balanced", "best", "anthropic.claude-haiku-4-5-20251001-v1:0"} <= ids


def test_openai_sdk_surfaces_gateway_errors(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY, max_retries=0)
    with pytest.raises(PermissionDeniedError, match="not enabled"):
        client.chat.completions.create(
            model="anthropic.claude-3-opus-20240229-v1:0",
            messages=[{"role": "user", "content": "Hi"}],
        )


def test_openai_sdk_runs_a_tool_call_round_trip(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    messages: list = [{"role": "user", "content": "What is the weather in Oslo?"}]
    first = client.chat.completions.create(
        model="anthropic.claude-haiku-4-5-20251001-v1:0",
        messages=messages,
        tools=tools,
        tool_choice="required",
    )
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "emulated"}
    messages += [
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": "4C"},
    ]
    final = client.chat.completions.create(
        model="anthropic.claude-haiku-4-5-20251001-v1:0", messages=messages, tools=tools
    )
    assert final.choices[0].finish_reason == "stop"
    assert "emulated" in (final.choices[0].message.content or "")


def test_openai_sdk_embeddings_default_base64_decode_to_the_requested_dimensions(
    local_gateway: LocalGateway,
) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    # The SDK asks for base64 unless told otherwise and decodes it itself.
    result = client.embeddings.create(model="embed", input=["one", "two"], dimensions=512)
    assert [len(item.embedding) for item in result.data] == [512, 512]
    assert result.usage.prompt_tokens > 0
    floats = client.embeddings.create(
        model="embed", input="one", dimensions=512, encoding_format="float"
    )
    assert floats.data[0].embedding == pytest.approx(result.data[0].embedding, rel=1e-6)


def test_openai_sdk_generates_valid_png_images(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    for model in ("image", "stability.stable-image-core-v1:1"):
        result = client.images.generate(
            model=model, prompt="a red kite", n=2, response_format="b64_json"
        )
        assert len(result.data) == 2
        for item in result.data:
            assert base64.b64decode(item.b64_json or "").startswith(b"\x89PNG\r\n\x1a\n")


def test_openai_sdk_surfaces_a_filtered_image_as_a_bad_request(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY, max_retries=0)
    with pytest.raises(BadRequestError, match=r"content_policy_violation|refused"):
        client.images.generate(model="image", prompt="blocked-by-filter please")


def test_openai_sdk_iterates_a_streamed_answer_with_usage_last(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    stream = client.chat.completions.create(
        model="balanced",
        messages=[{"role": "user", "content": "Tell me a long story about a lighthouse."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("[emulated Claude Haiku 4.5]")
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_openai_sdk_streams_tool_calls(local_gateway: LocalGateway) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY)
    stream = client.chat.completions.create(
        model="anthropic.claude-haiku-4-5-20251001-v1:0",
        messages=[{"role": "user", "content": "Weather in Rome?"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ],
        tool_choice="required",
        stream=True,
    )
    calls = [
        call
        for chunk in stream
        if chunk.choices and chunk.choices[0].delta.tool_calls
        for call in chunk.choices[0].delta.tool_calls
    ]
    assert calls[0].function.name == "get_weather" and calls[0].id
    arguments = "".join(call.function.arguments or "" for call in calls)
    assert json.loads(arguments) == {"city": "emulated"}


@pytest.mark.parametrize("alias", ["fast", "balanced", "best", "embed", "image"])
def test_make_run_answers_on_every_default_alias(local_gateway: LocalGateway, alias: str) -> None:
    client = OpenAI(base_url=local_gateway.base_url, api_key=API_KEY, max_retries=0)
    if alias == "embed":
        vectors = client.embeddings.create(model=alias, input="a lighthouse")
        assert vectors.data[0].embedding and vectors.usage.prompt_tokens > 0
    elif alias == "image":
        image = client.images.generate(
            model=alias, prompt="a lighthouse", response_format="b64_json"
        )
        assert base64.b64decode(image.data[0].b64_json or "").startswith(b"\x89PNG")
    else:
        reply = client.chat.completions.create(
            model=alias, messages=[{"role": "user", "content": "Hi"}]
        )
        assert reply.choices[0].message.content and reply.usage is not None
