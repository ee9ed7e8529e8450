"""Structured output and tool input through boto3: valid against the caller's schema, as Bedrock's.

Covers toolChoice `any` working through the tools (agent loops end on their answer tool), a
named tool's input, and Converse's outputConfig.textFormat in Converse and ConverseStream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.emulator import Emulator, start_emulator
from local.emulator.output_config import SCHEMA_PATH
from local.emulator.tokens import count_tokens
from tests.emulator.clients import error_of, make_client
from tests.emulator.dates import FORMATS_DAY
from tests.emulator.json_schema_check import errors
from tests.emulator.schemas import OPENAI_STRICT, ZOD_LIKE, Node, Order, Receipt

CLAUDE_3_HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"  # no structured output
HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
GPT_OSS = "openai.gpt-oss-20b-1:0"
ASK = [{"role": "user", "content": [{"text": "Read the receipt and extract it"}]}]


def tool(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"toolSpec": {"name": name, "inputSchema": {"json": schema}}}


def output_config(schema: object, **definition: Any) -> dict[str, Any]:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": text, "name": "receipt", **definition}},
        }
    }


def streamed(events: Any) -> tuple[list[Any], str, str]:
    """Return the events, the text deltas joined, and the tool input deltas joined."""
    events = list(events)
    deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    text = "".join(delta.get("text", "") for delta in deltas)
    arguments = "".join(delta["toolUse"]["input"] for delta in deltas if "toolUse" in delta)
    return events, text, arguments


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(today=FORMATS_DAY) as running:
        yield running


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Any:
    return make_client(emulator.url, retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def raw(emulator: Emulator) -> Any:
    """A client that sends what it is given, so the emulator's own checks are what answers."""
    return make_client(emulator.url, retries={"total_max_attempts": 1}, parameter_validation=False)


# --- tool input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [Order.model_json_schema(), Node.model_json_schema(), ZOD_LIKE, OPENAI_STRICT],
    ids=["pydantic nested", "pydantic recursive", "zod-like", "openai strict"],
)
def test_tool_input_is_valid_against_the_tools_schema(client: Any, schema: Any) -> None:
    response = client.converse(
        modelId=CLAUDE_3_HAIKU,
        messages=ASK,
        toolConfig={"tools": [tool("extract", schema)], "toolChoice": {"any": {}}},
    )
    tool_use = response["output"]["message"]["content"][0]["toolUse"]
    assert errors(tool_use["input"], schema) == []


def test_pydantic_tool_input_parses_as_the_model(client: Any) -> None:
    response = client.converse(
        modelId=CLAUDE_3_HAIKU,
        messages=ASK,
        toolConfig={
            "tools": [tool("order", Order.model_json_schema())],
            "toolChoice": {"tool": {"name": "order"}},
        },
    )
    Order.model_validate(response["output"]["message"]["content"][0]["toolUse"]["input"])


def test_a_named_tool_choice_calls_that_tool_even_when_it_was_called_before(client: Any) -> None:
    tools = [tool("first", OPENAI_STRICT), tool("second", ZOD_LIKE)]
    messages = [*ASK, *_turn("prior", "second", {})]
    response = client.converse(
        modelId=CLAUDE_3_HAIKU,
        messages=messages,
        toolConfig={"tools": tools, "toolChoice": {"tool": {"name": "second"}}},
    )
    tool_use = response["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["name"] == "second"
    assert errors(tool_use["input"], ZOD_LIKE) == []


def _turn(tool_use_id: str, name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """An assistant turn calling `name`, and the user turn carrying its result."""
    return [
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": tool_use_id, "name": name, "input": {}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": tool_use_id, "content": [{"json": result}]}}],
        },
    ]


def test_tool_choice_any_calls_each_tool_in_turn_then_keeps_to_the_last(client: Any) -> None:
    # An agent loop: real tools first, the framework's final-answer tool last.
    tools = [
        tool("search", {"type": "object", "properties": {"q": {"type": "string"}}}),
        tool("fetch", {"type": "object", "properties": {"url": {"type": "string"}}}),
        tool("final_answer", Receipt.model_json_schema()),
    ]
    messages: list[dict[str, Any]] = list(ASK)
    called = []
    for _ in range(4):
        response = client.converse(
            modelId=CLAUDE_3_HAIKU,
            messages=messages,
            toolConfig={"tools": tools, "toolChoice": {"any": {}}},
        )
        tool_use = response["output"]["message"]["content"][0]["toolUse"]
        called.append(tool_use["name"])
        messages += [
            response["output"]["message"],
            _turn(tool_use["toolUseId"], tool_use["name"], {"ok": True})[1],
        ]
    assert called == ["search", "fetch", "final_answer", "final_answer"]
    Receipt.model_validate(tool_use["input"])


def test_native_claude_tool_choice_any_moves_on_past_the_tools_already_called(
    client: Any,
) -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    messages = [
        {"role": "user", "content": "Find it"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "search", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "hit"}],
        },
    ]
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": messages,
        "tools": [
            {"name": "search", "input_schema": schema},
            {"name": "final_answer", "input_schema": Receipt.model_json_schema()},
        ],
        "tool_choice": {"type": "any"},
    }
    response = client.invoke_model(modelId=CLAUDE_3_HAIKU, body=json.dumps(body))
    (block,) = json.loads(response["body"].read())["content"]
    assert block["name"] == "final_answer"
    Receipt.model_validate(block["input"])


def test_streamed_tool_input_is_the_same_as_converses(client: Any) -> None:
    kwargs: dict[str, Any] = {
        "modelId": CLAUDE_3_HAIKU,
        "messages": ASK,
        "toolConfig": {"tools": [tool("order", Order.model_json_schema())]},
    }
    kwargs["toolConfig"]["toolChoice"] = {"any": {}}
    whole = client.converse(**kwargs)["output"]["message"]["content"][0]["toolUse"]["input"]
    _, _, arguments = streamed(client.converse_stream(**kwargs)["stream"])
    assert json.loads(arguments) == whole


# --- outputConfig: structured output -----------------------------------------------------------


@pytest.mark.parametrize("model_id", [HAIKU_45, GPT_OSS])
def test_structured_output_answers_json_the_schema_accepts(client: Any, model_id: str) -> None:
    schema = Receipt.model_json_schema()
    plain = client.converse(modelId=model_id, messages=ASK)
    response = client.converse(modelId=model_id, messages=ASK, outputConfig=output_config(schema))
    (block,) = response["output"]["message"]["content"]
    value = json.loads(block["text"])
    assert errors(value, schema) == []
    Receipt.model_validate(value)
    assert response["stopReason"] == "end_turn"
    assert response["usage"]["outputTokens"] == count_tokens(block["text"])
    # The schema is part of the prompt the model reads.
    assert response["usage"]["inputTokens"] > plain["usage"]["inputTokens"]


def test_structured_output_streams_as_several_text_deltas_of_the_same_json(client: Any) -> None:
    kwargs = {"modelId": HAIKU_45, "messages": ASK, "outputConfig": output_config(OPENAI_STRICT)}
    whole = client.converse(**kwargs)
    events, text, _ = streamed(client.converse_stream(**kwargs)["stream"])
    assert sum("contentBlockDelta" in event for event in events) > 1
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert errors(json.loads(text), OPENAI_STRICT) == []
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"


def test_a_forced_tool_wins_over_structured_output_and_auto_chat_gets_the_json(
    client: Any,
) -> None:
    tools = [tool("lookup", {"type": "object", "properties": {"q": {"type": "string"}}})]
    kwargs = {"modelId": HAIKU_45, "messages": ASK, "outputConfig": output_config(OPENAI_STRICT)}
    forced = client.converse(**kwargs, toolConfig={"tools": tools, "toolChoice": {"any": {}}})
    chatted = client.converse(**kwargs, toolConfig={"tools": tools, "toolChoice": {"auto": {}}})
    assert forced["stopReason"] == "tool_use"
    assert chatted["stopReason"] == "end_turn"
    assert (
        errors(json.loads(chatted["output"]["message"]["content"][0]["text"]), OPENAI_STRICT) == []
    )


def test_a_model_without_structured_output_refuses_it(client: Any) -> None:
    code, status, message = error_of(
        client.converse,
        modelId=CLAUDE_3_HAIKU,
        messages=ASK,
        outputConfig=output_config(OPENAI_STRICT),
    )
    assert (code, status) == ("ValidationException", 400)
    assert "doesn't support structured output" in message


def _format(**members: Any) -> dict[str, Any]:
    return {"textFormat": members}


MALFORMED = {
    "schema that is not JSON": (
        output_config("{not json"),
        "ValidationException",
        SCHEMA_PATH,
    ),
    "schema that is a JSON array": (output_config("[1, 2]"), "ValidationException", SCHEMA_PATH),
    "schema sent as an object": (
        _format(type="json_schema", structure={"jsonSchema": {"schema": {"type": "object"}}}),
        "SerializationException",
        SCHEMA_PATH,
    ),
    "no schema": (
        _format(type="json_schema", structure={"jsonSchema": {"name": "x"}}),
        "ValidationException",
        f"'{SCHEMA_PATH}' failed to satisfy constraint: Member must not be null",
    ),
    "unknown type": (
        _format(type="json_object", structure={"jsonSchema": {"schema": "{}"}}),
        "ValidationException",
        "satisfy enum value set: [json_schema]",
    ),
    "no type": (
        _format(structure={"jsonSchema": {"schema": "{}"}}),
        "ValidationException",
        "'outputConfig.textFormat.type' failed to satisfy constraint: Member must not be null",
    ),
    "empty structure union": (
        _format(type="json_schema", structure={}),
        "ValidationException",
        "must set exactly one of its members (jsonSchema)",
    ),
    "no structure": (
        _format(type="json_schema"),
        "ValidationException",
        "'outputConfig.textFormat.structure' failed to satisfy constraint",
    ),
    "name that is not a string": (
        output_config("{}", name=7),
        "SerializationException",
        "outputConfig.textFormat.structure.jsonSchema.name",
    ),
    "numeric bounds": (
        output_config({"type": "integer", "minimum": 1}),
        "ValidationException",
        "doesn't support: minimum",
    ),
    "string length": (
        output_config({"type": "string", "maxLength": 4}),
        "ValidationException",
        "doesn't support: maxLength",
    ),
    "open additionalProperties": (
        output_config({"type": "object", "additionalProperties": True}),
        "ValidationException",
        "additionalProperties other than false",
    ),
    "minItems above one": (
        output_config({"type": "array", "minItems": 2}),
        "ValidationException",
        "minItems 2",
    ),
    "recursive schema": (
        output_config(Node.model_json_schema()),
        "ValidationException",
        "recursive schema",
    ),
    "external $ref": (
        output_config({"$ref": "https://example.com/schema.json"}),
        "ValidationException",
        "external $ref",
    ),
}


@pytest.mark.parametrize(("config", "code", "detail"), MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_or_unsupported_output_config_is_refused(
    raw: Any, config: dict[str, Any], code: str, detail: str
) -> None:
    got_code, status, message = error_of(
        raw.converse, modelId=HAIKU_45, messages=ASK, outputConfig=config
    )
    assert (got_code, status) == (code, 400)
    assert detail in message


def test_a_property_named_like_a_keyword_is_not_a_constraint(client: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"minimum": {"type": "number"}, "maxLength": {"type": "integer"}},
        "required": ["minimum", "maxLength"],
        "additionalProperties": False,
    }
    response = client.converse(modelId=HAIKU_45, messages=ASK, outputConfig=output_config(schema))
    assert errors(json.loads(response["output"]["message"]["content"][0]["text"]), schema) == []
