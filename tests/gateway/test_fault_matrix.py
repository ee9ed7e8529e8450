"""Every Bedrock error, direct, through an alias, before a stream's first byte and mid-stream.

For each: the status the client sees, Retry-After, whether the alias falls back, which model
answers, and what is metered (the answering model's tokens only; a refused call is free).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.gateway.harness import (
    NOVA,
    NOVA_LITE,
    LocalGateway,
    local_gateway,
    log_lines,
    sse_events,
)

# Bedrock error -> (the gateway's status, whether an alias moves to its next model)
MATRIX = {
    "ThrottlingException": (429, True),
    "ServiceQuotaExceededException": (429, True),
    "ModelNotReadyException": (503, True),
    "ServiceUnavailableException": (503, True),
    "ModelTimeoutException": (504, True),
    "ValidationException": (400, False),
    "AccessDeniedException": (403, False),
    "ResourceNotFoundException": (404, False),
    "ModelErrorException": (502, False),
    "InternalServerException": (502, False),
}
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def module_patch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def gateway(module_patch: pytest.MonkeyPatch) -> Iterator[LocalGateway]:
    with local_gateway(module_patch, GATEWAY_BEDROCK_MAX_ATTEMPTS="1") as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(gateway: LocalGateway) -> Iterator[None]:
    gateway.emulator.clear()
    yield
    gateway.emulator.clear()


def chat(gateway: LocalGateway, model: str, **extra: Any) -> Any:
    return gateway.post("/v1/chat/completions", {"model": model, "messages": HI, **extra})


@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "stream"])
@pytest.mark.parametrize("code", list(MATRIX))
def test_a_direct_call_answers_the_mapped_status_and_bills_nothing(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str], code: str, stream: bool
) -> None:
    status, _ = MATRIX[code]
    gateway.emulator.inject_fault(code, model_id=NOVA)
    response = chat(gateway, NOVA, stream=stream)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert ("retry-after" in response.headers) is (status in (429, 503))
    (line,) = log_lines(capsys)
    assert (line["status"], line["input_tokens"], line["cost_usd"]) == (status, 0, 0.0)
    assert line["server_errors"] == (1 if status >= 500 else 0)


@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "stream"])
@pytest.mark.parametrize("code", list(MATRIX))
def test_an_alias_falls_back_only_where_another_model_can_help(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str], code: str, stream: bool
) -> None:
    status, falls_back = MATRIX[code]
    gateway.emulator.inject_fault(code, model_id=NOVA)
    response = chat(gateway, "fast", stream=stream)
    (line,) = log_lines(capsys)
    if falls_back:
        assert response.status_code == 200
        assert response.headers["x-gateway-model"] == NOVA_LITE
        assert (line["model"], line["fallbacks"]) == (NOVA_LITE, 1)
        assert line["input_tokens"] > 0 and not line["usage_estimated"]
    else:
        assert response.status_code == status
        assert (line["fallbacks"], line["input_tokens"]) == (0, 0)


# In-stream exceptions and the status the log records for them.
IN_STREAM = {
    "ThrottlingException": 429,
    "ModelStreamErrorException": 502,
    "InternalServerException": 502,
    "ValidationException": 400,
}


@pytest.mark.parametrize("after", [0, 3])
@pytest.mark.parametrize("code", list(IN_STREAM))
def test_a_mid_stream_error_ends_the_stream_and_is_metered_by_estimate(
    gateway: LocalGateway, capsys: pytest.CaptureFixture[str], code: str, after: int
) -> None:
    gateway.emulator.cut_stream(code, after_events=after, model_id=NOVA)
    response = chat(gateway, NOVA, stream=True)
    events = sse_events(response.text)
    assert response.status_code == 200
    assert events[-1] == "[DONE]" and events[-2]["error"]["code"] == code
    (line,) = log_lines(capsys)
    assert line["stream_error_status"] == IN_STREAM[code]
    assert line["server_errors"] == (1 if IN_STREAM[code] >= 500 else 0)
    assert line["usage_estimated"] is True and line["input_tokens"] > 0
