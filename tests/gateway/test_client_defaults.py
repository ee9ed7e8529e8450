"""What app teams' clients send by default: structured outputs, empty turns, legacy fields.

Each test pins the Converse request the gateway builds (pure mapping), or the answer a client
gets through the gateway with Bedrock stubbed (botocore validates the stubs against the model).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.chat import from_converse, native_schema, parse_chat_request, to_converse
from lambdas.gateway.chat_request import EMPTY_TOOL_RESULT
from lambdas.gateway.embeddings import parse_embedding_request
from lambdas.gateway.errors import ApiError
from lambdas.gateway.settings import Settings
from lambdas.gateway.streaming import ChunkMapper
from model_catalog import get_model
from tests.conftest import routing_json
from tests.gateway.conftest import API_KEY, Gateway
from tests.gateway.harness import API_KEY as HARNESS_KEY
from tests.gateway.harness import local_gateway, log_lines, sse_events
from tests.gateway.test_streaming import FakeClient, FakeStream, run_stream

HAIKU_45 = get_model("anthropic.claude-haiku-4-5-20251001-v1:0")
NOVA_MICRO = get_model("amazon.nova-micro-v1:0")
MISTRAL_7B = get_model("mistral.mistral-7b-instruct-v0:2")
# What openai-python's parse() and LangChain's with_structured_output() send (strict).
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp_c": {"type": "number"}},
    "required": ["city", "temp_c"],
    "additionalProperties": False,
}
WEATHER_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "Weather", "schema": WEATHER_SCHEMA, "strict": True},
}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "Weather in Paris?"}], **extra}


def converse_for(spec: Any, **extra: Any) -> dict[str, Any]:
    return to_converse(parse_chat_request(body(**extra)), spec, spec.model_id)


# --- response_format -------------------------------------------------------------------------


def test_response_format_text_is_openais_default_and_changes_nothing() -> None:
    plain = converse_for(HAIKU_45)
    assert converse_for(HAIKU_45, response_format={"type": "text"}) == plain
    assert "outputConfig" not in plain and "toolConfig" not in plain


def test_a_strict_schema_goes_to_bedrocks_structured_output_where_the_model_has_it() -> None:
    request = converse_for(HAIKU_45, response_format=WEATHER_FORMAT)
    assert "toolConfig" not in request
    fmt = request["outputConfig"]["textFormat"]
    assert fmt["type"] == "json_schema"
    definition = fmt["structure"]["jsonSchema"]
    assert definition["name"] == "Weather"
    # Converse takes the schema as a JSON string.
    assert json.loads(definition["schema"]) == WEATHER_SCHEMA


@pytest.mark.parametrize(
    ("schema", "native"),
    [
        (WEATHER_SCHEMA, True),
        ({**WEATHER_SCHEMA, "additionalProperties": True}, False),
        ({k: v for k, v in WEATHER_SCHEMA.items() if k != "additionalProperties"}, False),
        (
            {
                **WEATHER_SCHEMA,
                "properties": {"city": {"type": "string", "maxLength": 10}, "temp_c": {}},
            },
            False,
        ),
        (
            {
                "type": "object",
                "properties": {"minimum": {"type": "string"}},
                "required": ["minimum"],
                "additionalProperties": False,
            },
            True,  # a property *named* minimum is not the keyword
        ),
        (
            {
                "$defs": {"Node": {"$ref": "#/$defs/Node"}},
                "type": "object",
                "properties": {"n": {"$ref": "#/$defs/Node"}},
                "additionalProperties": False,
            },
            False,  # recursive
        ),
        (
            {
                "type": "object",
                "properties": {"xs": {"type": "array", "minItems": 2}},
                "additionalProperties": False,
            },
            False,
        ),
    ],
)
def test_only_schemas_within_bedrocks_subset_go_native(
    schema: dict[str, Any], native: bool
) -> None:
    assert native_schema(schema) is native
    fmt = {"type": "json_schema", "json_schema": {"name": "R", "schema": schema}}
    request = converse_for(HAIKU_45, response_format=fmt)
    assert ("outputConfig" in request) is native
    assert ("toolConfig" in request) is not native


def test_without_native_structured_output_a_forced_tool_carries_the_schema() -> None:
    request = converse_for(NOVA_MICRO, response_format=WEATHER_FORMAT)
    assert "outputConfig" not in request
    (tool,) = request["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "Weather"
    assert tool["toolSpec"]["inputSchema"] == {"json": WEATHER_SCHEMA}
    assert request["toolConfig"]["toolChoice"] == {"tool": {"name": "Weather"}}


def test_json_object_is_any_object_through_a_forced_tool() -> None:
    request = converse_for(HAIKU_45, response_format={"type": "json_object"})
    (tool,) = request["toolConfig"]["tools"]
    assert tool["toolSpec"]["inputSchema"] == {"json": {"type": "object"}}


def test_with_the_callers_tools_the_model_must_call_one_of_them_or_answer() -> None:
    request = converse_for(NOVA_MICRO, response_format=WEATHER_FORMAT, tools=[TOOL])
    names = [t["toolSpec"]["name"] for t in request["toolConfig"]["tools"]]
    assert names == ["get_weather", "Weather"]
    assert request["toolConfig"]["toolChoice"] == {"any": {}}


def test_the_answer_tools_input_comes_back_as_the_message_content() -> None:
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"text": "Here you go."},
                    {
                        "toolUse": {
                            "toolUseId": "t1",
                            "name": "Weather",
                            "input": {"city": "Paris", "temp_c": 18},
                        }
                    },
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
    }
    answer = from_converse(response, completion_id="c", created=0, model="m", answer_tool="Weather")
    (choice,) = answer["choices"]
    assert json.loads(choice["message"]["content"]) == {"city": "Paris", "temp_c": 18}
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"


def test_a_model_with_neither_structured_output_nor_tools_is_refused_by_name() -> None:
    with pytest.raises(ApiError) as refused:
        converse_for(MISTRAL_7B, response_format=WEATHER_FORMAT)
    assert refused.value.status == 400
    assert refused.value.param == "response_format"
    assert MISTRAL_7B.model_id in refused.value.message


@pytest.mark.parametrize(
    ("value", "param"),
    [
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "a b"}},
            "response_format.json_schema.name",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "R", "schema": "{}"}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_a_malformed_response_format_is_a_400_naming_the_field(
    value: dict[str, Any], param: str
) -> None:
    with pytest.raises(ApiError) as refused:
        parse_chat_request(body(response_format=value))
    assert refused.value.param == param


# --- messages agent loops send ---------------------------------------------------------------


def test_an_empty_tool_result_is_said_in_words_and_a_blank_assistant_turn_is_left_out() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": ""},
    ]
    request = to_converse(
        parse_chat_request({"model": "m", "messages": messages, "tools": [TOOL]}),
        NOVA_MICRO,
        NOVA_MICRO.model_id,
    )
    turns = request["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"] == [{"text": "Hi"}, {"text": "Weather in Paris?"}]
    (result,) = turns[2]["content"]
    assert result["toolResult"]["content"] == [{"text": EMPTY_TOOL_RESULT}]


@pytest.mark.parametrize(
    ("field", "instead"), [("functions", "tools"), ("function_call", "tool_choice")]
)
def test_legacy_function_calling_is_refused_naming_what_to_send(field: str, instead: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_chat_request(body(**{field: [] if field == "functions" else "auto"}))
    assert refused.value.param == field
    assert f"send '{instead}' instead" in refused.value.message


# --- embeddings inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [[[15339, 1917]], [15339, 1917], ["text", [1, 2]]])
def test_token_ids_are_refused_with_the_client_setting_that_sends_text(value: Any) -> None:
    with pytest.raises(ApiError) as refused:
        parse_embedding_request({"model": "embed", "input": value})
    assert refused.value.code == "token_ids_not_supported"
    assert "check_embedding_ctx_length=False" in refused.value.message


def test_an_empty_text_in_a_batch_is_named_by_its_index() -> None:
    with pytest.raises(ApiError) as refused:
        parse_embedding_request({"model": "embed", "input": ["ok", " "]})
    assert refused.value.param == "input[1]"


# --- through the gateway (Bedrock stubbed) ---------------------------------------------------

LLAMA_31_8B = "meta.llama3-1-8b-instruct-v1:0"  # streams text, takes tools, not both at once


@pytest.fixture
def llama() -> Iterator[Gateway]:
    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": routing_json([LLAMA_31_8B, NOVA_MICRO.model_id]),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": API_KEY,
            "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
        }
    )
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield Gateway(GatewayApp(settings, client_factory=lambda: client), stubber)
        stubber.assert_no_pending_responses()


def tool_answer(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": arguments}}
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
        "metrics": {"latencyMs": 3},
    }


def test_a_stream_with_tools_on_a_model_that_cannot_stream_them_is_answered_whole_as_a_stream(
    llama: Gateway,
) -> None:
    # Converse, not ConverseStream: the stubber would fail on a converse_stream call.
    llama.stubber.add_response("converse", tool_answer("get_weather", {"city": "Paris"}))
    response = llama.request(
        "POST",
        "/v1/chat/completions",
        content=json.dumps(
            body(
                model=LLAMA_31_8B,
                stream=True,
                tools=[TOOL],
                stream_options={"include_usage": True},
            )
        ),
    )
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    calls = [
        call
        for event in events[:-1]
        for choice in event["choices"]
        for call in choice["delta"].get("tool_calls", [])
    ]
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads("".join(c["function"].get("arguments", "") for c in calls)) == {
        "city": "Paris"
    }
    finishes = [c["finish_reason"] for e in events[:-1] for c in e["choices"] if c["finish_reason"]]
    assert finishes == ["tool_calls"]
    assert events[-2]["usage"]["total_tokens"] == 12


def test_a_streamed_structured_answer_arrives_as_content_deltas() -> None:
    # Nova Micro has no native structured output: the answer tool's input is the content.
    client = FakeClient(FakeStream(stream_of_tool_use("Weather", '{"city":"Paris","temp_c":18}')))
    status, chunks, _ = run_stream(
        client, body(model=NOVA_MICRO.model_id, stream=True, response_format=WEATHER_FORMAT)
    )
    assert status == 200
    events = sse_events(b"".join(chunks).decode())[:-1]
    content = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
    assert json.loads(content) == {"city": "Paris", "temp_c": 18}
    assert not any(c["delta"].get("tool_calls") for e in events for c in e["choices"])
    finishes = [c["finish_reason"] for e in events for c in e["choices"] if c["finish_reason"]]
    assert finishes == ["stop"]
    (sent,) = client.requests
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": "Weather"}}


def stream_of_tool_use(name: str, arguments: str) -> list[dict[str, Any]]:
    """A ConverseStream answer calling `name` with `arguments` in two deltas."""
    half = len(arguments) // 2
    events = [
        {"messageStart": {"role": "assistant"}},
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": "tooluse_1", "name": name}},
            }
        },
        {
            "contentBlockDelta": {
                "contentBlockIndex": 0,
                "delta": {"toolUse": {"input": arguments[:half]}},
            }
        },
        {
            "contentBlockDelta": {
                "contentBlockIndex": 0,
                "delta": {"toolUse": {"input": arguments[half:]}},
            }
        },
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "tool_use"}},
        {
            "metadata": {
                "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
                "metrics": {"latencyMs": 3},
            }
        },
    ]
    return events


# --- review findings -------------------------------------------------------------------------

LLAMA_33 = get_model("meta.llama3-3-70b-instruct-v1:0")


def test_where_bedrock_cannot_force_a_tool_the_model_is_asked_in_words() -> None:
    request = converse_for(LLAMA_33, response_format=WEATHER_FORMAT)
    assert "toolChoice" not in request["toolConfig"]
    assert [t["toolSpec"]["name"] for t in request["toolConfig"]["tools"]] == ["Weather"]
    assert "calling the tool 'Weather'" in request["system"][-1]["text"]


def test_a_json_answer_in_text_is_taken_when_the_tool_was_not_called() -> None:
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"text": '```json\n{"city": "Paris", "temp_c": 18}\n```'}],
            }
        },
        "stopReason": "end_turn",
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
    }
    answer = from_converse(response, completion_id="c", created=0, model="m", answer_tool="Weather")
    assert answer["choices"][0]["message"]["content"] == '{"city":"Paris","temp_c":18}'


def test_a_cut_structured_answer_says_length_not_stop() -> None:
    response = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "t", "name": "Weather", "input": {"city": "Par"}}}
                ],
            }
        },
        "stopReason": "max_tokens",
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
    }
    answer = from_converse(response, completion_id="c", created=0, model="m", answer_tool="Weather")
    assert answer["choices"][0]["finish_reason"] == "length"


def test_a_streamed_structured_answer_drops_words_before_the_call_and_a_second_call() -> None:
    mapper = ChunkMapper(completion_id="c", model="m", answer_tool="Weather")
    events = [
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Here you go: "}}},
        {
            "contentBlockStart": {
                "contentBlockIndex": 1,
                "start": {"toolUse": {"toolUseId": "a", "name": "Weather"}},
            }
        },
        {
            "contentBlockDelta": {
                "contentBlockIndex": 1,
                "delta": {"toolUse": {"input": '{"city":"Paris"}'}},
            }
        },
        {
            "contentBlockStart": {
                "contentBlockIndex": 2,
                "start": {"toolUse": {"toolUseId": "b", "name": "Weather"}},
            }
        },
        {
            "contentBlockDelta": {
                "contentBlockIndex": 2,
                "delta": {"toolUse": {"input": '{"city":"Oslo"}'}},
            }
        },
        {"messageStop": {"stopReason": "max_tokens"}},
    ]
    chunks = [chunk for event in events for chunk in mapper.feed(event)]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert content == '{"city":"Paris"}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_a_streamed_text_answer_of_an_unforced_model_arrives_whole_at_the_end() -> None:
    mapper = ChunkMapper(completion_id="c", model="m", answer_tool="Weather")
    events = [
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": '{"city": '}}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": '"Paris"}'}}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    chunks = [chunk for event in events for chunk in mapper.feed(event)]
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ['{"city":"Paris"}', None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_errors_count_the_clients_messages_blank_turns_included() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]},
    ]
    with pytest.raises(ApiError) as refused:
        to_converse(parse_chat_request({"model": "m", "messages": messages}), NOVA_MICRO, "x")
    assert refused.value.param == "messages[2].content"


def test_the_answer_tool_never_takes_a_callers_tool_name() -> None:
    def tool(name: str) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name}}

    request = converse_for(
        NOVA_MICRO,
        response_format=WEATHER_FORMAT,
        tools=[tool("Weather"), tool("Weather_response")],
    )
    names = [t["toolSpec"]["name"] for t in request["toolConfig"]["tools"]]
    assert names == ["Weather", "Weather_response", "Weather_response3"]
    assert len(set(names)) == 3


def test_required_with_a_response_format_calls_one_of_the_callers_tools() -> None:
    request = converse_for(
        NOVA_MICRO, response_format=WEATHER_FORMAT, tools=[TOOL], tool_choice="required"
    )
    assert [t["toolSpec"]["name"] for t in request["toolConfig"]["tools"]] == ["get_weather"]
    assert request["toolConfig"]["toolChoice"] == {"any": {}}


# --- a schema Bedrock refuses natively ------------------------------------------------------

# Within the subset as far as the gateway checks, but an enum of objects, which Bedrock's
# structured output refuses (the emulator answers 400 as Bedrock does).
OBJECT_ENUM_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "Pick",
        "schema": {
            "type": "object",
            "properties": {"choice": {"enum": [{"a": 1}, {"b": 2}]}},
            "required": ["choice"],
            "additionalProperties": False,
        },
    },
}


@pytest.mark.parametrize("stream", [False, True])
def test_a_schema_bedrock_refuses_natively_is_served_through_the_answer_tool(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stream: bool
) -> None:
    assert native_schema(OBJECT_ENUM_FORMAT["json_schema"]["schema"])
    with local_gateway(monkeypatch) as gateway:
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": routing_json([HAIKU_45.model_id], cross_region="us"),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEY": HARNESS_KEY,
                "AWS_REGION": "us-east-1",
            }
        )
        gateway.app = GatewayApp(settings)
        answer = gateway.post(
            "/v1/chat/completions",
            body(model=HAIKU_45.model_id, response_format=OBJECT_ENUM_FORMAT, stream=stream),
        )
        assert answer.status_code == 200, answer.text
        if stream:
            events = sse_events(answer.text)[:-1]
            text = "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])
        else:
            text = answer.json()["choices"][0]["message"]["content"]
        assert json.loads(text)["choice"] in ({"a": 1}, {"b": 2})
        first, second = gateway.emulator.requests[-2:]
        assert "outputConfig" in first.body and "outputConfig" not in second.body
        assert second.body["toolConfig"]["toolChoice"] == {"tool": {"name": "Pick"}}
    (line,) = log_lines(capsys)
    assert line["status"] == 200 and line["input_tokens"] > 0
