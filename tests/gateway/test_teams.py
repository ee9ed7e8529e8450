"""Teams through the gateway: who called, what the team may use, and its monthly budget.

A config with two teams (alpha: one alias and a token budget; beta: every model, a cost
budget) is parsed as `make run` and synthesis parse it; the gateway serves it on the emulator.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber

from lambdas.gateway.app import GatewayApp
from lambdas.gateway.core import Gateway
from lambdas.gateway.lambda_handler import LambdaAdapter
from lambdas.gateway.metering import Usage
from lambdas.gateway.responses import StreamResponse
from lambdas.gateway.settings import Settings
from local.emulator import start_emulator
from stacks.config import KitConfig, parse_config
from tests.gateway.conftest import converse_response
from tests.gateway.harness import NOVA, NOVA_LITE, REQUEST_CONTEXT, TITAN_EMBED, TODAY, log_lines

KEYS = {"alpha": "alpha-secret-key", "beta": "beta-secret-key"}
ALPHA_TOKENS = 400
CONFIG: dict[str, Any] = {
    "models": {
        "enabled": [NOVA, NOVA_LITE, TITAN_EMBED],
        "aliases": {"fast": [NOVA, NOVA_LITE], "embed": TITAN_EMBED},
    },
    "api": {
        "throttle_rate_limit": 20,
        "throttle_burst_limit": 40,
        "teams": {
            "alpha": {
                "throttle_rate_limit": 10,
                "throttle_burst_limit": 20,
                "models": ["fast"],
                "monthly_token_limit": ALPHA_TOKENS,
                "soft_limit_percent": 50,
            },
            "beta": {
                "throttle_rate_limit": 10,
                "throttle_burst_limit": 20,
                "monthly_cost_limit_usd": 5.0,
                "max_concurrent_streams": 1,
            },
        },
    },
}


def team_config() -> KitConfig:
    return parse_config(CONFIG, source="teams.toml", env_name="teams", today=TODAY)


class Teams:
    """The two-team gateway on the emulator, called with either team's key."""

    def __init__(self, app: GatewayApp) -> None:
        self.app = app

    def request(
        self, team: str, method: str, path: str, body: Any = None, **headers: str
    ) -> httpx.Response:
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                return await client.request(
                    method,
                    path,
                    headers={"authorization": f"Bearer {KEYS[team]}", **headers},
                    content=json.dumps(body).encode() if body is not None else None,
                    timeout=60,
                )

        return asyncio.run(run())

    def chat(self, team: str, model: str, **extra: Any) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": "Hello there"}], **extra}
        return self.request(team, "POST", "/v1/chat/completions", body)

    def usage(self, team: str) -> dict[str, Any]:
        answer = self.request(team, "GET", "/v1/usage")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture
def teams(monkeypatch: pytest.MonkeyPatch) -> Iterator[Teams]:
    with start_emulator(today=TODAY) as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": team_config().gateway_routing_json(),
                "GATEWAY_AUTH": "key",
                "GATEWAY_API_KEYS": json.dumps(KEYS),
                "AWS_REGION": "us-east-1",
            }
        )
        yield Teams(GatewayApp(settings))


# --- allow-lists ------------------------------------------------------------------------------


def test_a_team_may_call_its_alias_and_the_models_behind_it(teams: Teams) -> None:
    assert teams.chat("alpha", "fast").status_code == 200
    assert teams.chat("alpha", NOVA_LITE).status_code == 200


@pytest.mark.parametrize(
    ("path", "model"),
    [("/v1/embeddings", TITAN_EMBED), ("/v1/embeddings", "embed")],
)
def test_a_model_or_alias_outside_the_teams_list_is_a_403_naming_it(
    teams: Teams, path: str, model: str
) -> None:
    answer = teams.request("alpha", "POST", path, {"model": model, "input": "hi"})
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "model_not_allowed"
    assert error["param"] == "model"
    assert f"Team 'alpha' may not use the model '{model}'" in error["message"]
    # Another team with no list calls the same model.
    assert teams.request("beta", "POST", path, {"model": model, "input": "hi"}).status_code == 200


def test_compare_and_native_invoke_are_held_to_the_list_too(teams: Teams) -> None:
    compare = teams.request(
        "alpha",
        "POST",
        "/v1/compare",
        {"models": [NOVA, TITAN_EMBED], "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert compare.status_code == 403
    invoke = teams.request("alpha", "POST", f"/v1/models/{TITAN_EMBED}/invoke", {"inputText": "x"})
    assert invoke.status_code == 403
    assert teams.request("alpha", "GET", f"/v1/models/{TITAN_EMBED}").status_code == 403


def test_the_model_list_shows_only_what_the_team_may_use(teams: Teams) -> None:
    alpha = {m["id"] for m in teams.request("alpha", "GET", "/v1/models").json()["data"]}
    beta = {m["id"] for m in teams.request("beta", "GET", "/v1/models").json()["data"]}
    assert alpha == {NOVA, NOVA_LITE, "fast"}
    assert beta == {NOVA, NOVA_LITE, TITAN_EMBED, "fast", "embed"}


# --- identity ---------------------------------------------------------------------------------


def test_the_log_line_and_metrics_carry_the_team_and_key_id_never_the_key(
    teams: Teams, capsys: pytest.CaptureFixture[str]
) -> None:
    teams.chat("beta", NOVA)
    out = capsys.readouterr().out
    assert KEYS["beta"] not in out
    (line,) = [json.loads(text) for text in out.splitlines() if "gateway.request" in text]
    assert (line["team"], line["key_id"]) == ("beta", "local-beta")
    declarations = line["_aws"]["CloudWatchMetrics"]
    by_team = [d for d in declarations if d["Dimensions"] == [["team"]]]
    assert [m["Name"] for m in by_team[0]["Metrics"]] == [
        "requests",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "budget_soft_alerts",
    ]


def test_a_header_cannot_choose_the_team(teams: Teams, capsys: pytest.CaptureFixture[str]) -> None:
    answer = teams.request(
        "alpha",
        "POST",
        "/v1/embeddings",
        {"model": TITAN_EMBED, "input": "hi"},
        **{"x-team": "beta", "x-gateway-team": "beta", "x-amzn-request-context": "{}"},
    )
    assert answer.status_code == 403
    assert log_lines(capsys)[0]["team"] == "alpha"


def test_an_unknown_key_is_a_401_and_charges_nobody(teams: Teams) -> None:
    answer = asyncio.run(_unknown_key(teams.app))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"


async def _unknown_key(app: GatewayApp) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        return await client.get("/v1/models", headers={"authorization": "Bearer nope"})


# --- budgets ----------------------------------------------------------------------------------


def test_a_team_is_stopped_with_a_429_once_its_monthly_tokens_are_spent(
    teams: Teams, capsys: pytest.CaptureFixture[str]
) -> None:
    spent = 0
    for _ in range(50):
        answer = teams.chat("alpha", "fast")
        if answer.status_code != 200:
            break
        spent += answer.json()["usage"]["total_tokens"]
    else:
        pytest.fail("the budget never stopped the team")
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert "Team 'alpha' has used its monthly budget" in error["message"]
    assert re.search(r"resets at \d{4}-\d{2}-01T00:00:00Z\.$", error["message"])
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.headers["x-gateway-budget-reset"].endswith("T00:00:00Z")
    # Every successful call was counted once, and the refused one not at all.
    usage = teams.usage("alpha")
    assert usage["total_tokens"] == spent >= ALPHA_TOKENS
    assert usage["exhausted"] is True
    assert usage["remaining"]["tokens"] == 0
    # The other team is not affected.
    assert teams.chat("beta", "fast").status_code == 200
    # The soft threshold (50 %) was reported exactly once, on the request that crossed it.
    lines = log_lines(capsys)
    assert sum(line["budget_soft_alerts"] for line in lines) == 1


def test_a_failed_call_is_not_charged_and_a_stream_is(teams: Teams) -> None:
    before = teams.usage("beta")
    assert before["requests"] == 0
    # A request Bedrock refuses (the emulator answers like Bedrock: max_tokens out of range).
    refused = teams.chat("beta", NOVA, max_tokens=0)
    assert refused.status_code == 400
    assert teams.usage("beta")["requests"] == 0
    streamed = teams.chat("beta", NOVA, stream=True, stream_options={"include_usage": True})
    assert streamed.status_code == 200
    chunks = [
        json.loads(block[6:])
        for block in streamed.text.split("\n\n")
        if block.startswith("data: {")
    ]
    reported = next(c["usage"] for c in chunks if c.get("usage"))
    after = teams.usage("beta")
    assert after["requests"] == 1
    assert after["total_tokens"] == reported["total_tokens"]
    assert Decimal(after["cost_usd"]) > 0


def test_compare_charges_the_team_for_every_model_it_called(teams: Teams) -> None:
    answer = teams.request(
        "beta",
        "POST",
        "/v1/compare",
        {"models": [NOVA, NOVA_LITE], "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert answer.status_code == 200
    results = answer.json()["results"]
    usage = teams.usage("beta")
    assert usage["total_tokens"] == sum(r["usage"]["total_tokens"] for r in results)
    assert Decimal(usage["cost_usd"]) == Decimal(answer.json()["total_cost_usd"])


def test_usage_reports_the_callers_own_team_with_its_limits(teams: Teams) -> None:
    teams.chat("alpha", "fast")
    alpha, beta = teams.usage("alpha"), teams.usage("beta")
    assert (alpha["team"], beta["team"]) == ("alpha", "beta")
    assert alpha["period"] == beta["period"]
    assert alpha["limits"]["monthly_tokens"] == ALPHA_TOKENS
    assert alpha["limits"]["monthly_cost_usd"] is None
    assert beta["limits"]["monthly_cost_usd"] is not None
    assert beta["requests"] == 0 < alpha["requests"]


def test_a_team_at_its_concurrent_stream_limit_gets_a_429_until_a_stream_ends(
    teams: Teams,
) -> None:
    slots = teams.app.gateway.stream_slots
    # Another request of beta's is streaming (in another container, as far as this one knows).
    assert slots.acquire("beta", "elsewhere", 1, time.time())
    refused = teams.chat("beta", NOVA, stream=True)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "too_many_streams"
    assert "Team 'beta' already has 1 streamed completions in flight" in error["message"]
    # Buffered answers are not streams; alpha has no limit.
    assert teams.chat("beta", NOVA).status_code == 200
    assert teams.chat("alpha", "fast", stream=True).status_code == 200
    slots.release("beta", "elsewhere")
    assert teams.chat("beta", NOVA, stream=True).status_code == 200
    # The stream that ended gave its slot back.
    assert slots.acquire("beta", "next", 1, time.time())


def test_an_over_budget_team_gets_the_budget_429_and_holds_no_stream_slot(teams: Teams) -> None:
    gateway = teams.app.gateway
    policy = gateway.settings.teams.policies["beta"]
    gateway.budgets.charge("beta", policy.budget, Usage(1, 1), Decimal(5))
    refused = teams.chat("beta", NOVA, stream=True)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert refused.headers["x-should-retry"] == "false"
    assert gateway.stream_slots.acquire("beta", "next", 1, time.time())


def test_a_stream_never_read_is_closed_charged_and_its_slot_freed(teams: Teams) -> None:
    gateway = teams.app.gateway
    headers = [(b"authorization", f"Bearer {KEYS['beta']}".encode())]
    call = gateway.begin("POST", "/v1/chat/completions", headers)
    body = {"model": NOVA, "messages": [{"role": "user", "content": "x" * 400}], "stream": True}
    response = call.respond(json.dumps(body).encode())
    assert isinstance(response, StreamResponse)
    # The transport fails before the first byte (a client gone, a broken send): no chunk read.
    call.finish()
    usage = teams.usage("beta")
    # The opened model stream is billed by Bedrock: estimated from the prompt, never free.
    assert usage["requests"] == 1
    assert usage["input_tokens"] >= 100
    assert gateway.stream_slots.acquire("beta", "next", 1, time.time())


@pytest.mark.parametrize("stream", [False, True])
def test_the_team_is_charged_and_the_line_written_before_the_answer_ends(
    teams: Teams, capsys: pytest.CaptureFixture[str], stream: bool
) -> None:
    # Behind the Web Adapter the invocation ends with the response: nothing may wait for it.
    seen_at_end: list[str] = []

    async def run() -> None:
        body = json.dumps({"model": NOVA, "messages": [{"role": "user", "content": "Hi"}]})
        if stream:
            body = body[:-1] + ', "stream": true}'
        messages = [{"type": "http.request", "body": body.encode(), "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                seen_at_end.append(capsys.readouterr().out)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions",
            "headers": [(b"authorization", f"Bearer {KEYS['beta']}".encode())],
        }
        await teams.app(scope, receive, send)

    asyncio.run(run())
    (out,) = seen_at_end
    (line,) = [json.loads(text) for text in out.splitlines() if "gateway.request" in text]
    assert line["team"] == "beta" and line["status"] == 200 and line["input_tokens"] > 0
    assert teams.usage("beta")["requests"] == 1


# --- behind API Gateway -----------------------------------------------------------------------


def _event(context: dict[str, Any], path: str = "/v1/usage") -> dict[str, Any]:
    return {"httpMethod": "GET", "path": path, "headers": {}, "requestContext": context}


def _behind_api_gateway() -> LambdaAdapter:
    settings = Settings.from_env(
        {"GATEWAY_ROUTING": team_config().gateway_routing_json(), "GATEWAY_AUTH": "api-gateway"}
    )
    return LambdaAdapter(Gateway(settings))


def test_behind_api_gateway_the_team_comes_from_the_authorizers_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = _behind_api_gateway()
    authorizer = {"principalId": "alpha", "team": "alpha", "key_id": "0123456789ab"}
    result = handler(_event({**REQUEST_CONTEXT, "authorizer": authorizer}))
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["team"] == "alpha"
    (line,) = log_lines(capsys)
    assert (line["team"], line["key_id"], line["principal"]) == ("alpha", "0123456789ab", "alpha")


def test_a_team_this_deployment_lacks_is_refused() -> None:
    handler = _behind_api_gateway()
    authorizer = {"principalId": "gamma", "team": "gamma", "key_id": "0123456789ab"}
    result = handler(_event({**REQUEST_CONTEXT, "authorizer": authorizer}, "/v1/models"))
    assert result["statusCode"] == 403
    assert json.loads(result["body"])["error"]["code"] == "team_not_configured"


def test_behind_the_web_adapter_the_team_comes_from_its_context_header_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with start_emulator(today=TODAY) as emulator:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emulator.url)
        settings = Settings.from_env(
            {
                "GATEWAY_ROUTING": team_config().gateway_routing_json(),
                "GATEWAY_AUTH": "api-gateway",
                "GATEWAY_REQUIRE_TEAM": "true",
                "AWS_REGION": "us-east-1",
            }
        )
        app = GatewayApp(settings)
        authorizer = {"principalId": "alpha", "team": "alpha", "key_id": "0123456789ab"}

        async def post(context: dict[str, Any], **headers: str) -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                return await client.post(
                    "/v1/embeddings",
                    json={"model": TITAN_EMBED, "input": "hi"},
                    headers={"x-amzn-request-context": json.dumps(context), **headers},
                )

        # Alpha may not embed: its context says alpha, whatever else the client sends.
        answer = asyncio.run(
            post({**REQUEST_CONTEXT, "authorizer": authorizer}, **{"x-team": "beta"})
        )
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "model_not_allowed"
        # A context without the authorizer's team (the shape changed, a forged invocation)
        # is refused, never served without a team's rules.
        for context in (REQUEST_CONTEXT, {**REQUEST_CONTEXT, "authorizer": {"lambda": authorizer}}):
            refused = asyncio.run(post(context))
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "no_team"
    lines = log_lines(capsys)
    assert [line["team"] for line in lines] == ["alpha", None, None]


def test_a_sigv4_caller_is_logged_by_its_principal_and_has_no_team_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    role = "arn:aws:sts::123456789012:assumed-role/app/session"
    identity = {**REQUEST_CONTEXT["identity"], "userArn": role}
    result = _behind_api_gateway()(_event({**REQUEST_CONTEXT, "identity": identity}))
    assert result["statusCode"] == 404
    assert json.loads(result["body"])["error"]["code"] == "no_team"
    (line,) = log_lines(capsys)
    assert (line["team"], line["principal"]) == (None, role)


def _sigv4_gateway() -> LambdaAdapter:
    """CONFIG with SigV4 callers: alpha is one role (on a path), beta a whole other account."""
    teams = CONFIG["api"]["teams"]
    data = {
        **CONFIG,
        "api": {
            **CONFIG["api"],
            "auth": "iam",
            "teams": {
                "alpha": {
                    **teams["alpha"],
                    "iam_principals": ["arn:aws:iam::123456789012:role/service/alpha-app"],
                },
                "beta": {**teams["beta"], "iam_principals": ["arn:aws:iam::210987654321:root"]},
            },
        },
    }
    config = parse_config(data, source="iam.toml", env_name="iam", today=TODAY)
    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": config.gateway_routing_json(),
            "GATEWAY_AUTH": "api-gateway",
            "GATEWAY_REQUIRE_TEAM": "true",
        }
    )
    return LambdaAdapter(Gateway(settings))


@pytest.mark.parametrize(
    ("caller", "team"),
    [
        ("arn:aws:sts::123456789012:assumed-role/alpha-app/session-1", "alpha"),
        ("arn:aws:iam::123456789012:role/service/alpha-app", "alpha"),
        ("arn:aws:sts::210987654321:assumed-role/any-role/session-2", "beta"),
        ("arn:aws:iam::210987654321:user/ci", "beta"),
    ],
)
def test_a_sigv4_callers_team_comes_from_its_principal(caller: str, team: str) -> None:
    identity = {**REQUEST_CONTEXT["identity"], "userArn": caller}
    result = _sigv4_gateway()(_event({**REQUEST_CONTEXT, "identity": identity}))
    assert result["statusCode"] == 200, result["body"]
    assert json.loads(result["body"])["team"] == team


def test_a_sigv4_caller_is_held_to_its_teams_list() -> None:
    caller = "arn:aws:sts::123456789012:assumed-role/alpha-app/session-1"
    identity = {**REQUEST_CONTEXT["identity"], "userArn": caller}
    event = {
        **_event({**REQUEST_CONTEXT, "identity": identity}, "/v1/embeddings"),
        "httpMethod": "POST",
        "body": json.dumps({"model": TITAN_EMBED, "input": "hi"}),
    }
    result = _sigv4_gateway()(event)
    assert result["statusCode"] == 403
    assert json.loads(result["body"])["error"]["code"] == "model_not_allowed"


def test_a_sigv4_caller_of_no_team_is_refused_naming_its_principal() -> None:
    caller = "arn:aws:sts::123456789012:assumed-role/someone-else/session"
    identity = {**REQUEST_CONTEXT["identity"], "userArn": caller}
    result = _sigv4_gateway()(_event({**REQUEST_CONTEXT, "identity": identity}))
    assert result["statusCode"] == 403
    error = json.loads(result["body"])["error"]
    assert error["code"] == "no_team" and caller in error["message"]


# --- a line per team on the bill --------------------------------------------------------------


def test_a_team_with_an_inference_profile_is_served_through_it() -> None:
    prefix = "arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/"
    profiles = {"prefix": prefix, "teams": {"beta": {NOVA: "abcdef123456"}}}
    settings = Settings.from_env(
        {
            "GATEWAY_ROUTING": team_config().gateway_routing_json(),
            "GATEWAY_AUTH": "key",
            "GATEWAY_API_KEYS": json.dumps(KEYS),
            "GATEWAY_TEAM_PROFILES": json.dumps(profiles),
            "GATEWAY_BEDROCK_MAX_ATTEMPTS": "1",
        }
    )
    client = boto3.client("bedrock-runtime", region_name="us-west-2")
    with Stubber(client) as stubber:
        app = Teams(GatewayApp(settings, client_factory=lambda: client))
        for model_id in (f"{prefix}abcdef123456", NOVA):
            stubber.add_response(
                "converse", converse_response(), {"modelId": model_id, "messages": Any_()}
            )
        beta = app.chat("beta", NOVA)
        assert beta.status_code == 200
        # Clients see what the profile copies, never its ARN (which names the account).
        assert beta.headers["x-gateway-invocation-id"] == NOVA
        # Alpha has no profile: the model itself.
        assert app.chat("alpha", NOVA).status_code == 200
        stubber.assert_no_pending_responses()


class Any_:
    """Matches any value in Stubber's expected parameters."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0
