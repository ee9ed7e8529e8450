"""sagemaker-runtime on the emulator: botocore's own client calls local endpoints' LMI container."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import EventStreamError

from local.emulator import Emulator, LocalEndpoint, start_emulator
from local.emulator.errors import BedrockError
from local.emulator.sagemaker_wire import stream_failure

ENDPOINT = "my-llm"
MODEL = "llama-test"
USER = "Hello there, tell me something about streams"
TEXT = f'[emulated {MODEL} on SageMaker] You said: "{USER}".'


def body(**extra: Any) -> bytes:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": USER}]
    return json.dumps({"messages": messages, **extra}).encode()


@pytest.fixture(scope="module")
def running() -> Iterator[Emulator]:
    endpoints = [
        LocalEndpoint(ENDPOINT, MODEL),
        LocalEndpoint("other-llm", "other"),
        LocalEndpoint("cold-llm", "cold", status="Creating"),
    ]
    with start_emulator(sagemaker_endpoints=endpoints) as emulator:
        yield emulator


@pytest.fixture
def emulator(running: Emulator) -> Emulator:
    running.clear()
    return running


@pytest.fixture
def client(emulator: Emulator) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def invoke(client: Any, **extra: Any) -> dict[str, Any]:
    answer = client.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="application/json", Body=body(**extra)
    )
    assert answer["ContentType"] == "application/json"
    completion: dict[str, Any] = json.loads(answer["Body"].read())
    return completion


def stream(client: Any, endpoint: str = ENDPOINT, **extra: Any) -> list[bytes]:
    answer = client.invoke_endpoint_with_response_stream(
        EndpointName=endpoint, ContentType="application/json", Body=body(stream=True, **extra)
    )
    assert answer["ContentType"] == "application/jsonlines"
    return [event["PayloadPart"]["Bytes"] for event in answer["Body"]]


def test_invoke_endpoint_answers_a_chat_completion_with_usage(client: Any) -> None:
    completion = invoke(client, temperature=0.2, top_p=0.9, stop=["\n\n"])
    assert completion["object"] == "chat.completion"
    assert completion["id"].startswith("chatcmpl-") and isinstance(completion["created"], int)
    (choice,) = completion["choices"]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": TEXT},
        "logprobs": None,
        "finish_reason": "eos_token",
    }
    usage = completion["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_max_tokens_cuts_the_answer_with_finish_reason_length(client: Any) -> None:
    completion = invoke(client, max_tokens=4)
    (choice,) = completion["choices"]
    assert choice["finish_reason"] == "length"
    assert completion["usage"]["completion_tokens"] == 4
    assert TEXT.startswith(choice["message"]["content"]) and choice["message"]["content"] != TEXT


@pytest.mark.parametrize(("extra", "finish"), [({}, "eos_token"), ({"max_tokens": 9}, "length")])
def test_stream_lines_join_to_the_buffered_text(
    client: Any, extra: dict[str, Any], finish: str
) -> None:
    parts = stream(client, **extra)
    # Real streams cut where they like: at least one line spans two parts.
    assert len(parts) > 2 and any(not part.endswith(b"\n") for part in parts)
    lines = b"".join(parts).splitlines()
    chunks = [json.loads(line) for line in lines]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert all("usage" not in chunk for chunk in chunks)
    text = "".join(chunk["choices"][0]["delta"]["content"] for chunk in chunks)
    assert text == invoke(client, **extra)["choices"][0]["message"]["content"]
    reasons = [chunk["choices"][0]["finish_reason"] for chunk in chunks]
    assert reasons == [None] * (len(chunks) - 1) + [finish]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("no-such-llm", "Endpoint no-such-llm of account 123456789012 not found."),
        ("cold-llm", "Endpoint cold-llm of account 123456789012 is not in service"),
    ],
)
def test_unknown_or_unready_endpoint_is_a_validation_error(
    client: Any, endpoint: str, message: str
) -> None:
    with pytest.raises(client.exceptions.ValidationError) as caught:
        client.invoke_endpoint(EndpointName=endpoint, Body=body())
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"].startswith(message)
    with pytest.raises(client.exceptions.ValidationError):
        stream(client, endpoint)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        json.dumps({"inputs": "Hello"}).encode(),
        json.dumps({"messages": [{"role": "user"}]}).encode(),
        json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}).encode(),
    ],
)
@pytest.mark.parametrize("operation", ["invoke_endpoint", "invoke_endpoint_with_response_stream"])
def test_a_body_the_container_refuses_is_a_model_error(
    client: Any, raw: bytes, operation: str
) -> None:
    with pytest.raises(client.exceptions.ModelError) as caught:
        getattr(client, operation)(EndpointName=ENDPOINT, Body=raw)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert json.loads(error["OriginalMessage"])["code"] == 400
    assert error["Error"]["Message"].startswith("Received client error (400) from primary")
    assert error["LogStreamArn"].endswith(f"/aws/sagemaker/Endpoints/{ENDPOINT}")


def test_injected_model_not_ready_hits_the_named_endpoint_and_operation(
    emulator: Emulator, client: Any
) -> None:
    emulator.inject_fault("ModelNotReadyException", operation="InvokeEndpoint", model_id=ENDPOINT)
    stream(client)  # another operation
    client.invoke_endpoint(EndpointName="other-llm", Body=body())  # another endpoint
    with pytest.raises(client.exceptions.ModelNotReadyException) as caught:
        client.invoke_endpoint(EndpointName=ENDPOINT, Body=body())
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    invoke(client)  # the fault was used up

    emulator.inject_fault("ServiceUnavailable", operation="InvokeEndpointWithResponseStream")
    with pytest.raises(client.exceptions.ServiceUnavailable):
        stream(client)


def test_requests_are_logged_by_operation_and_endpoint(emulator: Emulator, client: Any) -> None:
    invoke(client)
    stream(client)
    with pytest.raises(client.exceptions.ValidationError):
        client.invoke_endpoint(EndpointName="no-such-llm", Body=body())
    logged = [(entry.operation, entry.model_id) for entry in emulator.requests]
    assert logged == [
        ("InvokeEndpoint", ENDPOINT),
        ("InvokeEndpointWithResponseStream", ENDPOINT),
        ("InvokeEndpoint", "no-such-llm"),
    ]
    first = emulator.requests[0].body
    assert isinstance(first, dict) and first["messages"][1]["content"] == USER


def test_delay_slows_the_named_endpoint(emulator: Emulator, client: Any) -> None:
    emulator.delay(0.2, model_id=ENDPOINT, operation="InvokeEndpoint")
    started = time.monotonic()
    invoke(client)
    assert time.monotonic() - started >= 0.2


def test_cut_stream_ends_with_a_model_stream_error(emulator: Emulator, client: Any) -> None:
    emulator.cut_stream(after_events=1, model_id=ENDPOINT)
    answer = client.invoke_endpoint_with_response_stream(EndpointName=ENDPOINT, Body=body())
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in answer["Body"]:
            received.append(event)
    assert len(received) == 1
    assert caught.value.response["Error"]["Code"] == "ModelStreamError"


@pytest.mark.parametrize(
    ("code", "kind", "error_code"),
    [
        ("ThrottlingException", "ModelStreamError", "ModelInvocationTimeExceeded"),
        ("StreamBroken", "ModelStreamError", "StreamBroken"),
        ("InternalStreamFailure", "InternalStreamFailure", None),
    ],
)
def test_stream_failure_frames_the_modelled_exception(
    code: str, kind: str, error_code: str | None
) -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(stream_failure(BedrockError(code, "broken")))
    (message,) = [framed.to_response_dict() for framed in buffer]
    assert message["headers"][":exception-type"] == kind
    assert json.loads(message["body"]).get("ErrorCode") == error_code


def test_endpoint_names_follow_sagemaker_rules() -> None:
    with pytest.raises(ValueError, match="endpoint name"):
        LocalEndpoint("bad_name", MODEL)
    with pytest.raises(ValueError, match="EndpointStatus"):
        LocalEndpoint(ENDPOINT, MODEL, status="Ready")
    with pytest.raises(ValueError, match="same name"):
        start_emulator(sagemaker_endpoints=[LocalEndpoint("a", "x"), LocalEndpoint("a", "y")])
