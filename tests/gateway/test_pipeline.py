"""The one request pipeline, against the emulator: budget, fallback, streams, metering.

The time budget holds, every route falls back, streams always end with [DONE], and every
successful Bedrock call is metered exactly once whatever fails after it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.gateway.harness import (
    CORE,
    NOVA,
    NOVA_LITE,
    TITAN_EMBED,
    ULTRA,
    local_gateway,
    log_lines,
    sse_events,
)

HI = {"messages": [{"role": "user", "content": "Tell me about lighthouses, briefly."}]}
NOVA_NATIVE = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}


def chat(model: str = NOVA, **extra: Any) -> dict[str, Any]:
    return {"model": model, **HI, **extra}


# --- the time budget holds ------------------------------------------------------------------


def test_a_hung_model_gets_the_gateways_own_504_within_the_budget(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_gateway(monkeypatch, GATEWAY_TIME_BUDGET_SECONDS="4") as gateway:
        gateway.emulator.delay(30, model_id=NOVA)
        started = time.monotonic()
        response = gateway.post("/v1/chat/completions", chat())
        elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert elapsed < 4.5  # the budget, not 2 x the read timeout
    (line,) = log_lines(capsys)
    assert line["status"] == 504 and line["server_errors"] == 1 and line["model"] == NOVA


def test_an_alias_falls_back_to_its_next_model_on_throttling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with local_gateway(monkeypatch) as gateway:
        gateway.emulator.inject_fault("ThrottlingException", model_id=NOVA)
        response = gateway.post("/v1/chat/completions", chat("fast"))
    assert response.status_code == 200
    assert response.headers["x-gateway-model"] == NOVA_LITE


def test_a_throttled_single_model_is_tried_again_while_attempts_allow(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_gateway(monkeypatch, GATEWAY_BEDROCK_MAX_ATTEMPTS="2") as gateway:
        gateway.emulator.inject_fault("ThrottlingException", model_id=NOVA)
        response = gateway.post("/v1/chat/completions", chat())
        calls = [r for r in gateway.emulator.requests if r.operation == "Converse"]
    assert response.status_code == 200 and len(calls) == 2
    assert log_lines(capsys)[0]["fallbacks"] == 0


# --- fallback on every route ----------------------------------------------------------------


def test_embeddings_fall_back_to_the_aliases_next_model(monkeypatch: pytest.MonkeyPatch) -> None:
    with local_gateway(monkeypatch) as gateway:
        gateway.emulator.inject_fault("ServiceUnavailableException", model_id=TITAN_EMBED)
        response = gateway.post("/v1/embeddings", {"model": "embed", "input": ["a", "b"]})
    assert response.status_code == 200
    assert response.headers["x-gateway-model"] == "cohere.embed-english-v3"
    assert response.headers["x-gateway-invocation-id"] == "cohere.embed-english-v3"


def test_images_fall_back_to_the_aliases_next_model(monkeypatch: pytest.MonkeyPatch) -> None:
    with local_gateway(monkeypatch) as gateway:
        gateway.emulator.inject_fault("ThrottlingException", model_id=CORE)
        response = gateway.post("/v1/images/generations", {"model": "image", "prompt": "a kite"})
    assert response.status_code == 200
    assert response.headers["x-gateway-model"] == ULTRA
    assert response.headers["x-gateway-invocation-id"] == ULTRA


HEADERS = (
    "x-request-id",
    "x-gateway-latency-ms",
    "x-gateway-model",
    "x-gateway-invocation-id",
    "x-gateway-cost-usd",
)


def test_every_model_call_carries_the_gateway_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    with local_gateway(monkeypatch) as gateway:
        answers = [
            gateway.post("/v1/chat/completions", chat()),
            gateway.post("/v1/chat/completions", chat(stream=True)),
            gateway.post("/v1/embeddings", {"model": TITAN_EMBED, "input": "a"}),
            gateway.post("/v1/images/generations", {"model": CORE, "prompt": "a kite"}),
            gateway.post(f"/v1/models/{NOVA}/invoke", NOVA_NATIVE),
        ]
    for response in answers:
        assert response.status_code == 200, response.text
        for header in HEADERS:
            assert header in response.headers, (response.request.url, header)


# --- streams always end well ----------------------------------------------------------------


def test_a_connection_dropped_mid_stream_ends_with_an_error_event_and_done(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_gateway(monkeypatch) as gateway:
        gateway.emulator.drop_stream(after_events=5, model_id=NOVA)
        response = gateway.post("/v1/chat/completions", chat(stream=True))
    events = sse_events(response.text)
    assert response.status_code == 200
    assert events[-1] == "[DONE]" and "error" in events[-2]
    (line,) = log_lines(capsys)
    assert line["stream_error_status"] >= 500 and line["server_errors"] == 1
    # The answer was cut before Bedrock's usage: an estimate, marked, never zero.
    assert line["usage_estimated"] is True and line["input_tokens"] > 0


def test_an_unexpected_failure_mid_stream_ends_with_an_error_event_and_done(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambdas.gateway import streaming

    calls = {"n": 0}
    real_feed = streaming.ChunkMapper.feed

    def breaks_on_the_third(self: Any, event: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("a bug in the mapping")
        return real_feed(self, event)

    monkeypatch.setattr(streaming.ChunkMapper, "feed", breaks_on_the_third)
    with local_gateway(monkeypatch) as gateway:
        response = gateway.post("/v1/chat/completions", chat(stream=True))
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "stream_failed"
    assert "a bug" not in response.text
    (line,) = log_lines(capsys)
    assert line["stream_error_status"] == 502 and line["server_errors"] == 1


def test_a_stream_cut_by_bedrock_is_metered_by_estimate_never_as_free(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_gateway(monkeypatch) as gateway:
        gateway.emulator.cut_stream("ModelStreamErrorException", after_events=6, model_id=NOVA)
        response = gateway.post("/v1/chat/completions", chat(stream=True))
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and events[-2]["error"]["code"] == "ModelStreamErrorException"
    (line,) = log_lines(capsys)
    assert line["usage_estimated"] is True
    assert line["input_tokens"] > 0 and line["output_tokens"] > 0 and line["cost_usd"] > 0
    assert line["stream_error_status"] == 502


def test_a_stalled_stream_ends_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    with local_gateway(monkeypatch, GATEWAY_TIME_BUDGET_SECONDS="4") as gateway:
        gateway.emulator.stall_stream(30, after_events=3, model_id=NOVA)
        started = time.monotonic()
        response = gateway.post("/v1/chat/completions", chat(stream=True))
        elapsed = time.monotonic() - started
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and events[-2]["error"]["code"] == "timeout"
    assert elapsed < 4.5


# --- every successful Bedrock call is metered exactly once -----------------------------------


def test_embeddings_meter_the_calls_that_succeeded_before_one_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_gateway(monkeypatch) as gateway:
        # Titan embeds one input per call: the third call fails after two were billed.
        gateway.emulator.inject_fault("ModelErrorException", model_id=TITAN_EMBED, after=2)
        response = gateway.post("/v1/embeddings", {"model": TITAN_EMBED, "input": ["a", "b", "c"]})
    assert response.status_code == 502
    (line,) = log_lines(capsys)
    assert line["input_tokens"] == 2 and line["cost_usd"] > 0


def test_images_meter_the_images_generated_before_a_later_call_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_gateway(monkeypatch) as gateway:
        # Stability makes one image per call: the third call fails after two images.
        gateway.emulator.inject_fault("ModelErrorException", model_id=CORE, after=2)
        response = gateway.post("/v1/images/generations", {"model": CORE, "prompt": "a", "n": 3})
    assert response.status_code == 502
    (line,) = log_lines(capsys)
    assert line["images"] == 2 and line["cost_usd"] == pytest.approx(0.08)


def test_a_fallback_meters_both_models_billed_calls_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with local_gateway(monkeypatch) as gateway:
        # Core makes one image then is throttled; Ultra makes both: three images billed.
        gateway.emulator.inject_fault("ThrottlingException", model_id=CORE, after=1)
        response = gateway.post("/v1/images/generations", {"model": "image", "prompt": "a", "n": 2})
    assert response.status_code == 200 and len(response.json()["data"]) == 2
    (line,) = log_lines(capsys)
    assert line["images"] == 3 and line["cost_usd"] == pytest.approx(0.04 + 2 * 0.08)
    assert line["fallbacks"] == 1 and line["model"] == ULTRA


def test_a_native_image_call_is_priced_per_image(monkeypatch: pytest.MonkeyPatch) -> None:
    with local_gateway(monkeypatch) as gateway:
        response = gateway.post(f"/v1/models/{CORE}/invoke", {"prompt": "a lighthouse"})
    assert response.status_code == 200
    assert response.headers["x-gateway-images"] == "1"
    assert response.headers["x-gateway-cost-usd"] == "0.04000000"


# --- a local gateway serves many slow calls at once ---------------------------------------------


def test_slow_calls_do_not_stall_a_healthy_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = ("POST", "/v1/chat/completions", {"content": json.dumps(chat(NOVA_LITE)).encode()})
    healthy = ("POST", "/v1/chat/completions", {"content": json.dumps(chat(NOVA)).encode()})
    with local_gateway(monkeypatch) as gateway:
        gateway.emulator.delay(2.0, times=12, model_id=NOVA_LITE)
        answers = asyncio.run(gateway.requests([slow] * 12 + [healthy]))
    assert all(answer.status_code == 200 for answer in answers)
    (fast_line,) = [line for line in log_lines(capsys) if line["model"] == NOVA]
    assert fast_line["latency_ms"] < 1000


# --- compare honours the budget and the content-logging setting -------------------------------


def test_compare_keeps_to_the_budget_and_logs_content_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"GATEWAY_TIME_BUDGET_SECONDS": "4", "GATEWAY_LOG_CONTENT": "true"}
    with local_gateway(monkeypatch, **env) as gateway:
        gateway.emulator.delay(30, model_id=NOVA_LITE)
        started = time.monotonic()
        response = gateway.post("/v1/compare", {"models": [NOVA, NOVA_LITE], **HI})
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 4.5
    by_model = {result["model"]: result for result in response.json()["results"]}
    assert by_model[NOVA]["status"] == "ok"
    assert by_model[NOVA_LITE]["http_status"] == 504
    (request,) = log_lines(capsys)
    assert request["content"]["completions"][NOVA].startswith("[emulated Nova Micro]")
