"""The gateway over HTTP in-process: auth, routes, OpenAI shapes, Bedrock errors, fallbacks."""

from __future__ import annotations

import json

import pytest

from tests.gateway.conftest import HAIKU, NOVA_MICRO, ROUTING, Gateway, converse_response


def test_health_needs_no_key(gateway: Gateway) -> None:
    response = gateway.request("GET", "/health", key=None)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "headers", [{"authorization": "Bearer test-key"}, {"x-api-key": "test-key"}]
)
def test_key_is_accepted_as_bearer_token_or_x_api_key(
    gateway: Gateway, headers: dict[str, str]
) -> None:
    assert gateway.request("GET", "/v1/models", key=None, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing API key"),
        ({"authorization": "Bearer wrong"}, "Invalid API key"),
        ({"authorization": "Basic dGVzdC1rZXk="}, "Missing API key"),
    ],
)
def test_missing_or_wrong_key_is_a_401(
    gateway: Gateway, headers: dict[str, str], message: str
) -> None:
    response = gateway.request("GET", "/v1/models", key=None, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert message in response.json()["error"]["message"]


def test_models_lists_enabled_models_with_catalog_details_and_aliases(gateway: Gateway) -> None:
    data = gateway.request("GET", "/v1/models").json()["data"]
    by_id = {entry["id"]: entry for entry in data}
    assert set(by_id) == {*ROUTING["enabled"], *ROUTING["aliases"]}
    haiku = by_id[HAIKU]
    assert haiku["owned_by"] == "anthropic"
    assert haiku["modality"] == "text"
    assert "vision" in haiku["capabilities"]
    assert haiku["invocation_id"] == f"us.{HAIKU}"
    # Called through the US profile: the geographic price, 10% above the global one.
    assert haiku["pricing"]["path"] == "geographic"
    assert haiku["pricing"]["input_per_million_tokens"] == "1.1"
    assert haiku["pricing"]["output_per_million_tokens"] == "5.5"
    assert haiku["lifecycle"] == {"status": "ACTIVE", "end_of_life": None, "successor": None}
    assert by_id["fast"]["targets"] == [NOVA_MICRO, HAIKU]


def test_chat_completion_calls_converse_and_returns_usage_and_cost(gateway: Gateway) -> None:
    gateway.stubber.add_response(
        "converse",
        converse_response(input_tokens=1000, output_tokens=2000),
        {
            "modelId": f"us.{HAIKU}",
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": {"maxTokens": 64},
        },
    )
    response = gateway.chat(max_tokens=64)
    assert response.status_code == 200
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "Hello there"
    assert body["usage"] == {"prompt_tokens": 1000, "completion_tokens": 2000, "total_tokens": 3000}
    assert response.headers["x-gateway-model"] == HAIKU
    # 1,000 input and 2,000 output tokens at the US profile's $1.10 / $5.50 per million.
    assert response.headers["x-gateway-cost-usd"] == "0.01210000"
    assert body["id"] == f"chatcmpl-{response.headers['x-request-id']}"


def test_alias_falls_back_to_the_next_model_on_throttling(gateway: Gateway) -> None:
    gateway.stubber.add_client_error(
        "converse",
        service_error_code="ThrottlingException",
        service_message="Too many",
        http_status_code=429,
    )
    gateway.stubber.add_response("converse", converse_response("from haiku"))
    response = gateway.chat(model="fast")
    assert response.status_code == 200
    assert response.headers["x-gateway-model"] == HAIKU
    assert response.json()["choices"][0]["message"]["content"] == "from haiku"


def test_alias_does_not_fall_back_on_a_validation_error(gateway: Gateway) -> None:
    gateway.stubber.add_client_error(
        "converse",
        service_error_code="ValidationException",
        service_message="bad",
        http_status_code=400,
    )
    response = gateway.chat(model="fast")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationException"


@pytest.mark.parametrize(
    ("code", "bedrock_status", "status", "retry_after"),
    [
        ("ValidationException", 400, 400, False),
        ("AccessDeniedException", 403, 403, False),
        ("ResourceNotFoundException", 404, 404, False),
        ("ModelTimeoutException", 408, 504, False),
        ("ModelErrorException", 424, 502, False),
        ("ThrottlingException", 429, 429, True),
        ("ModelNotReadyException", 429, 503, True),
        ("InternalServerException", 500, 502, False),
        ("ServiceUnavailableException", 503, 503, True),
    ],
)
def test_bedrock_errors_map_to_openai_errors_with_the_right_status(
    gateway: Gateway, code: str, bedrock_status: int, status: int, retry_after: bool
) -> None:
    gateway.stubber.add_client_error(
        "converse",
        service_error_code=code,
        service_message="details",
        http_status_code=bedrock_status,
    )
    response = gateway.chat()
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert HAIKU in error["message"]
    assert ("retry-after" in response.headers) is retry_after


def test_access_denied_does_not_echo_bedrock_text(gateway: Gateway) -> None:
    gateway.stubber.add_client_error(
        "converse",
        service_error_code="AccessDeniedException",
        service_message="User arn:aws:sts::123456789012:assumed-role/x is not authorized",
        http_status_code=403,
    )
    assert "123456789012" not in gateway.chat().text


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [("openai.gpt-4o", 404, "model_not_found"), ("amazon.nova-pro-v1:0", 403, "model_not_enabled")],
)
def test_unknown_and_not_enabled_models_are_refused_by_name(
    gateway: Gateway, model: str, status: int, code: str
) -> None:
    response = gateway.chat(model=model)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert model in response.json()["error"]["message"]


def test_embedding_model_is_refused_for_chat(gateway: Gateway) -> None:
    response = gateway.chat(model="embed")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wrong_model_modality"


def test_profile_id_of_the_configured_geography_selects_the_model(gateway: Gateway) -> None:
    gateway.stubber.add_response("converse", converse_response(), None)
    response = gateway.chat(model=f"us.{HAIKU}")
    assert response.status_code == 200
    assert response.headers["x-gateway-invocation-id"] == f"us.{HAIKU}"


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"", 400, "invalid_json"),
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
    ],
)
def test_malformed_bodies_are_400s(
    gateway: Gateway, content: bytes, status: int, code: str
) -> None:
    response = gateway.request("POST", "/v1/chat/completions", content=content)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_unknown_route_is_404_and_wrong_method_405(gateway: Gateway) -> None:
    assert gateway.request("GET", "/v1/nothing").status_code == 404
    assert gateway.request("GET", "/v1/chat/completions").status_code == 405


def test_unexpected_failure_is_a_500_without_a_traceback(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.gateway import completions

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(completions, "to_converse", explode)
    response = gateway.chat()
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["error"]["type"] == "api_error"


def test_request_log_line_has_metadata_but_no_prompt_or_key(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.stubber.add_response("converse", converse_response("a secret completion"))
    payload = {"model": HAIKU, "messages": [{"role": "user", "content": "my private prompt"}]}
    gateway.request("POST", "/v1/chat/completions", content=json.dumps(payload))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (record,) = [line for line in lines if line.get("type") == "gateway.request"]
    assert record["model"] == HAIKU and record["status"] == 200
    assert record["input_tokens"] == 10 and record["output_tokens"] == 4
    assert record["cost_usd"] is not None and record["latency_ms"] >= 0
    text = json.dumps(record)
    for secret in ("my private prompt", "a secret completion", "test-key"):
        assert secret not in text
