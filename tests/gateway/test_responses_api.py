"""POST /v1/responses through the official OpenAI SDK, against the emulator.

The Responses API rides on the chat pipeline: the SDK's own models parse every answer and
stream, tool calls round-trip, structured output parses, state-needing fields are refused by
name, and each request is metered once with the usage it reports.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from openai import AsyncOpenAI, BadRequestError
from pydantic import BaseModel

from lambdas.gateway.responses_stream import ResponseEvents
from tests.conftest import routing_json
from tests.gateway.harness import (
    API_KEY,
    NOVA,
    NOVA_LITE,
    LocalGateway,
    local_gateway,
    log_lines,
)

T = TypeVar("T")
HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
PNG_URL = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"],
    "additionalProperties": False,
}


class City(BaseModel):
    name: str
    population: int


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalGateway]:
    with local_gateway(monkeypatch) as running:
        yield running


def sdk(gateway: LocalGateway, call: Callable[[AsyncOpenAI], Awaitable[T]]) -> T:
    """Run `call` with an OpenAI SDK client pointed at the in-process gateway."""

    async def run() -> T:
        transport = httpx.ASGITransport(app=gateway.app)
        async with httpx.AsyncClient(transport=transport, timeout=60) as http:
            client = AsyncOpenAI(
                api_key=API_KEY, base_url="http://gw/v1", http_client=http, max_retries=0
            )
            return await call(client)

    return asyncio.run(run())


def sent(gateway: LocalGateway) -> dict[str, Any]:
    """The body of the last Converse or ConverseStream call the emulator received."""
    return gateway.emulator.requests[-1].body


# --- buffered answers ------------------------------------------------------------------------


def test_a_text_input_gets_a_completed_response_with_output_text_and_usage(
    gateway: LocalGateway,
) -> None:
    raw = sdk(gateway, lambda c: c.responses.with_raw_response.create(model="fast", input="Hello"))
    response = raw.parse()
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed" and response.model == NOVA
    assert 'You said: "Hello"' in response.output_text
    (item,) = response.output
    assert item.type == "message" and item.status == "completed" and item.role == "assistant"
    assert response.usage is not None and response.usage.input_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert raw.headers["x-gateway-model"] == NOVA  # the chat pipeline's headers are kept


def test_an_empty_tool_list_means_no_tools_as_the_agents_sdk_sends_it(
    gateway: LocalGateway,
) -> None:
    response = sdk(gateway, lambda c: c.responses.create(model=NOVA, input="Hi", tools=[]))
    assert response.status == "completed"
    assert "toolConfig" not in sent(gateway)


def test_instructions_become_the_system_prompt(gateway: LocalGateway) -> None:
    response = sdk(
        gateway,
        lambda c: c.responses.create(model=NOVA, instructions="Be terse.", input="Hi"),
    )
    assert sent(gateway)["system"] == [{"text": "Be terse."}]
    assert response.instructions == "Be terse."


def test_an_input_list_carries_the_whole_conversation(gateway: LocalGateway) -> None:
    conversation: Any = [
        {"role": "developer", "content": "Answer in one word."},
        {"role": "user", "content": [{"type": "input_text", "text": "Name a planet."}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Mars.", "annotations": []}],
        },
        {"role": "user", "content": "Another one?"},
    ]
    response = sdk(gateway, lambda c: c.responses.create(model=NOVA, input=conversation))
    body = sent(gateway)
    assert body["system"] == [{"text": "Answer in one word."}]
    assert [turn["role"] for turn in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"] == [{"text": "Mars."}]
    assert 'You said: "Another one?"' in response.output_text


def test_an_input_image_reaches_bedrock_as_an_image_block(gateway: LocalGateway) -> None:
    content: Any = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": PNG_URL, "detail": "auto"},
    ]
    sdk(
        gateway,
        lambda c: c.responses.create(model=NOVA_LITE, input=[{"role": "user", "content": content}]),
    )
    (turn,) = sent(gateway)["messages"]
    assert turn["content"][0] == {"text": "What is this?"}
    assert turn["content"][1]["image"]["format"] == "png"


def test_a_function_tool_is_called_and_its_output_answered_in_a_follow_up(
    gateway: LocalGateway,
) -> None:
    question: Any = [{"role": "user", "content": "What is the weather in Oslo?"}]
    first = sdk(
        gateway,
        lambda c: c.responses.create(model=NOVA, input=question, tools=[WEATHER_TOOL]),
    )
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.id == f"fc_{call.call_id}" and call.status == "completed"
    assert set(json.loads(call.arguments)) == {"city"}
    follow_up = [
        *question,
        *[item.model_dump(exclude_none=True) for item in first.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "4C and sunny"},
    ]
    second = sdk(
        gateway,
        lambda c: c.responses.create(model=NOVA, input=follow_up, tools=[WEATHER_TOOL]),
    )
    turns = sent(gateway)["messages"]
    assert turns[1]["content"][0]["toolUse"]["toolUseId"] == call.call_id
    assert turns[2]["content"][0]["toolResult"]["toolUseId"] == call.call_id
    assert "4C and sunny" in second.output_text


def test_a_forced_function_choice_reaches_bedrock_as_a_tool_choice(gateway: LocalGateway) -> None:
    response = sdk(
        gateway,
        lambda c: c.responses.create(
            model=NOVA,
            input="Hi",
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "name": "get_weather"},
        ),
    )
    assert sent(gateway)["toolConfig"]["toolChoice"] == {"tool": {"name": "get_weather"}}
    assert response.output[0].type == "function_call"


def test_a_json_schema_text_format_answers_json_valid_for_the_schema(
    gateway: LocalGateway,
) -> None:
    response = sdk(
        gateway,
        lambda c: c.responses.create(
            model=NOVA,
            input="Name a city.",
            text={
                "format": {
                    "type": "json_schema",
                    "name": "city",
                    "schema": CITY_SCHEMA,
                    "strict": True,
                }
            },
        ),
    )
    answer = json.loads(response.output_text)
    assert isinstance(answer["name"], str) and isinstance(answer["population"], int)
    assert set(answer) == {"name", "population"}


@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "streamed"])
def test_the_sdks_parse_helper_gets_its_model_natively_or_through_an_answer_tool(
    monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    async def run(client: AsyncOpenAI, model: str) -> Any:
        if not stream:
            return await client.responses.parse(model=model, input="A city?", text_format=City)
        async with client.responses.stream(model=model, input="A city?", text_format=City) as s:
            return await s.get_final_response()

    routing = routing_json([NOVA, HAIKU], cross_region="us")
    with local_gateway(monkeypatch, GATEWAY_ROUTING=routing) as gateway:
        for model, native in ((HAIKU, True), (NOVA, False)):
            response = sdk(gateway, functools.partial(run, model=model))
            assert isinstance(response.output_parsed, City), model
            # Haiku has Converse structured output; Nova answers by a forced tool call.
            assert ("outputConfig" in sent(gateway)) is native


def test_a_cut_answer_is_incomplete_for_max_output_tokens(gateway: LocalGateway) -> None:
    response = sdk(
        gateway, lambda c: c.responses.create(model=NOVA, input="Hello", max_output_tokens=3)
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert sent(gateway)["inferenceConfig"]["maxTokens"] == 3


# --- streamed answers ------------------------------------------------------------------------


def test_a_stream_sends_text_deltas_then_completed_with_usage(gateway: LocalGateway) -> None:
    async def run(client: AsyncOpenAI) -> tuple[list[Any], Any]:
        async with client.responses.stream(model=NOVA, input="Hello there") as stream:
            events = [event async for event in stream]
            return events, await stream.get_final_response()

    events, final = sdk(gateway, run)
    kinds = [event.type for event in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert 'You said: "Hello there"' in deltas and final.output_text == deltas
    assert final.status == "completed" and final.model == NOVA
    assert final.usage is not None and final.usage.output_tokens > 0


def test_a_streamed_function_call_arrives_as_an_item_with_argument_deltas(
    gateway: LocalGateway,
) -> None:
    async def run(client: AsyncOpenAI) -> list[Any]:
        stream = await client.responses.create(
            model=NOVA, input="The weather in Oslo?", tools=[WEATHER_TOOL], stream=True
        )
        return [event async for event in stream]

    events = sdk(gateway, run)
    kinds = [event.type for event in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert set(json.loads(done.arguments)) == {"city"}
    completed = events[-1]
    assert completed.type == "response.completed"
    (call,) = completed.response.output
    assert call.type == "function_call" and call.arguments == done.arguments


def test_a_stream_cut_by_bedrock_ends_with_an_error_and_response_failed(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.emulator.cut_stream("ModelStreamErrorException", after_events=4, model_id=NOVA)

    async def run(client: AsyncOpenAI) -> list[Any]:
        stream = await client.responses.create(model=NOVA, input="Hello", stream=True)
        return [event async for event in stream]

    events = sdk(gateway, run)
    error, failed = events[-2:]
    assert error.type == "error" and error.code == "ModelStreamErrorException"
    assert failed.type == "response.failed" and failed.response.status == "failed"
    assert failed.response.error.code == "ModelStreamErrorException"
    (line,) = log_lines(capsys)
    assert line["stream_error_status"] == 502 and line["input_tokens"] > 0


def test_closing_the_events_closes_the_chat_stream_it_reads() -> None:
    class Chunks:
        closed = False

        def __iter__(self) -> Chunks:
            return self

        def __next__(self) -> bytes:
            return b'data: {"model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'

        def close(self) -> None:
            self.closed = True

    chunks = Chunks()
    events = ResponseEvents(chunks, {"id": "resp_1", "model": "m"})
    assert next(events).startswith(b"event: response.created\n")
    events.close()
    assert chunks.closed


# --- metering --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "streamed"])
def test_a_response_is_metered_once_with_the_usage_it_reports(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str], stream: bool
) -> None:
    async def run(client: AsyncOpenAI) -> Any:
        if not stream:
            return await client.responses.create(model=NOVA, input="Hello")
        async with client.responses.stream(model=NOVA, input="Hello") as events:
            return await events.get_final_response()

    response = sdk(gateway, run)
    (line,) = log_lines(capsys)
    assert line["path"] == "/v1/responses" and line["streamed"] is stream
    assert line["input_tokens"] == response.usage.input_tokens
    assert line["output_tokens"] == response.usage.output_tokens
    assert line["usage_estimated"] is False and line["cost_usd"] > 0


# --- refused requests ------------------------------------------------------------------------


def bad_request(gateway: LocalGateway, **body: Any) -> BadRequestError:
    async def run(client: AsyncOpenAI) -> None:
        await client.responses.create(**{"model": NOVA, "input": "Hi", **body})

    with pytest.raises(BadRequestError) as raised:
        sdk(gateway, run)
    return raised.value


def test_previous_response_id_is_refused_with_a_code_saying_to_send_the_conversation(
    gateway: LocalGateway,
) -> None:
    error = bad_request(gateway, previous_response_id="resp_123")
    assert error.code == "previous_response_not_supported"
    assert "send the whole conversation in 'input'" in error.message
    assert gateway.emulator.requests == []


def test_an_item_reference_is_refused_as_it_needs_stored_items(gateway: LocalGateway) -> None:
    error = bad_request(gateway, input=[{"type": "item_reference", "id": "msg_1"}])
    assert error.code == "item_reference_not_supported"


def test_a_built_in_tool_type_is_refused_by_name(gateway: LocalGateway) -> None:
    error = bad_request(gateway, tools=[WEATHER_TOOL, {"type": "web_search"}])
    assert error.code == "unsupported_tool_type"
    assert "'web_search'" in error.message
    assert error.body is not None and error.body["param"] == "tools[1].type"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"input": [{"role": "user", "content": "  "}]}, "input[0].content"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "input[0].content[0].image_url",
        ),
        ({"tools": [{"type": "function", "name": "bad name"}]}, "tools[0].name"),
        ({"text": {"format": {"type": "json_schema", "name": "a b"}}}, "text.format.name"),
        ({"instructions": " ", "input": []}, "input"),
        (
            {"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "x"}]},
            "input[0].arguments",
        ),
    ],
)
def test_errors_name_the_responses_parameter_not_the_chat_one(
    gateway: LocalGateway, body: dict[str, Any], param: str
) -> None:
    error = bad_request(gateway, **body)
    assert error.body is not None and error.body["param"] == param  # type: ignore[index]
    assert f"'{param}'" in error.message
