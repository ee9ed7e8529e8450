"""Behind API Gateway (GATEWAY_AUTH=api-gateway) the gateway answers only its stage's requests.

A direct `lambda:InvokeFunction` or a console test invocation skips keys, quotas and access
logs: both transports refuse them with a logged 403 (the buffered handler from the event's
`requestContext`, the streaming app from the Web Adapter's `x-amzn-request-context` header).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.core import TEST_INVOKE_STAGE, Gateway
from lambdas.gateway.lambda_handler import LambdaAdapter, ProxyHandler, create_handler
from lambdas.gateway.settings import Settings
from tests.conftest import routing_json
from tests.gateway.conftest import HAIKU, ROUTING, converse_response
from tests.gateway.harness import NOVA, REQUEST_CONTEXT, log_lines

CHAT = json.dumps({"model": HAIKU, "messages": [{"role": "user", "content": "Hi"}]})
REFUSAL = "The gateway only answers requests that come through its API Gateway stage."


def behind_api_gateway() -> Settings:
    """The deployed functions' settings, as far as authentication goes."""
    return Settings.from_env(
        {
            "GATEWAY_ROUTING": routing_json(**ROUTING),
            "GATEWAY_AUTH": "api-gateway",
            "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
        }
    )


def without(field: str) -> dict[str, Any]:
    return {name: value for name, value in REQUEST_CONTEXT.items() if name != field}


# Request contexts that API Gateway's stage never sends.
FORGED_CONTEXTS = {
    "missing": None,
    "not-an-object": "a1b2c3d4e5",
    "empty": {},
    "no-request-id": without("requestId"),
    "no-api-id": without("apiId"),
    "no-stage": without("stage"),
    "empty-stage": {**REQUEST_CONTEXT, "stage": ""},
    "stage-not-text": {**REQUEST_CONTEXT, "stage": 1},
    "no-identity": without("identity"),
    "test-invoke-stage": {**REQUEST_CONTEXT, "stage": TEST_INVOKE_STAGE},
}


@pytest.fixture
def stubber() -> Iterator[Stubber]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubbed:
        yield stubbed
        # Nothing refused may reach Bedrock: an unexpected call fails against the stub.
        stubbed.assert_no_pending_responses()


@pytest.fixture
def function(stubber: Stubber) -> LambdaAdapter:
    """The buffered function's adapter, deployed settings, Bedrock stubbed."""
    return LambdaAdapter(Gateway(behind_api_gateway(), lambda: stubber.client))


@pytest.fixture
def streaming_app(stubber: Stubber) -> GatewayApp:
    """The streaming function's ASGI app, deployed settings, Bedrock stubbed."""
    return GatewayApp(behind_api_gateway(), client_factory=lambda: stubber.client)


def proxy_event(path: str = "/v1/chat/completions", **fields: Any) -> dict[str, Any]:
    """A REST proxy event (payload 1.0) with no API key: API Gateway keeps the key."""
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "POST" if path == "/v1/chat/completions" else "GET",
        "headers": {"content-type": "application/json"},
        "body": CHAT if path == "/v1/chat/completions" else None,
        "isBase64Encoded": False,
        **fields,
    }


def over_http(app: GatewayApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(run())


def context_header(context: object) -> dict[str, str]:
    return {"x-amzn-request-context": json.dumps(context)}


def assert_refused(status: int, body: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A 403 in OpenAI's error shape, logged as one request line, with no traceback."""
    assert status == 403
    assert body["error"] == {
        "message": REFUSAL,
        "type": "permission_error",
        "param": None,
        "code": "not_through_api_gateway",
    }
    (line,) = log_lines(capsys)
    assert (line["status"], line["error_code"]) == (403, "not_through_api_gateway")
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("context", FORGED_CONTEXTS.values(), ids=FORGED_CONTEXTS.keys())
def test_direct_invoke_without_the_stages_request_context_is_a_logged_403(
    function: LambdaAdapter, capsys: pytest.CaptureFixture[str], context: object
) -> None:
    event = proxy_event() if context is None else proxy_event(requestContext=context)
    result = function(event, None)
    assert_refused(result["statusCode"], json.loads(result["body"]), capsys)


def test_test_invoke_stage_is_a_403_even_with_an_otherwise_real_context(
    function: LambdaAdapter, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the console's "Test" button sends: a full context, on its own pseudo-stage.
    context = {
        **REQUEST_CONTEXT,
        "stage": "test-invoke-stage",
        "requestId": "test-invoke-request",
        "identity": {"sourceIp": "test-invoke-source-ip", "apiKey": "test-invoke-api-key"},
    }
    result = function(proxy_event(requestContext=context), None)
    assert_refused(result["statusCode"], json.loads(result["body"]), capsys)


@pytest.mark.parametrize(
    "event",
    [proxy_event("/no/such/route"), ["not", "an", "event"], {}],
    ids=["unknown-path", "not-a-map", "empty"],
)
def test_direct_invoke_learns_nothing_not_even_which_paths_exist(
    function: LambdaAdapter, capsys: pytest.CaptureFixture[str], event: Any
) -> None:
    result = function(event, None)
    assert_refused(result["statusCode"], json.loads(result["body"]), capsys)


def test_a_request_through_the_stage_is_served_without_a_key(
    function: LambdaAdapter, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    stubber.add_response("converse", converse_response(), None)
    result = function(proxy_event(requestContext=REQUEST_CONTEXT), None)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["choices"][0]["message"]["content"] == "Hello there"
    (line,) = log_lines(capsys)
    assert line["status"] == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-amzn-request-context": "not json"},
        {"x-amzn-request-context": "[" * 5000},
        context_header(None),
        context_header(without("apiId")),
        context_header({**REQUEST_CONTEXT, "stage": TEST_INVOKE_STAGE}),
    ],
    ids=["no-header", "not-json", "nested-too-deeply", "null", "no-api-id", "test-invoke-stage"],
)
def test_streaming_app_without_a_parseable_request_context_header_is_a_logged_403(
    streaming_app: GatewayApp, capsys: pytest.CaptureFixture[str], headers: dict[str, str]
) -> None:
    headers = {"content-type": "application/json", **headers}
    response = over_http(
        streaming_app, "POST", "/v1/chat/completions", content=CHAT, headers=headers
    )
    assert_refused(response.status_code, response.json(), capsys)


def test_streaming_app_refuses_two_request_context_headers(
    streaming_app: GatewayApp, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Web Adapter sets exactly one, replacing whatever the client sent.
    value = json.dumps(REQUEST_CONTEXT).encode()
    headers = [(b"x-amzn-request-context", value), (b"x-amzn-request-context", value)]
    response = over_http(streaming_app, "GET", "/v1/models", headers=headers)
    assert_refused(response.status_code, response.json(), capsys)


def test_streaming_app_serves_a_request_carrying_the_stages_context(
    streaming_app: GatewayApp, stubber: Stubber
) -> None:
    stubber.add_response("converse", converse_response(), None)
    headers = {"content-type": "application/json", **context_header(REQUEST_CONTEXT)}
    response = over_http(
        streaming_app, "POST", "/v1/chat/completions", content=CHAT, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Hello there"


def test_health_still_answers_the_web_adapters_readiness_check_without_the_header(
    streaming_app: GatewayApp, function: LambdaAdapter, capsys: pytest.CaptureFixture[str]
) -> None:
    # AWS_LWA_READINESS_CHECK_PATH=/health: the adapter probes it before any invocation.
    response = over_http(streaming_app, "GET", "/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    result = function({"httpMethod": "GET", "path": "/health"}, None)
    assert result["statusCode"] == 200
    assert log_lines(capsys) == []  # health checks are never logged


def test_key_mode_keeps_no_request_context_check(capsys: pytest.CaptureFixture[str]) -> None:
    # Locally (`make run`) the gateway checks its key and no API Gateway exists.
    app = GatewayApp(
        Settings.from_env(
            {"GATEWAY_ROUTING": routing_json([NOVA]), "GATEWAY_AUTH": "key", "GATEWAY_API_KEY": "k"}
        )
    )
    response = over_http(app, "GET", "/v1/models", headers={"authorization": "Bearer k"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({}, "GATEWAY_AUTH must be set to 'key' or 'api-gateway'"),
        ({"GATEWAY_AUTH": ""}, "GATEWAY_AUTH must be set to 'key' or 'api-gateway'"),
        ({"GATEWAY_AUTH": "none"}, "GATEWAY_AUTH must be set to 'key' or 'api-gateway'"),
        (
            {"GATEWAY_AUTH": "key"},
            "GATEWAY_API_KEY or GATEWAY_API_KEYS must be set when GATEWAY_AUTH is 'key'",
        ),
        (
            {"GATEWAY_AUTH": "key", "GATEWAY_API_KEY": ""},
            "GATEWAY_API_KEY or GATEWAY_API_KEYS must be set when GATEWAY_AUTH is 'key'",
        ),
    ],
    ids=["auth-missing", "auth-empty", "auth-unknown", "key-missing", "key-empty"],
)
def test_missing_auth_settings_answer_a_misconfigured_500_with_a_log_line(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], reason: str
) -> None:
    handler: ProxyHandler = create_handler(
        {"GATEWAY_ROUTING": routing_json([NOVA]), "GATEWAY_METRICS_NAMESPACE": "Kit/dev", **env}
    )
    assert reason in capsys.readouterr().err  # said once, at start-up
    result = handler(proxy_event(requestContext=REQUEST_CONTEXT), None)
    assert result["statusCode"] == 500
    assert json.loads(result["body"])["error"]["code"] == "misconfigured"
    (line,) = log_lines(capsys)
    assert (line["status"], line["error_code"], line["server_errors"]) == (500, "misconfigured", 1)


def test_the_gateway_has_no_built_in_key() -> None:
    with pytest.raises(ValueError, match="GATEWAY_API_KEY or GATEWAY_API_KEYS must be set"):
        Settings.from_env({"GATEWAY_ROUTING": routing_json([NOVA]), "GATEWAY_AUTH": "key"})
