"""The emulator speaks Bedrock's wire protocol: real boto3 clients parse its answers and errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.emulator import Emulator, start_emulator

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
MISTRAL_7B = "mistral.mistral-7b-instruct-v0:2"
USER_HI = [{"role": "user", "content": [{"text": "Hi there"}]}]
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            }
        },
    }
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator() as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> Any:
    emulator.clear()
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
    )


def test_converse_round_trip_is_emulated_deterministic_and_metered(client: Any) -> None:
    first = client.converse(modelId=HAIKU, messages=USER_HI)
    second = client.converse(modelId=HAIKU, messages=USER_HI)
    text = first["output"]["message"]["content"][0]["text"]
    assert text.startswith("[emulated Claude 3 Haiku]") and "Hi there" in text
    assert first["output"] == second["output"]
    usage = first["usage"]
    assert usage["inputTokens"] >= 1 and usage["outputTokens"] >= 1
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert first["stopReason"] == "end_turn"


def test_unmodified_client_reaches_the_emulator_through_the_standard_variable(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
    plain = boto3.client("bedrock-runtime", region_name="us-east-1")
    response = plain.converse(modelId=HAIKU, messages=USER_HI)
    assert "[emulated" in response["output"]["message"]["content"][0]["text"]


def test_inference_profile_ids_are_accepted(client: Any) -> None:
    response = client.converse(modelId=f"us.{SONNET_45}", messages=USER_HI)
    assert "Claude Sonnet 4.5" in response["output"]["message"]["content"][0]["text"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"modelId": "openai.gpt-4o", "messages": USER_HI},
            "The provided model identifier is invalid.",
        ),
        (
            {"modelId": "amazon.titan-embed-text-v2:0", "messages": USER_HI},
            "doesn't support the model",
        ),
        ({"modelId": SONNET_45, "messages": USER_HI}, "on-demand throughput isn't supported"),
        ({"modelId": HAIKU, "messages": []}, "at least one message"),
        (
            {"modelId": HAIKU, "messages": [{"role": "assistant", "content": [{"text": "x"}]}]},
            "must start with a user message",
        ),
        ({"modelId": HAIKU, "messages": USER_HI * 2}, "must alternate"),
        ({"modelId": HAIKU, "messages": [{"role": "user", "content": []}]}, "must not be empty"),
        (
            {"modelId": MISTRAL_7B, "messages": USER_HI, "system": [{"text": "Be nice"}]},
            "system messages",
        ),
        (
            {"modelId": MISTRAL_7B, "messages": USER_HI, "toolConfig": {"tools": [WEATHER_TOOL]}},
            "doesn't support tool use",
        ),
        (
            {
                "modelId": MISTRAL_7B,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}],
                    }
                ],
            },
            "image content block",
        ),
        (
            {"modelId": HAIKU, "messages": USER_HI, "inferenceConfig": {"maxTokens": 5000}},
            "model limit of 4096",
        ),
        (
            {"modelId": HAIKU, "messages": USER_HI, "inferenceConfig": {"temperature": 1.5}},
            "between 0 and 1",
        ),
        (
            {
                "modelId": f"us.{SONNET_45}",
                "messages": USER_HI,
                "inferenceConfig": {"temperature": 0.5, "topP": 0.9},
            },
            "cannot both be specified",
        ),
    ],
)
def test_requests_bedrock_would_reject_get_a_validation_exception(
    client: Any, kwargs: dict[str, Any], message: str
) -> None:
    code, status, text = error_of(client.converse, **kwargs)
    assert (code, status) == ("ValidationException", 400)
    assert message in text
    assert isinstance(client.exceptions.ValidationException, type)


def test_max_tokens_truncates_the_answer(client: Any) -> None:
    response = client.converse(modelId=HAIKU, messages=USER_HI, inferenceConfig={"maxTokens": 3})
    assert response["stopReason"] == "max_tokens"
    assert len(response["output"]["message"]["content"][0]["text"]) <= 12


def test_stop_sequence_cuts_the_answer(client: Any) -> None:
    response = client.converse(
        modelId=HAIKU, messages=USER_HI, inferenceConfig={"stopSequences": ["said"]}
    )
    assert response["stopReason"] == "stop_sequence"
    assert response["output"]["message"]["content"][0]["text"] == "[emulated Claude 3 Haiku] You "


def test_tool_choice_any_returns_a_tool_use_block(client: Any) -> None:
    response = client.converse(
        modelId=HAIKU,
        messages=USER_HI,
        toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"any": {}}},
    )
    assert response["stopReason"] == "tool_use"
    tool_use = response["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["name"] == "get_weather"
    assert tool_use["input"] == {"city": "emulated", "days": 1}
    assert tool_use["toolUseId"].startswith("tooluse_")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("ServiceUnavailableException", 503),
        ("ModelTimeoutException", 408),
        ("InternalServerException", 500),
        ("ModelNotReadyException", 429),
        ("ModelErrorException", 424),
        ("AccessDeniedException", 403),
        ("ResourceNotFoundException", 404),
    ],
)
def test_injected_faults_reach_botocore_with_code_and_status(
    client: Any, emulator: Emulator, code: str, status: int
) -> None:
    emulator.inject_fault(code)
    assert error_of(client.converse, modelId=HAIKU, messages=USER_HI)[:2] == (code, status)
    # One fault, one failed call: the next call succeeds.
    assert client.converse(modelId=HAIKU, messages=USER_HI)["stopReason"] == "end_turn"


def test_faults_can_target_one_model(client: Any, emulator: Emulator) -> None:
    emulator.inject_fault("ThrottlingException", model_id=MISTRAL_7B, times=2)
    assert client.converse(modelId=HAIKU, messages=USER_HI)["stopReason"] == "end_turn"
    for _ in range(2):
        assert (
            error_of(client.converse, modelId=MISTRAL_7B, messages=USER_HI)[0]
            == "ThrottlingException"
        )
    assert client.converse(modelId=MISTRAL_7B, messages=USER_HI)["stopReason"] == "end_turn"


def test_request_log_records_what_the_client_sent(client: Any, emulator: Emulator) -> None:
    client.converse(modelId=f"us.{HAIKU}", messages=USER_HI, inferenceConfig={"maxTokens": 10})
    (recorded,) = emulator.requests
    assert recorded.operation == "Converse"
    assert recorded.model_id == f"us.{HAIKU}"
    assert recorded.body == {"messages": USER_HI, "inferenceConfig": {"maxTokens": 10}}
    assert recorded.headers["authorization"].startswith("AWS4-HMAC-SHA256")


def test_operations_not_emulated_yet_answer_a_clear_error(client: Any) -> None:
    code, status, message = error_of(
        client.invoke_model, modelId="amazon.titan-embed-text-v2:0", body=b'{"inputText": "x"}'
    )
    assert status == 404
    assert "InvokeModel is not emulated yet" in message
    assert code == "UnknownOperationException"


def test_emulator_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")
