"""ConverseStream in the real event-stream framing: botocore parses it, paced or cut midway."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from local.emulator import Emulator, start_emulator
from tests.emulator.dates import FORMATS_DAY

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0"
USER = [{"role": "user", "content": [{"text": "Hello there, tell me something"}]}]
TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "lookup",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"q": {"type": "string"}},
                        "required": ["q"],
                    }
                },
            }
        }
    ],
    "toolChoice": {"any": {}},
}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with start_emulator(today=FORMATS_DAY) as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def test_text_stream_parses_into_the_events_converse_would_produce(client: Any) -> None:
    events = list(client.converse_stream(modelId=HAIKU, messages=USER)["stream"])
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    whole = client.converse(modelId=HAIKU, messages=USER)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert kinds.count("contentBlockDelta") > 3
    assert events[-1]["metadata"]["usage"] == whole["usage"]


def test_tool_use_streams_as_block_start_and_partial_json(client: Any) -> None:
    events = list(client.converse_stream(modelId=HAIKU, messages=USER, toolConfig=TOOLS)["stream"])
    (start,) = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert start["start"]["toolUse"]["name"] == "lookup"
    pieces = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "contentBlockDelta" in e
    ]
    assert len(pieces) > 1 and "".join(pieces) == '{"q":"emulated"}'
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_streamed_tools_are_refused_for_models_without_streaming_tool_use(client: Any) -> None:
    with pytest.raises(ClientError) as caught:
        # `auto`: Llama takes no forced tool choice (a refusal of its own, tested apart).
        tools = {**TOOLS, "toolChoice": {"auto": {}}}
        client.converse_stream(modelId=f"us.{LLAMA_31}", messages=USER, toolConfig=tools)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "streaming" in caught.value.response["Error"]["Message"]


def test_pacing_delays_each_event(client: Any, emulator: Emulator) -> None:
    emulator.stream_chunk_delay_ms = 30
    started = time.perf_counter()
    stream = client.converse_stream(modelId=HAIKU, messages=USER)["stream"]
    first = next(iter(stream))
    elapsed_first = time.perf_counter() - started
    list(stream)
    assert "messageStart" in first
    assert 0.025 <= elapsed_first < 0.5


def test_a_stream_cut_midway_raises_the_in_stream_error_after_the_first_events(
    client: Any, emulator: Emulator
) -> None:
    emulator.cut_stream("ThrottlingException", after_events=3)
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in client.converse_stream(modelId=HAIKU, messages=USER)["stream"]:
            received.append(event)
    assert len(received) == 3
    assert caught.value.response["Error"]["Code"] == "throttlingException"
    # One cut, one stream: the next one completes.
    assert "metadata" in list(client.converse_stream(modelId=HAIKU, messages=USER)["stream"])[-1]


def test_a_client_leaving_mid_stream_is_not_an_emulator_error(
    client: Any, emulator: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator.stream_chunk_delay_ms = 5
    stream = client.converse_stream(modelId=HAIKU, messages=USER)["stream"]
    next(iter(stream))
    stream.close()
    time.sleep(0.2)  # let the emulator try to write the rest
    assert "Traceback" not in capfd.readouterr().err
    assert "metadata" in list(client.converse_stream(modelId=HAIKU, messages=USER)["stream"])[-1]
