"""Embeddings, images, native passthrough and compare, with the exact bodies each family needs."""

from __future__ import annotations

import base64
import json
import struct

import pytest
from botocore.stub import ANY

from lambdas.gateway.adapters.stability_image import nearest_aspect_ratio
from lambdas.gateway.metering import METRIC_NAMESPACE
from tests.conftest import routing_json
from tests.gateway.conftest import (
    CANVAS,
    COHERE_EMBED,
    HAIKU,
    MISTRAL_7B,
    NOVA_MICRO,
    SD35,
    TITAN_EMBED,
    Gateway,
    converse_response,
    invoke_response,
)


def sent_body(expected: dict) -> dict:
    """Expected InvokeModel params with the JSON body compared as bytes."""
    return expected


def expect_invoke(gateway: Gateway, model_id: str, body: dict, response: dict) -> None:
    gateway.stubber.add_response(
        "invoke_model",
        response,
        {
            "modelId": model_id,
            "body": json.dumps(body).encode(),
            "contentType": "application/json",
            "accept": "application/json",
        },
    )


def test_titan_embeddings_call_once_per_input_with_dimensions_and_usage(gateway: Gateway) -> None:
    for text, tokens in (("alpha", 2), ("beta gamma", 3)):
        expect_invoke(
            gateway,
            TITAN_EMBED,
            {"inputText": text, "normalize": True, "dimensions": 256},
            invoke_response({"embedding": [0.5, -0.25], "inputTextTokenCount": tokens}),
        )
    response = gateway.post(
        "/v1/embeddings",
        {"model": "embed", "input": ["alpha", "beta gamma"], "dimensions": 256},
    )
    assert response.status_code == 200
    body = response.json()
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert body["data"][0]["embedding"] == [0.5, -0.25]
    assert body["usage"] == {"prompt_tokens": 5, "total_tokens": 5}
    assert body["model"] == TITAN_EMBED


def test_cohere_embeddings_batch_inputs_and_meter_from_headers(gateway: Gateway) -> None:
    expect_invoke(
        gateway,
        COHERE_EMBED,
        {"texts": ["q1", "q2"], "input_type": "search_query", "truncate": "NONE"},
        invoke_response(
            {"embeddings": [[0.1], [0.2]], "id": "x", "texts": ["q1", "q2"]},
            x_amzn_bedrock_input_token_count="4",
        ),
    )
    response = gateway.post(
        "/v1/embeddings",
        {"model": COHERE_EMBED, "input": ["q1", "q2"], "input_type": "search_query"},
    )
    assert response.status_code == 200
    assert response.json()["usage"]["prompt_tokens"] == 4
    assert response.headers["x-gateway-cost-usd"] == "0.00000040"


def test_base64_encoding_packs_little_endian_float32(gateway: Gateway) -> None:
    expect_invoke(
        gateway,
        TITAN_EMBED,
        {"inputText": "x", "normalize": True},
        invoke_response({"embedding": [1.0, 0.5], "inputTextTokenCount": 1}),
    )
    response = gateway.post(
        "/v1/embeddings", {"model": TITAN_EMBED, "input": "x", "encoding_format": "base64"}
    )
    packed = base64.b64decode(response.json()["data"][0]["embedding"])
    assert struct.unpack("<2f", packed) == (1.0, 0.5)


@pytest.mark.parametrize(
    ("body", "param", "status"),
    [
        ({"model": TITAN_EMBED, "input": []}, "input", 400),
        ({"model": TITAN_EMBED, "input": [1, 2]}, "input", 400),
        ({"model": TITAN_EMBED, "input": "x", "dimensions": 300}, "dimensions", 400),
        ({"model": COHERE_EMBED, "input": "x", "dimensions": 256}, "dimensions", 400),
        ({"model": TITAN_EMBED, "input": "x", "encoding_format": "int8"}, "encoding_format", 400),
        ({"model": COHERE_EMBED, "input": "x", "input_type": "poetry"}, "input_type", 400),
        ({"model": HAIKU, "input": "x"}, "model", 400),
    ],
)
def test_bad_embedding_requests_name_the_field(
    gateway: Gateway, body: dict, param: str, status: int
) -> None:
    response = gateway.post("/v1/embeddings", body)
    assert response.status_code == status
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("size", "ratio"),
    [("1024x1024", "1:1"), ("1792x1024", "16:9"), ("1024x1792", "9:16"), ("1280x1024", "5:4")],
)
def test_openai_sizes_map_to_the_nearest_stability_aspect_ratio(size: str, ratio: str) -> None:
    width, height = (int(x) for x in size.split("x"))
    assert nearest_aspect_ratio(width, height) == ratio


def test_stability_generates_one_image_per_call_with_distinct_seeds(gateway: Gateway) -> None:
    for seed in (7, 8):
        expect_invoke(
            gateway,
            SD35,
            {
                "prompt": "a lighthouse",
                "aspect_ratio": "16:9",
                "output_format": "png",
                "negative_prompt": "fog",
                "seed": seed,
            },
            invoke_response({"seeds": [seed], "finish_reasons": [None], "images": [f"img{seed}"]}),
        )
    response = gateway.post(
        "/v1/images/generations",
        {
            "model": SD35,
            "prompt": "a lighthouse",
            "n": 2,
            "size": "1792x1024",
            "seed": 7,
            "negative_prompt": "fog",
            "response_format": "b64_json",
        },
    )
    assert response.status_code == 200
    assert [d["b64_json"] for d in response.json()["data"]] == ["img7", "img8"]
    assert response.headers["x-gateway-cost-usd"] == "0.13000000"  # 2 x $0.065


def test_nova_canvas_generates_n_images_in_one_call(gateway: Gateway) -> None:
    expect_invoke(
        gateway,
        CANVAS,
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a fox"},
            "imageGenerationConfig": {
                "numberOfImages": 3,
                "width": 1024,
                "height": 1024,
                "quality": "premium",
            },
        },
        invoke_response({"images": ["a", "b", "c"], "error": None}),
    )
    response = gateway.post(
        "/v1/images/generations", {"model": CANVAS, "prompt": "a fox", "n": 3, "quality": "hd"}
    )
    assert response.status_code == 200
    assert len(response.json()["data"]) == 3


@pytest.mark.parametrize(
    ("model", "answer"),
    [
        (SD35, {"seeds": [1], "finish_reasons": ["Filter reason: prompt"], "images": []}),
        (CANVAS, {"images": [], "error": "This request has been blocked by our content filters."}),
    ],
)
def test_filtered_images_are_a_clear_error_not_an_empty_image(
    gateway: Gateway, model: str, answer: dict
) -> None:
    gateway.stubber.add_response("invoke_model", invoke_response(answer), None)
    response = gateway.post("/v1/images/generations", {"model": model, "prompt": "something"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "content_policy_violation"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": SD35, "prompt": ""}, "prompt"),
        ({"model": SD35, "prompt": "x", "n": 9}, "n"),
        ({"model": SD35, "prompt": "x", "size": "big"}, "size"),
        ({"model": SD35, "prompt": "x", "size": "1000x1000"}, "size"),
        ({"model": SD35, "prompt": "x", "response_format": "url"}, "response_format"),
        ({"model": CANVAS, "prompt": "x", "seed": 900_000_000}, "seed"),
        ({"model": HAIKU, "prompt": "x"}, "model"),
    ],
)
def test_bad_image_requests_name_the_field(gateway: Gateway, body: dict, param: str) -> None:
    response = gateway.post("/v1/images/generations", body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_passthrough_forwards_the_native_body_and_meters_headers(gateway: Gateway) -> None:
    native = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []}
    raw = json.dumps(native).encode()
    answer = {"content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": 3}}
    gateway.stubber.add_response(
        "invoke_model",
        invoke_response(
            answer,
            x_amzn_bedrock_input_token_count="1000",
            x_amzn_bedrock_output_token_count="2000",
        ),
        {"modelId": f"us.{HAIKU}", "body": raw, "contentType": "application/json", "accept": ANY},
    )
    response = gateway.request("POST", f"/v1/models/{HAIKU}/invoke", content=raw)
    assert response.status_code == 200
    assert response.json() == answer
    assert response.headers["x-gateway-input-tokens"] == "1000"
    assert response.headers["x-gateway-cost-usd"] == "0.01210000"


@pytest.mark.parametrize(
    ("path", "content", "status"),
    [
        ("/v1/models/fast/invoke", b"{}", 400),
        ("/v1/models/amazon.nova-pro-v1:0/invoke", b"{}", 403),
        ("/v1/models/openai.gpt-4o/invoke", b"{}", 404),
        (f"/v1/models/{HAIKU}/invoke", b"[1, 2]", 400),
        (f"/v1/models/{HAIKU}/invoke", b"{oops", 400),
    ],
)
def test_passthrough_still_enforces_the_allow_list_and_json(
    gateway: Gateway, path: str, content: bytes, status: int
) -> None:
    assert gateway.request("POST", path, content=content).status_code == status


def test_retrieve_model_returns_one_entry(gateway: Gateway) -> None:
    assert gateway.request("GET", f"/v1/models/{HAIKU}").json()["id"] == HAIKU
    assert gateway.request("GET", "/v1/models/fast").json()["targets"] == [NOVA_MICRO, HAIKU]
    assert gateway.request("GET", "/v1/models/openai.gpt-4o").status_code == 404


def test_compare_answers_side_by_side_and_isolates_failures(gateway: Gateway) -> None:
    # The Stubber answers in call order; threads may call in any order, so both get one of each.
    gateway.stubber.add_response("converse", converse_response("one", 10, 5), None)
    gateway.stubber.add_client_error(
        "converse",
        service_error_code="ValidationException",
        service_message="nope",
        http_status_code=400,
    )
    response = gateway.post(
        "/v1/compare",
        {"models": [HAIKU, MISTRAL_7B], "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["model"] for r in results] == [HAIKU, MISTRAL_7B]
    assert sorted(r["status"] for r in results) == ["error", "ok"]
    ok = next(r for r in results if r["status"] == "ok")
    assert ok["content"] == "one" and ok["usage"]["total_tokens"] == 15 and ok["latency_ms"] >= 0
    failed = next(r for r in results if r["status"] == "error")
    assert failed["http_status"] == 400 and failed["error"]["code"] == "ValidationException"


@pytest.mark.parametrize(
    "models",
    [[HAIKU], [HAIKU, HAIKU], "x", [HAIKU, "openai.gpt-4o"]],
    ids=["one", "dupe", "str", "unknown"],
)
def test_compare_refuses_bad_model_lists(gateway: Gateway, models: object) -> None:
    response = gateway.post(
        "/v1/compare", {"models": models, "messages": [{"role": "user", "content": "Hi"}]}
    )
    assert response.status_code in (400, 404)


def test_fallback_stops_when_the_time_budget_is_spent(gateway: Gateway) -> None:
    from lambdas.gateway.app import GatewayApp
    from lambdas.gateway.settings import Settings
    from tests.gateway.conftest import ROUTING

    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": routing_json(**ROUTING),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": "test-key",
            "GATEWAY_TIME_BUDGET_SECONDS": "1",
        }
    )
    client = gateway.stubber.client
    gateway.app = GatewayApp(settings, client_factory=lambda: client)
    gateway.stubber.add_client_error(
        "converse",
        service_error_code="ThrottlingException",
        service_message="slow down",
        http_status_code=429,
    )
    response = gateway.chat(model="fast")
    # With under MIN_ATTEMPT_SECONDS left, the gateway answers 429 instead of trying Haiku.
    assert response.status_code == 429
    assert response.headers["retry-after"]


def test_request_log_line_is_an_emf_record_per_model(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway.stubber.add_response(
        "converse", converse_response(input_tokens=100, output_tokens=50), None
    )
    gateway.chat()
    (line,) = [
        json.loads(x) for x in capsys.readouterr().out.splitlines() if "gateway.request" in x
    ]
    metrics = line["_aws"]["CloudWatchMetrics"][0]
    assert metrics["Namespace"] == METRIC_NAMESPACE
    assert metrics["Dimensions"] == [["model"], []]
    for metric in metrics["Metrics"]:
        assert isinstance(line[metric["Name"]], int | float), metric
    assert line["input_tokens"] == 100 and line["cost_usd"] == pytest.approx(0.000385)


def test_content_logging_is_off_unless_explicitly_enabled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    import boto3
    import httpx
    from botocore.stub import Stubber

    from lambdas.gateway.app import GatewayApp
    from lambdas.gateway.settings import Settings
    from tests.gateway.conftest import ROUTING

    def logged(env_flag: str | None) -> dict:
        env = {
            "GATEWAY_ROUTING": routing_json(**ROUTING),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": "k",
        }
        if env_flag is not None:
            env["GATEWAY_LOG_CONTENT"] = env_flag
        client = boto3.client("bedrock-runtime", region_name="us-east-1")
        app = GatewayApp(Settings.from_env(env), client_factory=lambda: client)
        with Stubber(client) as stubber:
            stubber.add_response("converse", converse_response("the secret answer"), None)

            async def run() -> None:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://g") as http:
                    await http.post(
                        "/v1/chat/completions",
                        headers={"authorization": "Bearer k"},
                        json={
                            "model": HAIKU,
                            "messages": [{"role": "user", "content": "the secret prompt"}],
                        },
                    )

            asyncio.run(run())
        (line,) = [
            json.loads(x) for x in capsys.readouterr().out.splitlines() if "gateway.request" in x
        ]
        return line

    for flag in (None, "false", "yes"):
        line = logged(flag)
        assert "content" not in line and "secret" not in json.dumps(line)
    line = logged("true")
    assert line["content"] == {
        "messages": [{"role": "user", "text": "the secret prompt"}],
        "completion": "the secret answer",
    }
