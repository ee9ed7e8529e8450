"""OpenAI chat requests map to exactly the Converse request each model family accepts."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from lambdas.gateway.chat import (
    FOLDED_SYSTEM_HEADER,
    from_converse,
    parse_chat_request,
    to_converse,
)
from lambdas.gateway.errors import ApiError
from model_catalog import get_model

HAIKU = get_model("anthropic.claude-3-haiku-20240307-v1:0")
CLAUDE_35_HAIKU = get_model("anthropic.claude-3-5-haiku-20241022-v1:0")
LLAMA_3_8B = get_model("meta.llama3-8b-instruct-v1:0")
PNG_BYTES = b"\x89PNG\r\n\x1a\nfake"
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


MISTRAL_7B = get_model("mistral.mistral-7b-instruct-v0:2")
SONNET_45 = get_model("anthropic.claude-sonnet-4-5-20250929-v1:0")


def chat(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "fast",
        "messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Hello"},
        ],
    }
    body.update(overrides)
    return body


def test_system_messages_use_the_converse_system_field_when_supported() -> None:
    request = to_converse(parse_chat_request(chat()), HAIKU, "us." + HAIKU.model_id)
    assert request == {
        "modelId": "us.anthropic.claude-3-haiku-20240307-v1:0",
        "system": [{"text": "Answer in French."}],
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
    }


def test_system_messages_fold_into_the_first_user_turn_without_support() -> None:
    request = to_converse(parse_chat_request(chat()), MISTRAL_7B, MISTRAL_7B.model_id)
    assert "system" not in request
    assert request["messages"] == [
        {
            "role": "user",
            "content": [{"text": f"{FOLDED_SYSTEM_HEADER}\nAnswer in French."}, {"text": "Hello"}],
        }
    ]


def test_multi_turn_history_alternates_and_merges_consecutive_roles() -> None:
    body = chat(
        messages=[
            {"role": "user", "content": "One"},
            {"role": "user", "content": [{"type": "text", "text": "Two"}]},
            {"role": "assistant", "content": "Three"},
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "Four"},
        ]
    )
    request = to_converse(parse_chat_request(body), HAIKU, HAIKU.model_id)
    assert request["system"] == [{"text": "Be brief."}]
    assert request["messages"] == [
        {"role": "user", "content": [{"text": "One"}, {"text": "Two"}]},
        {"role": "assistant", "content": [{"text": "Three"}]},
        {"role": "user", "content": [{"text": "Four"}]},
    ]


def test_inference_parameters_map_and_max_tokens_is_capped_to_the_model_limit() -> None:
    body = chat(max_tokens=100_000, temperature=0.2, stop=["END"])
    request = to_converse(parse_chat_request(body), HAIKU, HAIKU.model_id)
    assert request["inferenceConfig"] == {
        "maxTokens": HAIKU.max_output_tokens,
        "temperature": 0.2,
        "stopSequences": ["END"],
    }


def test_max_completion_tokens_is_accepted_as_the_newer_name() -> None:
    request = to_converse(parse_chat_request(chat(max_completion_tokens=50)), HAIKU, HAIKU.model_id)
    assert request["inferenceConfig"] == {"maxTokens": 50}


def test_temperature_and_top_p_together_are_refused_for_claude_45() -> None:
    with pytest.raises(ApiError) as caught:
        to_converse(parse_chat_request(chat(temperature=0.5, top_p=0.9)), SONNET_45, "x")
    assert caught.value.status == 400
    assert SONNET_45.model_id in caught.value.message
    assert caught.value.param == "top_p"


def test_temperature_and_top_p_together_pass_for_other_models() -> None:
    request = to_converse(parse_chat_request(chat(temperature=0.5, top_p=0.9)), HAIKU, "x")
    assert request["inferenceConfig"] == {"temperature": 0.5, "topP": 0.9}


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"model": 42}, "model"),
        ({"messages": []}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [{"role": "system", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0]",
        ),
        (
            {"messages": [{"role": "user", "content": [_image("https://example.com/cat.png")]}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [{"role": "user", "content": [_image("data:image/bmp;base64,AAAA")]}]},
            "messages[0].content[0].image_url.url",
        ),
        (
            {"messages": [{"role": "user", "content": [_image("data:image/png;base64,!!!")]}]},
            "messages[0].content[0].image_url.url",
        ),
        ({"messages": [{"role": "tool", "content": "42"}]}, "messages[0].tool_call_id"),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{"},
                            }
                        ],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools[0].function.name",
        ),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {
                "tools": [WEATHER],
                "tool_choice": {"type": "function", "function": {"name": "other"}},
            },
            "tool_choice.function.name",
        ),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "ten"}, "max_tokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"top_p": "high"}, "top_p"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stream": "yes"}, "stream"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"tools": [{"type": "function"}]}, "tools[0].function"),
    ],
)
def test_bad_fields_get_a_400_naming_the_field(overrides: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_chat_request(chat(**overrides))
    assert caught.value.status == 400
    assert caught.value.param == param
    assert param.split("[")[0] in caught.value.message


def test_conversation_must_start_with_the_user() -> None:
    body = chat(
        messages=[{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Yo"}]
    )
    with pytest.raises(ApiError, match="first non-system message must come from the user"):
        to_converse(parse_chat_request(body), HAIKU, "x")


def test_only_system_messages_are_refused() -> None:
    body = chat(messages=[{"role": "system", "content": "Rules"}])
    with pytest.raises(ApiError, match="at least one user message"):
        to_converse(parse_chat_request(body), HAIKU, "x")


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_stop_reasons_map_to_openai_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    response = {
        "output": {
            "message": {"role": "assistant", "content": [{"text": "Bon"}, {"text": "jour"}]}
        },
        "stopReason": stop_reason,
        "usage": {"inputTokens": 12, "outputTokens": 3, "totalTokens": 15},
    }
    body = from_converse(response, completion_id="chatcmpl-1", created=1, model=HAIKU.model_id)
    assert body["choices"][0]["finish_reason"] == finish_reason
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Bonjour",
        "refusal": None,
    }
    assert body["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    assert body["object"] == "chat.completion"


def test_tools_map_to_converse_tool_config_with_choice() -> None:
    body = chat(tools=[WEATHER], tool_choice="required")
    request = to_converse(parse_chat_request(body), HAIKU, HAIKU.model_id)
    assert request["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},
                }
            }
        ],
        "toolChoice": {"any": {}},
    }
    forced = chat(
        tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "get_weather"}}
    )
    assert to_converse(parse_chat_request(forced), HAIKU, "x")["toolConfig"]["toolChoice"] == {
        "tool": {"name": "get_weather"}
    }
    auto = to_converse(parse_chat_request(chat(tools=[WEATHER])), HAIKU, "x")
    assert "toolChoice" not in auto["toolConfig"]


def test_tool_call_history_maps_to_tool_use_and_tool_result_blocks() -> None:
    body = chat(
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
        ],
    )
    request = to_converse(parse_chat_request(body), HAIKU, "x")
    assert request["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {
                    "toolUse": {
                        "toolUseId": "call_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "call_1", "content": [{"text": "18C and sunny"}]}}
            ],
        },
    ]


def test_tool_choice_none_drops_tools_when_no_tool_history() -> None:
    request = to_converse(parse_chat_request(chat(tools=[WEATHER], tool_choice="none")), HAIKU, "x")
    assert "toolConfig" not in request


def test_tools_on_a_model_without_tool_use_name_model_and_capability() -> None:
    with pytest.raises(ApiError) as caught:
        to_converse(parse_chat_request(chat(tools=[WEATHER])), LLAMA_3_8B, "x")
    assert caught.value.status == 400
    assert LLAMA_3_8B.model_id in caught.value.message and "tool_use" in caught.value.message
    assert caught.value.code == "unsupported_capability"


def test_images_map_to_converse_image_blocks_on_vision_models() -> None:
    body = chat(
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "What is it?"}, _image(PNG_URL)]}
        ]
    )
    request = to_converse(parse_chat_request(body), HAIKU, "x")
    assert request["messages"][0]["content"] == [
        {"text": "What is it?"},
        {"image": {"format": "png", "source": {"bytes": PNG_BYTES}}},
    ]


def test_images_on_a_model_without_vision_are_refused() -> None:
    body = chat(messages=[{"role": "user", "content": [_image(PNG_URL)]}])
    with pytest.raises(ApiError) as caught:
        to_converse(parse_chat_request(body), CLAUDE_35_HAIKU, "x")
    assert "vision" in caught.value.message and CLAUDE_35_HAIKU.model_id in caught.value.message
    assert caught.value.param == "messages[0].content"


def test_tool_use_responses_become_openai_tool_calls() -> None:
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "get_weather",
                            "input": {"city": "Oslo"},
                        }
                    }
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
    }
    body = from_converse(response, completion_id="c", created=1, model=HAIKU.model_id)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {
            "id": "t1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
        }
    ]


def test_tool_history_without_tools_is_refused_in_openai_terms() -> None:
    body = chat(
        messages=[
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]
    )
    with pytest.raises(ApiError) as caught:
        to_converse(parse_chat_request(body), HAIKU, "x")
    assert caught.value.param == "tools"
