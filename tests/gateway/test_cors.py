"""Browser apps: CORS preflights for the configured origins, and the headers answers carry."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.core import Call, Gateway
from lambdas.gateway.cors import Cors
from lambdas.gateway.lambda_handler import LambdaAdapter
from lambdas.gateway.settings import Settings
from tests.conftest import routing_json
from tests.gateway.conftest import ROUTING

APP = "https://app.example.com"


def app(origins: str) -> GatewayApp:
    return GatewayApp(
        Settings.from_env(
            {
                "GATEWAY_ROUTING": routing_json(**ROUTING),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEY": "k",
                "GATEWAY_CORS_ORIGINS": origins,
            }
        )
    )


def send(gateway: GatewayApp, method: str, path: str, **headers: str) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.request(method, path, headers=headers)

    return asyncio.run(run())


def preflight(gateway: GatewayApp, origin: str) -> httpx.Response:
    return send(
        gateway,
        "OPTIONS",
        "/v1/chat/completions",
        origin=origin,
        **{
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, x-stainless-os",
        },
    )


def test_an_allowed_origins_preflight_is_answered_without_a_key() -> None:
    answer = preflight(app(APP), APP)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == APP
    assert "POST" in answer.headers["access-control-allow-methods"]
    # What the browser asked for, the OpenAI SDK's own headers included.
    assert answer.headers["access-control-allow-headers"] == (
        "authorization, content-type, x-stainless-os"
    )
    assert answer.content == b""


@pytest.mark.parametrize("origins", ["", "https://other.example.com"])
def test_without_the_origin_configured_there_is_no_preflight(origins: str) -> None:
    answer = preflight(app(origins), APP)
    assert answer.status_code == 405
    assert "access-control-allow-origin" not in answer.headers


def test_answers_and_errors_to_an_allowed_origin_carry_the_cors_headers() -> None:
    gateway = app(f"{APP}, https://admin.example.com")
    listed = send(gateway, "GET", "/v1/models", origin=APP, authorization="Bearer k")
    refused = send(gateway, "GET", "/v1/models", origin=APP)
    for answer in (listed, refused):
        assert answer.headers["access-control-allow-origin"] == APP
        assert "x-gateway-cost-usd" in answer.headers["access-control-expose-headers"]
        assert answer.headers["vary"] == "Origin"
    assert refused.status_code == 401
    other = send(
        gateway, "GET", "/v1/models", origin="https://evil.example", authorization="Bearer k"
    )
    assert "access-control-allow-origin" not in other.headers


def test_a_wildcard_admits_every_origin_and_a_malformed_one_stops_the_gateway() -> None:
    assert Cors.parse("*").allow_origin("https://anything.example") == "*"
    with pytest.raises(ValueError, match="not an origin"):
        Cors.parse("app.example.com")


def test_the_buffered_functions_last_resort_500_carries_the_cors_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": routing_json(**ROUTING),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEY": "k",
            "GATEWAY_CORS_ORIGINS": APP,
        }
    )
    handler = LambdaAdapter(Gateway(settings))

    def broken(*_args: object) -> None:
        raise RuntimeError("the answer path itself failed")

    monkeypatch.setattr(Call, "head", broken)
    event = {
        "httpMethod": "GET",
        "path": "/v1/models",
        "headers": {"authorization": "Bearer k", "origin": APP},
    }
    result = handler(event)
    assert result["statusCode"] == 500
    assert result["multiValueHeaders"]["access-control-allow-origin"] == [APP]
