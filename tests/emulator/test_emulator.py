"""The emulator speaks Bedrock's wire protocol: real boto3 clients parse its answers and errors."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.gateway.catalog import Api, Capability, LifecycleStatus, Modality, ModelSpec
from local.emulator import Emulator, start_emulator
from local.emulator.tokens import count_tokens, truncate_to_tokens
from model_catalog import all_models
from tests.emulator.clients import error_of, make_client
from tests.emulator.dates import FORMATS_DAY

ROOT = Path(__file__).resolve().parents[2]
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
USER_HI = [{"role": "user", "content": [{"text": "Hi there"}]}]
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer"},
                    "threshold": {"type": "number"},
                    "metric": {"type": "boolean"},
                    "note": {"type": "string"},
                },
                "required": ["city", "days", "threshold", "metric"],
            }
        },
    }
}
TIME_TOOL = {
    "toolSpec": {
        "name": "get_time",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"zone": {"type": "string"}},
                "required": ["zone"],
            }
        },
    }
}
FAULTS = [
    ("ThrottlingException", 429),
    ("ServiceUnavailableException", 503),
    ("ModelTimeoutException", 408),
    ("InternalServerException", 500),
    ("ModelNotReadyException", 429),
    ("ModelErrorException", 424),
    ("AccessDeniedException", 403),
    ("ResourceNotFoundException", 404),
]


# --- catalog look-ups, so the tests follow the catalog instead of hard-coding its contents ---

CHAT_MODELS = sorted(
    (
        spec
        for spec in all_models().values()
        if spec.api is Api.CONVERSE
        and spec.lifecycle.status_on(FORMATS_DAY) is not LifecycleStatus.END_OF_LIFE
    ),
    key=lambda spec: spec.model_id,
)


def invocation_ids(spec: ModelSpec) -> list[str]:
    """Every id Bedrock accepts for `spec`: its base id (unless profile-only) and its profiles."""
    profiles = [spec.profile_id(geography) for geography in sorted(spec.profile_geographies)]
    return profiles if spec.requires_profile else [spec.model_id, *profiles]


def any_id(spec: ModelSpec) -> str:
    """One id that `spec` can be invoked by."""
    return invocation_ids(spec)[0]


def model_lacking(capability: Capability) -> str:
    """An invocable id of a chat model without `capability`."""
    return any_id(next(spec for spec in CHAT_MODELS if not spec.supports(capability)))


def model_with(capability: Capability) -> ModelSpec:
    """A chat model with `capability`."""
    return next(spec for spec in CHAT_MODELS if spec.supports(capability))


def first_of(modality: Modality) -> str:
    """A catalog model of `modality` (not served by Converse)."""
    return next(spec.model_id for spec in all_models().values() if spec.modality is modality)


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(today=FORMATS_DAY) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(emulator: Emulator) -> None:
    emulator.clear()


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Any:
    """A client that makes one attempt per call, so an injected fault is what it reports."""
    return make_client(emulator.url, retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def lenient(emulator: Emulator) -> Any:
    """A one-attempt client without botocore's own parameter checks: the server must judge."""
    return make_client(
        emulator.url,
        retries={"mode": "standard", "total_max_attempts": 1},
        parameter_validation=False,
    )


def text_of(response: dict[str, Any]) -> str:
    (block,) = response["output"]["message"]["content"]
    return str(block["text"])


def post(emulator: Emulator, path: str, body: bytes, method: str = "POST") -> Any:
    """Send a raw HTTP request; return (status, headers, decoded JSON body)."""
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


# --- Converse round trip ----------------------------------------------------------------------


def test_converse_answers_with_marked_text_quoting_the_last_user_message(client: Any) -> None:
    messages = [
        {"role": "user", "content": [{"text": "First question"}]},
        {"role": "assistant", "content": [{"text": "First answer"}]},
        {"role": "user", "content": [{"text": "Name a colour of the sky."}]},
    ]
    response = client.converse(modelId=HAIKU, messages=messages)
    text = text_of(response)
    assert text.startswith("[emulated Claude 3 Haiku]")
    assert "Name a colour of the sky." in text
    assert "First question" not in text
    assert response["output"]["message"]["role"] == "assistant"
    assert response["stopReason"] == "end_turn"
    assert response["metrics"]["latencyMs"] > 0
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    assert response["ResponseMetadata"]["RequestId"]


def test_usage_is_consistent_and_grows_with_the_prompt(client: Any) -> None:
    short = client.converse(modelId=HAIKU, messages=USER_HI)["usage"]
    longer = client.converse(
        modelId=HAIKU,
        messages=USER_HI,
        system=[{"text": "You are a careful assistant who answers in one short sentence."}],
    )["usage"]
    for usage in (short, longer):
        assert usage["inputTokens"] >= 1 and usage["outputTokens"] >= 1
        assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert longer["inputTokens"] > short["inputTokens"]


def test_the_same_request_gets_the_same_answer(client: Any) -> None:
    kwargs = {"modelId": HAIKU, "messages": USER_HI, "inferenceConfig": {"temperature": 0.7}}
    first, second = client.converse(**kwargs), client.converse(**kwargs)
    for key in ("output", "stopReason", "usage", "metrics"):
        assert first[key] == second[key]


@pytest.mark.parametrize(
    "model_id", [model_id for spec in CHAT_MODELS for model_id in invocation_ids(spec)]
)
def test_every_catalog_chat_model_answers_under_each_id_it_can_be_invoked_by(
    client: Any, model_id: str
) -> None:
    spec = next(spec for spec in CHAT_MODELS if model_id in invocation_ids(spec))
    assert text_of(client.converse(modelId=model_id, messages=USER_HI)).startswith(
        f"[emulated {spec.name}]"
    )


def test_an_inference_profile_id_is_accepted_for_an_on_demand_model(client: Any) -> None:
    response = client.converse(modelId=f"eu.{HAIKU}", messages=USER_HI)
    assert text_of(response).startswith("[emulated Claude 3 Haiku]")


def test_image_content_is_accepted_by_a_vision_model_and_counted(client: Any) -> None:
    vision = any_id(model_with(Capability.VISION))
    plain = client.converse(modelId=vision, messages=USER_HI)
    with_image = client.converse(
        modelId=vision,
        messages=[
            {
                "role": "user",
                "content": [
                    {"text": "Hi there"},
                    {"image": {"format": "png", "source": {"bytes": b"\x89PNG\r\n\x1a\n"}}},
                ],
            }
        ],
    )
    assert with_image["usage"]["inputTokens"] > plain["usage"]["inputTokens"]


def test_a_document_is_accepted_by_a_document_model_and_counted(client: Any) -> None:
    model = any_id(model_with(Capability.DOCUMENT_CHAT))
    document = {"format": "txt", "name": "notes", "source": {"bytes": b"word " * 400}}
    plain = client.converse(modelId=model, messages=USER_HI)
    with_document = client.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": "Hi there"}, {"document": document}]}],
    )
    assert with_document["usage"]["inputTokens"] >= plain["usage"]["inputTokens"] + 400


def test_token_estimates_count_word_pieces_and_punctuation() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("internationalization") == 4  # long words count as several pieces
    assert count_tokens("   ") == 0
    assert truncate_to_tokens("one two, three", 3) == ("one two,", 3, True)
    assert truncate_to_tokens("one two", 5) == ("one two", 2, False)


# --- rejections: what Bedrock refuses, with its error shape ------------------------------------


def test_unknown_model_identifier_is_rejected_as_invalid(client: Any) -> None:
    code, status, message = error_of(client.converse, modelId="openai.gpt-4o", messages=USER_HI)
    assert (code, status, message) == (
        "ValidationException",
        400,
        "The provided model identifier is invalid.",
    )


@pytest.mark.parametrize("modality", [Modality.EMBEDDING, Modality.IMAGE])
def test_models_converse_does_not_serve_are_rejected(client: Any, modality: Modality) -> None:
    code, status, message = error_of(client.converse, modelId=first_of(modality), messages=USER_HI)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("This action doesn't support the model that you provided.")


def test_base_id_of_a_profile_only_model_is_rejected_as_on_demand(client: Any) -> None:
    spec = next(spec for spec in CHAT_MODELS if spec.requires_profile)
    code, status, message = error_of(client.converse, modelId=spec.model_id, messages=USER_HI)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith(
        f"Invocation of model ID {spec.model_id} with on-demand throughput isn't supported."
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Value null at 'messages'"),
        ({"messages": []}, "at 'messages' failed to satisfy constraint"),
        (
            {"messages": [{"role": "assistant", "content": [{"text": "x"}]}]},
            "A conversation must start with a user message.",
        ),
        ({"messages": USER_HI * 2}, "A conversation must alternate between user and assistant"),
        (
            {"messages": [{"role": "user", "content": []}]},
            "The content field in the Message object at messages.0 is empty.",
        ),
        (
            {"messages": [{"role": "system", "content": [{"text": "x"}]}]},
            "Member must satisfy enum value set: [user, assistant]",
        ),
        (
            {"messages": [{"role": "user", "content": [{"text": "  "}]}]},
            "The text field in the ContentBlock object at messages.0.content.0 is blank.",
        ),
        (
            {"messages": [{"role": "user", "content": [{}]}]},
            "must set exactly one of its members",
        ),
    ],
    ids=[
        "missing",
        "empty",
        "first-not-user",
        "same-role-twice",
        "empty-content",
        "unknown-role",
        "blank-text",
        "empty-block",
    ],
)
def test_malformed_conversations_are_rejected(
    lenient: Any, kwargs: dict[str, Any], message: str
) -> None:
    code, status, text = error_of(lenient.converse, modelId=HAIKU, **kwargs)
    assert (code, status) == ("ValidationException", 400)
    assert message in text


def test_a_body_that_is_not_json_is_a_serialization_exception(emulator: Emulator) -> None:
    status, headers, body = post(emulator, f"/model/{HAIKU}/converse", b"{not json")
    assert status == 400
    assert headers["x-amzn-ErrorType"] == (
        "SerializationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )
    assert headers["Content-Type"] == "application/json"
    assert body["message"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"messages": "Hi"}, "'messages'"),
        ({"messages": USER_HI, "inferenceConfig": {"maxTokens": "ten"}}, "maxTokens"),
        ([1, 2], "JSON object"),
    ],
    ids=["messages-as-text", "max-tokens-as-text", "body-as-list"],
)
def test_members_of_the_wrong_type_are_serialization_exceptions(
    emulator: Emulator, body: object, path: str
) -> None:
    status, headers, answer = post(emulator, f"/model/{HAIKU}/converse", json.dumps(body).encode())
    assert status == 400
    assert headers["x-amzn-ErrorType"].startswith("SerializationException:")
    assert path in answer["message"]


def test_an_image_that_is_not_base64_is_rejected(emulator: Emulator) -> None:
    image = {"image": {"format": "png", "source": {"bytes": "not base64!"}}}
    body = json.dumps({"messages": [{"role": "user", "content": [image]}]}).encode()
    status, headers, _ = post(emulator, f"/model/{HAIKU}/converse", body)
    assert status == 400
    assert headers["x-amzn-ErrorType"].startswith("SerializationException:")


@pytest.mark.parametrize(
    ("capability", "extra", "message"),
    [
        (
            Capability.SYSTEM_PROMPT,
            {"system": [{"text": "Be nice"}]},
            "This model doesn't support system messages.",
        ),
        (
            Capability.TOOL_USE,
            {"toolConfig": {"tools": [WEATHER_TOOL]}},
            "This model doesn't support tool use.",
        ),
        (
            Capability.VISION,
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}],
                    }
                ]
            },
            "This model doesn't support the image content block",
        ),
        (
            Capability.DOCUMENT_CHAT,
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"text": "Summarise"},
                            {
                                "document": {
                                    "format": "txt",
                                    "name": "notes",
                                    "source": {"bytes": b"x"},
                                }
                            },
                        ],
                    }
                ]
            },
            "This model doesn't support the document content block",
        ),
    ],
    ids=["system", "tools", "image", "document"],
)
def test_features_the_model_lacks_are_rejected(
    client: Any, capability: Capability, extra: dict[str, Any], message: str
) -> None:
    kwargs = {"modelId": model_lacking(capability), "messages": USER_HI, **extra}
    code, status, text = error_of(client.converse, **kwargs)
    assert (code, status) == ("ValidationException", 400)
    assert text.startswith(message)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"maxTokens": 0}, "at 'inferenceConfig.maxTokens' failed to satisfy constraint"),
        ({"maxTokens": 4097}, "The maximum tokens you requested exceeds the model limit of 4096."),
        ({"temperature": 1.5}, "Member must have value less than or equal to 1"),
        ({"temperature": -0.1}, "Member must have value greater than or equal to 0"),
        ({"topP": 2}, "at 'inferenceConfig.topP' failed to satisfy constraint"),
    ],
    ids=["max-tokens-zero", "max-tokens-over-limit", "hot", "negative", "top-p-over-one"],
)
def test_inference_settings_outside_the_model_limits_are_rejected(
    lenient: Any, config: dict[str, Any], message: str
) -> None:
    # Claude 3 Haiku's catalog limit is 4096 output tokens.
    assert all_models()[HAIKU].max_output_tokens == 4096
    code, status, text = error_of(
        lenient.converse, modelId=HAIKU, messages=USER_HI, inferenceConfig=config
    )
    assert (code, status) == ("ValidationException", 400)
    assert message in text


def test_temperature_with_top_p_is_rejected_only_where_the_model_forbids_it(client: Any) -> None:
    both = {"temperature": 0.5, "topP": 0.9}
    exclusive = any_id(model_with(Capability.EXCLUSIVE_TEMPERATURE_TOP_P))
    code, _, message = error_of(
        client.converse, modelId=exclusive, messages=USER_HI, inferenceConfig=both
    )
    assert code == "ValidationException"
    assert message == "temperature and top_p cannot both be specified for this model."
    assert client.converse(modelId=HAIKU, messages=USER_HI, inferenceConfig=both)["usage"]


def test_tool_blocks_without_a_tool_config_are_rejected(client: Any) -> None:
    messages = [
        {"role": "user", "content": [{"text": "Weather?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sun"}]}}],
        },
    ]
    code, _, message = error_of(client.converse, modelId=HAIKU, messages=messages)
    assert code == "ValidationException"
    assert "toolConfig field must be defined" in message


def test_tool_choice_naming_an_undefined_tool_is_rejected(client: Any) -> None:
    code, _, message = error_of(
        client.converse,
        modelId=HAIKU,
        messages=USER_HI,
        toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "get_time"}}},
    )
    assert code == "ValidationException"
    assert "get_time" in message


# --- generation controls -----------------------------------------------------------------------


def test_max_tokens_truncates_the_answer_and_says_so(client: Any) -> None:
    full = text_of(client.converse(modelId=HAIKU, messages=USER_HI))
    response = client.converse(modelId=HAIKU, messages=USER_HI, inferenceConfig={"maxTokens": 5})
    text = text_of(response)
    assert response["stopReason"] == "max_tokens"
    assert response["usage"]["outputTokens"] == 5
    assert text and full.startswith(text) and len(text) < len(full)


def test_max_tokens_above_the_answer_length_changes_nothing(client: Any) -> None:
    full = client.converse(modelId=HAIKU, messages=USER_HI)
    roomy = client.converse(modelId=HAIKU, messages=USER_HI, inferenceConfig={"maxTokens": 4096})
    assert roomy["stopReason"] == "end_turn"
    assert roomy["output"] == full["output"]


def test_stop_sequence_cuts_the_answer_before_it(client: Any) -> None:
    full = text_of(client.converse(modelId=HAIKU, messages=USER_HI))
    response = client.converse(
        modelId=HAIKU,
        messages=USER_HI,
        inferenceConfig={"stopSequences": ["never appears", "You said"]},
    )
    assert response["stopReason"] == "stop_sequence"
    assert text_of(response) == full[: full.index("You said")]


# --- tool use ----------------------------------------------------------------------------------


def test_tool_choice_any_calls_the_first_tool_with_a_value_for_every_listed_property(
    client: Any,
) -> None:
    response = client.converse(
        modelId=HAIKU,
        messages=USER_HI,
        toolConfig={"tools": [WEATHER_TOOL, TIME_TOOL], "toolChoice": {"any": {}}},
    )
    assert response["stopReason"] == "tool_use"
    (block,) = response["output"]["message"]["content"]
    tool_use = block["toolUse"]
    assert tool_use["name"] == "get_weather"
    assert tool_use["input"] == {
        "city": "emulated",
        "days": 1,
        "threshold": 1,
        "metric": True,
        "note": "emulated",
    }
    assert tool_use["toolUseId"].startswith("tooluse_")
    assert response["usage"]["outputTokens"] >= 1


def test_tool_choice_tool_calls_the_named_tool(client: Any) -> None:
    response = client.converse(
        modelId=HAIKU,
        messages=USER_HI,
        toolConfig={
            "tools": [WEATHER_TOOL, TIME_TOOL],
            "toolChoice": {"tool": {"name": "get_time"}},
        },
    )
    (block,) = response["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "get_time"
    assert block["toolUse"]["input"] == {"zone": "emulated"}


def test_auto_tool_choice_calls_a_tool_only_when_asked_about_the_weather(client: Any) -> None:
    tools = {"tools": [WEATHER_TOOL], "toolChoice": {"auto": {}}}
    weather = [{"role": "user", "content": [{"text": "What's the weather in Paris?"}]}]
    asked = client.converse(modelId=HAIKU, messages=weather, toolConfig=tools)
    chatted = client.converse(modelId=HAIKU, messages=USER_HI, toolConfig=tools)
    assert asked["stopReason"] == "tool_use"
    assert chatted["stopReason"] == "end_turn"
    assert "Hi there" in text_of(chatted)


def test_tool_use_ids_are_deterministic_per_request(client: Any) -> None:
    kwargs = {
        "modelId": HAIKU,
        "toolConfig": {"tools": [WEATHER_TOOL], "toolChoice": {"any": {}}},
    }
    ids = [
        client.converse(messages=messages, **kwargs)["output"]["message"]["content"][0]["toolUse"][
            "toolUseId"
        ]
        for messages in (USER_HI, USER_HI, [{"role": "user", "content": [{"text": "Other"}]}])
    ]
    assert ids[0] == ids[1] != ids[2]


def test_a_tool_result_turn_gets_a_text_answer_quoting_the_result(client: Any) -> None:
    tools = {"tools": [WEATHER_TOOL]}
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"text": "What's the weather in Paris?"}]}
    ]
    first = client.converse(modelId=HAIKU, messages=messages, toolConfig=tools)
    tool_use = first["output"]["message"]["content"][0]["toolUse"]
    messages += [
        first["output"]["message"],
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": tool_use["toolUseId"],
                        "content": [{"json": {"forecast": "sunny"}}],
                        "status": "success",
                    }
                }
            ],
        },
    ]
    second = client.converse(modelId=HAIKU, messages=messages, toolConfig=tools)
    assert second["stopReason"] == "end_turn"
    assert "sunny" in text_of(second)


# --- fault injection ---------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "status"), FAULTS)
def test_injected_fault_reaches_botocore_as_the_modelled_error(
    client: Any, emulator: Emulator, code: str, status: int
) -> None:
    emulator.inject_fault(code)
    with pytest.raises(getattr(client.exceptions, code)) as caught:
        client.converse(modelId=HAIKU, messages=USER_HI)
    error = caught.value.response
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["Error"]["Message"]
    assert "retry-after" not in error["ResponseMetadata"]["HTTPHeaders"]
    # One fault, one failed call: the next call succeeds.
    assert client.converse(modelId=HAIKU, messages=USER_HI)["stopReason"] == "end_turn"


def test_a_fault_can_carry_its_own_status_and_message(client: Any, emulator: Emulator) -> None:
    emulator.inject_fault("ServiceQuotaExceededException", status=400, message="Quota hit")
    assert error_of(client.converse, modelId=HAIKU, messages=USER_HI) == (
        "ServiceQuotaExceededException",
        400,
        "Quota hit",
    )


def test_a_fault_fails_as_many_calls_as_asked(client: Any, emulator: Emulator) -> None:
    emulator.inject_fault("ThrottlingException", times=2)
    for _ in range(2):
        assert error_of(client.converse, modelId=HAIKU, messages=USER_HI)[0] == (
            "ThrottlingException"
        )
    assert client.converse(modelId=HAIKU, messages=USER_HI)["stopReason"] == "end_turn"


def test_a_fault_for_a_catalog_id_hits_its_profile_ids_and_spares_other_models(
    client: Any, emulator: Emulator
) -> None:
    other = model_lacking(Capability.VISION)
    emulator.inject_fault("ModelTimeoutException", model_id=HAIKU, times=2)
    assert client.converse(modelId=other, messages=USER_HI)["stopReason"] == "end_turn"
    for model_id in (HAIKU, f"us.{HAIKU}"):
        assert error_of(client.converse, modelId=model_id, messages=USER_HI)[0] == (
            "ModelTimeoutException"
        )
    assert client.converse(modelId=HAIKU, messages=USER_HI)["stopReason"] == "end_turn"


def test_a_fault_for_one_operation_spares_the_others(client: Any, emulator: Emulator) -> None:
    emulator.inject_fault("ThrottlingException", operation="ConverseStream")
    assert client.converse(modelId=HAIKU, messages=USER_HI)["stopReason"] == "end_turn"
    code, status, _ = error_of(client.converse_stream, modelId=HAIKU, messages=USER_HI)
    assert (code, status) == ("ThrottlingException", 429)


def test_a_retrying_client_recovers_from_one_throttle(emulator: Emulator) -> None:
    retrying = make_client(emulator.url, retries={"mode": "standard", "total_max_attempts": 3})
    emulator.inject_fault("ThrottlingException")
    response = retrying.converse(modelId=HAIKU, messages=USER_HI)
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(emulator.requests) == 2


def test_inject_fault_refuses_what_it_cannot_answer(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="status"):
        emulator.inject_fault("MadeUpException")
    with pytest.raises(ValueError, match="times"):
        emulator.inject_fault("ThrottlingException", times=0)


# --- request log, routes, life cycle -----------------------------------------------------------


def test_request_log_records_operation_model_id_body_and_signed_headers(
    client: Any, emulator: Emulator
) -> None:
    client.converse(modelId=f"us.{HAIKU}", messages=USER_HI, inferenceConfig={"maxTokens": 10})
    (recorded,) = emulator.requests
    assert recorded.operation == "Converse"
    assert recorded.model_id == f"us.{HAIKU}"
    assert recorded.body == {"messages": USER_HI, "inferenceConfig": {"maxTokens": 10}}
    # SigV4 is accepted without being checked.
    assert recorded.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")


def test_rejected_and_faulted_calls_are_logged_too(client: Any, emulator: Emulator) -> None:
    emulator.inject_fault("ThrottlingException")
    error_of(client.converse, modelId=HAIKU, messages=USER_HI)
    error_of(client.converse, modelId="openai.gpt-4o", messages=USER_HI)
    assert [entry.model_id for entry in emulator.requests] == [HAIKU, "openai.gpt-4o"]


def test_clear_forgets_requests_and_faults(client: Any, emulator: Emulator) -> None:
    client.converse(modelId=HAIKU, messages=USER_HI)
    emulator.inject_fault("ThrottlingException")
    emulator.clear()
    assert emulator.requests == []
    assert client.converse(modelId=HAIKU, messages=USER_HI)["stopReason"] == "end_turn"


def test_concurrent_calls_are_all_answered_and_logged(client: Any, emulator: Emulator) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        stop = make_client(emulator.url).converse(modelId=HAIKU, messages=USER_HI)["stopReason"]
        with lock:
            results.append(stop)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["end_turn"] * 8
    assert len(emulator.requests) == 8


def test_paths_naming_no_operation_answer_unknown_operation(emulator: Emulator) -> None:
    status, headers, body = post(emulator, "/foundation-models", b"", method="GET")
    assert status == 404
    assert headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")
    assert "GET /foundation-models" in body["message"]


def test_the_standard_variable_alone_routes_an_unmodified_client_to_the_emulator(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)
    plain: Any = boto3.session.Session().client("bedrock-runtime", region_name="us-east-1")
    response = plain.converse(modelId=HAIKU, messages=USER_HI)
    assert text_of(response).startswith("[emulated")
    assert len(emulator.requests) == 1


def test_the_emulator_is_quiet(client: Any, capfd: pytest.CaptureFixture[str]) -> None:
    client.converse(modelId=HAIKU, messages=USER_HI)
    error_of(client.converse, modelId="openai.gpt-4o", messages=USER_HI)
    assert capfd.readouterr().err == ""


def test_the_emulator_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_emulator(host="0.0.0.0")


def test_a_stopped_emulator_no_longer_accepts_connections() -> None:
    with start_emulator(today=FORMATS_DAY) as running:
        url = running.url
        assert make_client(url).converse(modelId=HAIKU, messages=USER_HI)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        http.client.HTTPConnection(host, int(port), timeout=2).connect()
    running.stop()  # stopping twice is harmless


@pytest.mark.e2e
def test_the_command_line_serves_in_the_foreground_and_prints_its_url() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.emulator", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.startswith("Bedrock emulator at http://127.0.0.1:")
        url = first_line.split(" at ", 1)[1].strip()
        response = make_client(url).converse(modelId="amazon.nova-micro-v1:0", messages=USER_HI)
        assert text_of(response).startswith("[emulated")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert stderr == ""


def test_the_command_line_refuses_a_non_loopback_host() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "local.emulator", "--host", "0.0.0.0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_a_client_hanging_up_mid_answer_is_not_reported_as_an_error(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    # A gateway that gives up on a slow answer closes its connection; Bedrock shrugs, and the
    # emulator must not print a traceback (it landed in other tests' captured output).
    server = emulator._server
    try:
        raise BrokenPipeError(32, "Broken pipe")
    except BrokenPipeError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""
    try:
        raise ValueError("a real bug")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert "ValueError: a real bug" in capsys.readouterr().err
