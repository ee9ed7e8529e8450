"""Streaming chat: ConverseStream events become OpenAI chunks, errors and disconnects included.

botocore's Stubber cannot stub event streams, so a fake client yields the events botocore
would parse; the emulator tests prove the real framing separately.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.settings import Settings
from lambdas.gateway.streaming import ChunkMapper, StreamChunks
from tests.conftest import routing_json
from tests.gateway.conftest import HAIKU, ROUTING

TEXT_EVENTS: list[dict[str, Any]] = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "lo"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {
        "metadata": {
            "usage": {"inputTokens": 1000, "outputTokens": 2000, "totalTokens": 3000},
            "metrics": {"latencyMs": 5},
        }
    },
]
TOOL_EVENTS: list[dict[str, Any]] = [
    {"messageStart": {"role": "assistant"}},
    {
        "contentBlockStart": {
            "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}},
            "contentBlockIndex": 1,
        }
    },
    {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city":'}}, "contentBlockIndex": 1}},
    {"contentBlockDelta": {"delta": {"toolUse": {"input": '"Oslo"}'}}, "contentBlockIndex": 1}},
    {"contentBlockStop": {"contentBlockIndex": 1}},
    {"messageStop": {"stopReason": "tool_use"}},
    {"metadata": {"usage": {"inputTokens": 5, "outputTokens": 6, "totalTokens": 11}}},
]


class FakeStream:
    """Iterates events like botocore's EventStream; can fail after some events."""

    def __init__(self, events: list[dict[str, Any]], fail_after: int | None = None) -> None:
        self.events, self.fail_after, self.consumed, self.closed = events, fail_after, 0, False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.events:
            if self.fail_after is not None and self.consumed == self.fail_after:
                raise EventStreamError(
                    {"Error": {"Code": "throttlingException", "Message": "slow down"}},
                    "ConverseStream",
                )
            self.consumed += 1
            yield event

    def close(self) -> None:
        self.closed = True


class FakeClient:
    """Answers converse_stream with queued streams or errors."""

    def __init__(self, *answers: FakeStream | ClientError) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []

    def converse_stream(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, ClientError):
            raise answer
        return {"stream": answer}


def throttled() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "Too many"},
            "ResponseMetadata": {"HTTPStatusCode": 429},
        },
        "ConverseStream",
    )


def run_stream(
    client: FakeClient, body: dict[str, Any], *, disconnect_after: int | None = None
) -> tuple[int, list[bytes], dict[str, str]]:
    """Drive the ASGI app directly; optionally the client goes away after N body chunks."""
    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": routing_json(**ROUTING),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": "k",
            "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
        }
    )
    app = GatewayApp(settings, client_factory=lambda: client)  # type: ignore[arg-type, return-value]
    payload = json.dumps(
        {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}], "stream": True, **body}
    ).encode()
    sent: list[dict[str, Any]] = []
    request_sent = False
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        chunks = [m for m in sent if m["type"] == "http.response.body" and m.get("body")]
        if disconnect_after is not None and len(chunks) >= disconnect_after:
            gone.set()

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(b"authorization", b"Bearer k")],
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    bodies = [m["body"] for m in sent[1:] if m.get("body")]
    return start["status"], bodies, headers


def events_of(bodies: list[bytes]) -> list[Any]:
    text = b"".join(bodies).decode()
    assert text.endswith("\n\n")
    lines = [block.removeprefix("data: ") for block in text.strip().split("\n\n")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def log_line(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "gateway.request" in x]
    assert len(lines) == 1
    return lines[0]


def test_text_stream_becomes_openai_chunks_with_usage_last(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, bodies, headers = run_stream(
        FakeClient(FakeStream(TEXT_EVENTS)), {"stream_options": {"include_usage": True}}
    )
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    events = events_of(bodies)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        == "Hello"
    )
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 1000,
        "completion_tokens": 2000,
        "total_tokens": 3000,
    }
    record = log_line(capsys)
    assert record["streamed"] is True and record["output_tokens"] == 2000
    assert record["cost_usd"] == pytest.approx(0.0121)


def test_usage_chunk_only_when_asked_but_usage_always_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, bodies, _ = run_stream(FakeClient(FakeStream(TEXT_EVENTS)), {})
    assert all(e == "[DONE]" or e["choices"] for e in events_of(bodies))
    assert log_line(capsys)["input_tokens"] == 1000


def test_streamed_tool_calls_arrive_as_tool_call_deltas() -> None:
    _, bodies, _ = run_stream(
        FakeClient(FakeStream(TOOL_EVENTS)),
        {"tools": [{"type": "function", "function": {"name": "get_weather"}}]},
    )
    chunks = [e for e in events_of(bodies) if e != "[DONE]"]
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls[0] == {
        "index": 0,
        "id": "t1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert "".join(c["function"]["arguments"] for c in calls) == '{"city":"Oslo"}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_mid_stream_error_becomes_an_error_event_and_the_stream_ends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = FakeStream(TEXT_EVENTS, fail_after=2)
    status, bodies, _ = run_stream(FakeClient(stream), {})
    assert status == 200
    events = events_of(bodies)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "ThrottlingException"
    assert stream.closed
    record = log_line(capsys)
    assert record["stream_error_status"] == 429 and record["server_errors"] == 0


def test_error_before_the_first_byte_is_a_normal_http_error() -> None:
    status, bodies, _ = run_stream(FakeClient(throttled()), {})
    assert status == 429
    assert json.loads(b"".join(bodies))["error"]["code"] == "ThrottlingException"


def test_alias_falls_back_before_the_first_byte() -> None:
    client = FakeClient(throttled(), FakeStream(TEXT_EVENTS))
    status, _, headers = run_stream(client, {"model": "fast"})
    assert status == 200 and headers["x-gateway-model"] == HAIKU
    assert [r["modelId"] for r in client.requests] == ["us.amazon.nova-micro-v1:0", f"us.{HAIKU}"]


def test_client_disconnect_still_drains_and_meters_the_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stream = FakeStream(TEXT_EVENTS)
    _, bodies, _ = run_stream(FakeClient(stream), {}, disconnect_after=1)
    assert len(bodies) < 4  # the client left early
    assert stream.consumed == len(TEXT_EVENTS) and stream.closed
    record = log_line(capsys)
    assert record["client_disconnected"] is True
    assert record["output_tokens"] == 2000 and record["cost_usd"] > 0


def test_chunk_mapper_ignores_events_without_client_meaning() -> None:
    mapper = ChunkMapper(completion_id="c", model="m")
    assert mapper.feed({"messageStart": {"role": "assistant"}}) == []
    assert mapper.feed({"contentBlockStop": {"contentBlockIndex": 0}}) == []
    assert mapper.feed({"contentBlockDelta": {"delta": {"text": ""}, "contentBlockIndex": 0}}) == []


def _text_events(count: int) -> Iterator[dict[str, Any]]:
    yield {"messageStart": {"role": "assistant"}}
    for index in range(count):
        yield {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": f"part{index} "}}}
    yield {"messageStop": {"stopReason": "end_turn"}}
    yield {"metadata": {"usage": {"inputTokens": 3, "outputTokens": count}}}


class _Closable:
    """Events that record whether the model's stream was closed."""

    def __init__(self, events: Iterator[dict[str, Any]]) -> None:
        self.events = events
        self.closed = False

    def __iter__(self) -> _Closable:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self.events)

    def close(self) -> None:
        self.closed = True


def test_a_stream_that_outlasts_the_time_budget_is_cut_ended_and_metered() -> None:
    ended: list[Any] = []
    left = iter([5.0, 4.0, 0.0])  # seconds left after each of the first events
    events = _Closable(_text_events(100))
    chunks = StreamChunks(
        events,
        ChunkMapper(completion_id="c", model="m"),
        include_usage=False,
        prompt_chars=40,
        on_end=lambda usage, error: ended.append((usage, error)),
        remaining=lambda: next(left, 0.0),
    )
    body = b"".join(chunks).decode()
    assert '"code":"stream_timeout"' in body
    assert body.endswith("data: [DONE]\n\n")
    assert "part5" not in body  # nothing read after the deadline
    assert events.closed
    ((usage, error),) = ended
    assert error is not None and error.code == "stream_timeout"
    assert usage.estimated and usage.input_tokens == 10


def test_a_stream_closed_before_its_first_byte_still_reports_its_usage_once() -> None:
    ended: list[Any] = []
    events = _Closable(_text_events(3))
    chunks = StreamChunks(
        events,
        ChunkMapper(completion_id="c", model="m"),
        include_usage=False,
        prompt_chars=400,
        on_end=lambda usage, error: ended.append(usage),
    )
    chunks.close()
    chunks.close()
    assert events.closed
    assert [(u.input_tokens, u.estimated) for u in ended] == [(100, True)]
