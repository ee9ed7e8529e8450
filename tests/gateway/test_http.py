"""HTTP behaviour of every route: routing, bounded bad input, metrics for every request."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.gateway.conftest import HAIKU, NOVA_MICRO, Gateway, converse_response


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]


# --- routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/models/", "/v1/models//invoke", "/v1/models/a%2Fb", "/nope"])
def test_paths_that_name_nothing_are_404(gateway: Gateway, path: str) -> None:
    response = gateway.request("GET", path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_405_with_allow(gateway: Gateway) -> None:
    response = gateway.request("DELETE", "/v1/models")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert gateway.request("GET", "/v1/chat/completions").headers["allow"] == "POST"


def test_head_is_served_wherever_get_is(gateway: Gateway) -> None:
    response = gateway.request("HEAD", "/health", key=None)
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_the_logged_path_never_holds_the_query_string(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gateway.request("GET", "/health?probe=1", key=None).status_code == 200
    assert gateway.request("GET", "/v1/models?secret=s3cr3t").status_code == 200
    (line,) = lines(capsys)  # the health check writes none
    assert line["path"] == "/v1/models"


def test_model_ids_with_encoded_colons_are_found(gateway: Gateway) -> None:
    encoded = NOVA_MICRO.replace(":", "%3A")
    response = gateway.request("GET", f"/v1/models/{encoded}")
    assert response.status_code == 200 and response.json()["id"] == NOVA_MICRO


# --- bad input is a 400, never a 500 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"model": "fast", "max_tokens": ' + b"1" * 4301 + b"}", "more than 40 digits"),
        (b'{"model": "fast", "temperature": NaN}', "NaN, which JSON does not allow"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"   ", "empty"),
    ],
)
def test_malformed_bodies_are_400s_that_say_why(
    gateway: Gateway, body: bytes, message: str
) -> None:
    for path in ("/v1/chat/completions", "/v1/embeddings", "/v1/compare"):
        response = gateway.request("POST", path, content=body)
        assert response.status_code == 400, (path, response.text[:200])
        assert message in response.json()["error"]["message"]


def test_an_enormous_model_name_is_quoted_only_in_part(gateway: Gateway) -> None:
    response = gateway.chat(model="A" * 5_000_000)
    assert response.status_code == 404
    assert len(response.content) < 1000


def test_null_optional_fields_mean_the_default(gateway: Gateway) -> None:
    gateway.stubber.add_response("converse", converse_response(), None)
    assert gateway.chat(n=None, stream=None).status_code == 200


def test_a_bedrock_4xx_the_gateway_does_not_know_stays_a_4xx(gateway: Gateway) -> None:
    gateway.stubber.add_client_error(
        "converse",
        service_error_code="SerializationException",
        service_message="bad body",
        http_status_code=400,
    )
    response = gateway.chat()
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "SerializationException"


# --- one line and metrics for every request ----------------------------------------------------


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (lambda g: g.request("GET", "/v1/models", key=None), 401),
        (lambda g: g.chat(model="openai.gpt-4o"), 404),
        (lambda g: g.request("POST", "/v1/chat/completions", content=b"{oops"), 400),
        (lambda g: g.request("PUT", "/v1/models"), 405),
    ],
)
def test_requests_refused_before_a_model_is_known_still_count(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], call: Any, status: int
) -> None:
    assert call(gateway).status_code == status
    (line,) = lines(capsys)
    assert line["requests"] == 1 and line["client_errors"] == 1 and line["model"] is None
    (metrics,) = line["_aws"]["CloudWatchMetrics"]
    assert metrics["Dimensions"] == [[]]
    assert {m["Name"] for m in metrics["Metrics"]} >= {"requests", "client_errors", "throttled"}


# --- compare ------------------------------------------------------------------------------------


def test_compare_refuses_a_malformed_shared_body_once(gateway: Gateway) -> None:
    response = gateway.post("/v1/compare", {"models": ["fast", HAIKU], "messages": "not a list"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"


def test_compare_writes_one_request_line_and_one_line_per_model_without_double_counting(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    for tokens in (10, 20):
        gateway.stubber.add_response(
            "converse", converse_response(input_tokens=tokens, output_tokens=tokens), None
        )
    body = {"models": [NOVA_MICRO, HAIKU], "messages": [{"role": "user", "content": "Hi"}]}
    assert gateway.post("/v1/compare", body).status_code == 200
    written = lines(capsys)
    calls = [x for x in written if x["type"] == "gateway.model_call"]
    (request,) = [x for x in written if x["type"] == "gateway.request"]
    assert len(calls) == 2 and all(x["requests"] == 0 for x in calls)
    assert request["requests"] == 1
    assert request["input_tokens"] == sum(x["input_tokens"] for x in calls) == 30
    # Usage metrics come from the model lines only; the request line counts the request.
    request_metrics = {m["Name"] for m in request["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert "input_tokens" not in request_metrics
