"""Own models: a SageMaker endpoint's messages API and a Bedrock model by ARN, as catalog models.

botocore's Stubber checks each sagemaker-runtime and bedrock-runtime request against the real
service models: the body the endpoint gets, the ARN Bedrock gets.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.calls import ClientPool
from lambdas.gateway.settings import Settings
from stacks.config import parse_config
from tests.gateway.harness import TODAY

SUPPORT = "acme.support-llama-v1"
TUNED = "acme.tuned-nova-v1"
PROVISIONED = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghij12"
CONFIG: dict[str, Any] = {
    "models": {
        "enabled": ["amazon.nova-micro-v1:0", SUPPORT, TUNED],
        "aliases": {"support": [SUPPORT, "amazon.nova-micro-v1:0"]},
        "declared": {
            SUPPORT: {
                "name": "Support Llama (fine-tuned, SageMaker)",
                "provider": "acme",
                "modality": "text",
                "context_window": 8192,
                "max_output_tokens": 2048,
                "capabilities": ["system_prompt", "streaming"],
                "sagemaker_endpoint": "support-llama",
                "pricing": {"in_region": [1.0, 2.0]},
            },
            TUNED: {
                "name": "Tuned Nova (Provisioned Throughput)",
                "provider": "acme",
                "modality": "text",
                "context_window": 300000,
                "max_output_tokens": 5000,
                "capabilities": ["system_prompt", "streaming", "guardrails"],
                "invocation_arn": PROVISIONED,
                "pricing": {"in_region": [0.0, 0.0]},
            },
        },
    }
}


def _json_body(value: object) -> StreamingBody:
    raw = json.dumps(value).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


class Stubbed:
    """A gateway whose bedrock-runtime and sagemaker-runtime clients are stubbed."""

    def __init__(self, app: GatewayApp, bedrock: Stubber, sagemaker: Stubber) -> None:
        self.app, self.bedrock, self.sagemaker = app, bedrock, sagemaker

    def chat(self, **body: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                return await client.post(
                    "/v1/chat/completions",
                    json=body,
                    headers={"authorization": "Bearer k"},
                )

        import asyncio

        return asyncio.run(send())


@pytest.fixture
def gateway() -> Iterator[Stubbed]:
    config = parse_config(CONFIG, source="own.toml", env_name="own", today=TODAY)
    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": config.gateway_routing_json(),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": "k",
            "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
            "AWS_REGION": "us-east-1",
        }
    )
    bedrock = boto3.client("bedrock-runtime", region_name="us-east-1")
    sagemaker = boto3.client("sagemaker-runtime", region_name="us-east-1")
    app = GatewayApp(settings, client_factory=lambda: bedrock)
    app.gateway.sagemaker_clients = ClientPool(lambda _timeout: sagemaker)
    with Stubber(bedrock) as bedrock_stub, Stubber(sagemaker) as sagemaker_stub:
        yield Stubbed(app, bedrock_stub, sagemaker_stub)
        bedrock_stub.assert_no_pending_responses()
        sagemaker_stub.assert_no_pending_responses()


def _converse_answer(text: str) -> dict[str, Any]:
    """A Converse answer as Bedrock sends it (Stubber checks it against the model)."""
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "metrics": {"latencyMs": 1},
    }


def _expected(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "EndpointName": "support-llama",
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps(body).encode(),
    }


def test_a_sagemaker_model_gets_the_messages_api_and_answers_as_a_chat_completion(
    gateway: Stubbed,
) -> None:
    sent = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "stream": False,
        "max_tokens": 50,
        "temperature": 0.2,
    }
    answer = {
        "id": "chatcmpl-0",
        "object": "chat.completion",
        "created": 1,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello."},
                "finish_reason": "eos_token",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }
    gateway.sagemaker.add_response(
        "invoke_endpoint",
        {"Body": _json_body(answer), "ContentType": "application/json"},
        _expected(sent),
    )
    response = gateway.chat(
        model=SUPPORT,
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_tokens=50,
        temperature=0.2,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == SUPPORT
    assert body["choices"][0]["message"]["content"] == "Hello."
    # LMI's eos_token is OpenAI's stop.
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] == 12 and body["usage"]["completion_tokens"] == 3
    # Metered at the declared price: 12 x $1/M + 3 x $2/M.
    assert response.headers["x-gateway-cost-usd"] == "0.00001800"
    # Clients see the declared id; the endpoint (or an ARN naming the account) stays inside.
    assert response.headers["x-gateway-invocation-id"] == SUPPORT


def test_a_cut_answer_is_length_and_missing_usage_is_estimated(gateway: Stubbed) -> None:
    answer = {"choices": [{"message": {"content": "abcdefgh"}, "finish_reason": "length"}]}
    sent = {"messages": [{"role": "user", "content": "Tell me everything"}], "stream": False}
    gateway.sagemaker.add_response("invoke_endpoint", {"Body": _json_body(answer)}, _expected(sent))
    body = gateway.chat(
        model=SUPPORT, messages=[{"role": "user", "content": "Tell me everything"}]
    ).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2  # eight characters, four a token


def test_a_streamed_request_sends_stream_true_to_the_endpoint(gateway: Stubbed) -> None:
    gateway.sagemaker.add_client_error(
        "invoke_endpoint_with_response_stream",
        service_error_code="ModelError",
        service_message="CUDA out of memory while answering: <the prompt>",
        http_status_code=424,
        expected_params={
            "EndpointName": "support-llama",
            "ContentType": "application/json",
            "Body": json.dumps(
                {"messages": [{"role": "user", "content": "Hi"}], "stream": True}
            ).encode(),
        },
    )
    # The alias's next model is not tried: a model error is not throttling.
    response = gateway.chat(
        model=SUPPORT, messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "ModelError"
    # The container's text (which may repeat the prompt) stays out of the answer.
    assert "CUDA" not in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        ("response_format", {"type": "json_object"}),
    ],
)
def test_what_the_endpoint_cannot_take_is_a_400_naming_it(
    gateway: Stubbed, field: str, value: object
) -> None:
    response = gateway.chat(
        model=SUPPORT, messages=[{"role": "user", "content": "Hi"}], **{field: value}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == field and SUPPORT in error["message"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ModelNotReadyException", 429),  # the endpoint is not ready yet
        ("ValidationError", 400),  # missing or not InService: the deployment's fault
    ],
)
def test_an_unavailable_endpoint_falls_back_to_the_aliases_next_model(
    gateway: Stubbed, code: str, status: int
) -> None:
    gateway.sagemaker.add_client_error(
        "invoke_endpoint", service_error_code=code, http_status_code=status
    )
    gateway.bedrock.add_response("converse", _converse_answer("From Nova."))
    response = gateway.chat(model="support", messages=[{"role": "user", "content": "Hi"}])
    assert response.status_code == 200
    assert response.json()["model"] == "amazon.nova-micro-v1:0"


def test_a_provisioned_model_is_called_by_its_arn_through_converse(gateway: Stubbed) -> None:
    gateway.bedrock.add_response(
        "converse",
        _converse_answer("Tuned."),
        {
            "modelId": PROVISIONED,
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        },
    )
    response = gateway.chat(model=TUNED, messages=[{"role": "user", "content": "Hi"}])
    assert response.status_code == 200, response.text
    assert response.json()["model"] == TUNED
    assert response.headers["x-gateway-invocation-id"] == TUNED
    listed = gateway.app.gateway.settings.routing.target(
        gateway.app.gateway.settings.routing.resolve(TUNED)[0].spec
    )
    assert listed.shown_id == TUNED


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ([1, 2], 502),  # not a chat completion (a generate schema, say)
        ({"choices": None}, 502),
        ({"choices": [{"message": {"content": "ok"}}], "usage": {"prompt_tokens": None}}, 200),
    ],
)
def test_an_endpoint_answer_that_is_not_a_chat_completion_is_a_clear_502(
    gateway: Stubbed, answer: object, status: int
) -> None:
    gateway.sagemaker.add_response("invoke_endpoint", {"Body": _json_body(answer)})
    response = gateway.chat(model=SUPPORT, messages=[{"role": "user", "content": "Hi"}])
    assert response.status_code == status, response.text
    if status == 502:
        assert response.json()["error"]["type"] == "model_error"
    else:
        assert response.json()["usage"]["prompt_tokens"] == 1  # estimated from "Hi"


def test_a_stream_reads_lines_split_across_parts_and_stops_on_an_error_object() -> None:
    from lambdas.gateway.errors import ApiError
    from lambdas.gateway.sagemaker import StreamEvents

    config = parse_config(CONFIG, source="own.toml", env_name="own", today=TODAY)
    (target,) = config.models.routing().resolve(SUPPORT)
    chunk = json.dumps({"choices": [{"delta": {"content": "Hel"}, "finish_reason": None}]})
    last = json.dumps({"choices": [{"delta": {"content": "lo"}, "finish_reason": "eos_token"}]})
    parts = [chunk[:10], chunk[10:] + "\n" + "data: " + last[:5], last[5:] + "\n"]
    events = list(StreamEvents([{"PayloadPart": {"Bytes": p.encode()}} for p in parts], target))
    text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    assert text == "Hello"
    assert {"messageStop": {"stopReason": "end_turn"}} in events
    failing = [{"PayloadPart": {"Bytes": b'{"object": "error", "message": "CUDA"}\n'}}]
    with pytest.raises(ApiError) as raised:
        list(StreamEvents(failing, target))
    assert raised.value.status == 502 and "CUDA" not in raised.value.message


def test_an_own_models_arn_must_be_in_the_deployments_region() -> None:
    from stacks.config import ConfigError

    data = json.loads(json.dumps(CONFIG))
    data["deployment"] = {"region": "eu-west-1"}
    data["models"]["enabled"] = ["amazon.nova-micro-v1:0", TUNED]
    data["models"]["aliases"] = {}
    with pytest.raises(ConfigError, match="invocation_arn: is in us-east-1, not in"):
        parse_config(data, source="own.toml", env_name="own", today=TODAY)
