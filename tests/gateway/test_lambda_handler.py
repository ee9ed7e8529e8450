"""The buffered function's Python handler: API Gateway REST proxy events in, proxy results out."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lambdas.gateway.core import Gateway
from lambdas.gateway.lambda_handler import LambdaAdapter, ProxyHandler, create_handler
from local.emulator import start_emulator
from tests.conftest import routing_json
from tests.gateway.conftest import (
    API_KEY,
    HAIKU,
    NOVA_MICRO,
    SD35,
    converse_response,
    stubbed_settings,
)
from tests.gateway.harness import NOVA, REQUEST_CONTEXT, TODAY, log_lines, sse_events


class StubbedLambda:
    """The adapter on a stubbed bedrock-runtime client, invoked with proxy events."""

    def __init__(self, adapter: LambdaAdapter, stubber: Stubber) -> None:
        self.adapter = adapter
        self.stubber = stubber

    def invoke(
        self,
        method: str,
        path: str,
        body: str | None = None,
        *,
        headers: dict[str, list[str]] | None = None,
        base64_body: bool = False,
    ) -> dict[str, Any]:
        event = {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "multiValueHeaders": headers
            if headers is not None
            else {"x-api-key": [API_KEY], "content-type": ["application/json"]},
            "multiValueQueryStringParameters": None,
            "requestContext": REQUEST_CONTEXT,
            "body": base64.b64encode(body.encode()).decode() if base64_body and body else body,
            "isBase64Encoded": base64_body,
        }
        return self.adapter(event, None)

    def chat(self, **fields: Any) -> dict[str, Any]:
        payload = {"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}], **fields}
        return self.invoke("POST", "/v1/chat/completions", json.dumps(payload))


@pytest.fixture
def function() -> Iterator[StubbedLambda]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield StubbedLambda(LambdaAdapter(Gateway(stubbed_settings(), lambda: client)), stubber)
        stubber.assert_no_pending_responses()


def body_of(result: dict[str, Any]) -> Any:
    assert result["isBase64Encoded"] is False
    return json.loads(result["body"])


def test_chat_answers_a_proxy_result_with_usage_headers_and_one_log_line(
    function: StubbedLambda, capsys: pytest.CaptureFixture[str]
) -> None:
    function.stubber.add_response("converse", converse_response("Hello there", 10, 4), None)
    result = function.chat()
    assert result["statusCode"] == 200
    assert body_of(result)["choices"][0]["message"]["content"] == "Hello there"
    headers = result["multiValueHeaders"]
    assert headers["content-type"] == ["application/json"]
    assert headers["x-gateway-model"] == [HAIKU]
    assert headers["x-gateway-invocation-id"] == [f"us.{HAIKU}"]
    assert float(headers["x-gateway-cost-usd"][0]) > 0
    assert headers["x-request-id"][0] and float(headers["x-gateway-latency-ms"][0]) >= 0
    # API Gateway frames the answer itself.
    assert "content-length" not in headers
    (line,) = log_lines(capsys)
    assert (line["status"], line["input_tokens"], line["output_tokens"]) == (200, 10, 4)
    assert line["request_id"] == headers["x-request-id"][0]


def test_percent_encoded_model_ids_route_as_one_path_segment(function: StubbedLambda) -> None:
    result = function.invoke("GET", "/v1/models/amazon.nova-micro-v1%3A0")
    assert result["statusCode"] == 200
    assert body_of(result)["id"] == NOVA_MICRO
    missing = function.invoke("GET", "/v1/models/acme.model-v1%3A0")
    assert missing["statusCode"] == 404
    assert "'acme.model-v1:0'" in body_of(missing)["error"]["message"]


def test_head_and_method_errors_follow_the_route_table(function: StubbedLambda) -> None:
    head = function.invoke("HEAD", "/health")
    assert (head["statusCode"], head["body"]) == (200, "")
    refused = function.invoke("DELETE", "/v1/models")
    assert refused["statusCode"] == 405
    assert refused["multiValueHeaders"]["allow"] == ["GET, HEAD"]
    assert function.invoke("GET", "/v2/nothing")["statusCode"] == 404


def test_a_base64_encoded_body_is_decoded(function: StubbedLambda) -> None:
    function.stubber.add_response("converse", converse_response(), None)
    body = json.dumps({"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]})
    result = function.invoke("POST", "/v1/chat/completions", body, base64_body=True)
    assert result["statusCode"] == 200


def test_bad_input_is_an_openai_error_and_is_logged_as_a_client_error(
    function: StubbedLambda, capsys: pytest.CaptureFixture[str]
) -> None:
    result = function.invoke("POST", "/v1/chat/completions", "{not json")
    assert result["statusCode"] == 400
    assert body_of(result)["error"]["code"] == "invalid_json"
    (line,) = log_lines(capsys)
    assert (line["status"], line["client_errors"], line["server_errors"]) == (400, 1, 0)


def test_the_key_is_checked_when_the_gateway_checks_keys(function: StubbedLambda) -> None:
    result = function.invoke("GET", "/v1/models", headers={"x-api-key": ["wrong"]})
    assert result["statusCode"] == 401
    single = function.adapter(
        {"httpMethod": "GET", "path": "/v1/models", "headers": {"X-Api-Key": API_KEY}}, None
    )
    assert single["statusCode"] == 200


def test_a_binary_native_answer_is_returned_base64_encoded(function: StubbedLambda) -> None:
    raw = b"\x89PNG\r\n\x1a\n\xff\xfe"
    answer = {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "image/png"}
    function.stubber.add_response("invoke_model", answer, None)
    result = function.invoke("POST", f"/v1/models/{SD35}/invoke", json.dumps({"prompt": "cat"}))
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == raw


def test_a_streamed_request_is_answered_whole_and_ends_with_done(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only a direct invocation can send one: API Gateway sends streamed chat elsewhere.
    with start_emulator(today=TODAY) as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        handler = create_handler(
            {
                "GATEWAY_ROUTING": routing_json([NOVA]),
                "GATEWAY_AUTH": "api-gateway",
                "AWS_REGION": "us-east-1",
            }
        )
        body = {"model": NOVA, "messages": [{"role": "user", "content": "Hi"}], "stream": True}
        event = {
            "httpMethod": "POST",
            "path": "/v1/chat/completions",
            "requestContext": REQUEST_CONTEXT,
            "body": json.dumps(body),
        }
        result = handler(event, None)
    assert result["statusCode"] == 200
    assert result["multiValueHeaders"]["content-type"] == ["text/event-stream; charset=utf-8"]
    events = sse_events(result["body"])
    assert events[-1] == "[DONE]"
    assert "".join(
        chunk["choices"][0]["delta"].get("content") or ""
        for chunk in events[:-1]
        if chunk.get("choices")
    )
    (line,) = log_lines(capsys)
    assert line["streamed"] is True and line["output_tokens"] > 0


@pytest.mark.parametrize("routing", ["not json", "[]", "null"])
def test_unusable_settings_answer_a_500_that_says_where_to_look(
    capsys: pytest.CaptureFixture[str], routing: str
) -> None:
    handler: ProxyHandler = create_handler(
        {"GATEWAY_ROUTING": routing, "GATEWAY_METRICS_NAMESPACE": "Kit/dev"}
    )
    result = handler({"httpMethod": "GET", "path": "/v1/models"}, None)
    assert result["statusCode"] == 500
    assert body_of(result)["error"]["code"] == "misconfigured"
    assert "GATEWAY_ROUTING is invalid" in capsys.readouterr().err
    # Counted like any server error, so the 5xx alarm sees a broken deployment.
    handler({"httpMethod": "GET", "path": "/v1/models"}, None)
    (line,) = log_lines(capsys)
    assert (line["status"], line["error_code"], line["server_errors"]) == (500, "misconfigured", 1)
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Kit/dev"


def chat_event(body: object, **fields: object) -> dict[str, object]:
    """A chat event with the key, carrying `body` as is."""
    return {
        "httpMethod": "POST",
        "path": "/v1/chat/completions",
        "headers": {"x-api-key": API_KEY},
        "body": body,
        **fields,
    }


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (chat_event(5), 400, "invalid_body"),
        (chat_event("!!!", isBase64Encoded=True), 400, "invalid_body"),
        (chat_event('{"model": "\ud800"}'), 400, None),
        ({"httpMethod": "GET", "path": "/v1/models", "headers": [["x-api-key", "k"]]}, 401, None),
        (["not", "an", "event"], 404, "not_found"),
    ],
    ids=["body-not-text", "bad-base64", "lone-surrogate", "headers-not-a-map", "not-a-map"],
)
def test_malformed_events_get_an_openai_error_and_one_log_line(
    function: StubbedLambda,
    capsys: pytest.CaptureFixture[str],
    event: Any,
    status: int,
    code: str | None,
) -> None:
    result = function.adapter(event, None)
    assert result["statusCode"] == status
    if code is not None:
        assert body_of(result)["error"]["code"] == code
    (line,) = log_lines(capsys)
    assert line["status"] == status


def test_a_bug_after_the_handler_still_answers_an_openai_500_and_logs_it(
    function: StubbedLambda,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object) -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr("lambdas.gateway.core.Call.body_to_send", broken)
    result = function.invoke("GET", "/v1/models")
    assert result["statusCode"] == 500
    assert body_of(result)["error"]["type"] == "api_error"
    (line,) = log_lines(capsys)
    assert (line["status"], line["error_code"], line["server_errors"]) == (
        500,
        "internal_error",
        1,
    )
