"""Two configs with every switch on synthesize under the three nag packs and lint clean.

dev and prod are linted by `make cfn-lint` and `make checkov`; these variants cover what the
shipped configs leave off (IAM mode, a private API in an existing VPC, every governance
feature, a permissions boundary).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from stacks.config import parse_config
from tests.infra.conftest import Synthesized, synthesize

HAIKU = "anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"
VARIANTS: dict[str, dict[str, Any]] = {
    "public-everything": {
        "deployment": {"region": "us-west-2", "production": True},
        "models": {"enabled": [NOVA, HAIKU], "cross_region": "us"},
        "network": {"availability_zones": ["us-west-2a", "us-west-2b"]},
        "api": {
            "throttle_rate_limit": 100,
            "throttle_burst_limit": 200,
            "authorizer_reserved_concurrency": 5,
            "manage_account_logging_role": True,
            "team_inference_profiles": True,
            "cors_allowed_origins": ["https://app.example.com", "https://admin.example.com"],
            "teams": {
                "search": {
                    "throttle_rate_limit": 40,
                    "throttle_burst_limit": 80,
                    "models": [NOVA],
                    "monthly_token_limit": 1_000_000,
                    "tags": {"cost-center": "CC-1"},
                },
                "chat": {
                    "throttle_rate_limit": 60,
                    "throttle_burst_limit": 120,
                    "monthly_cost_limit_usd": 100.0,
                    "max_concurrent_streams": 5,
                },
            },
        },
        "gateway": {"reserved_concurrency": 10},
        "alarms": {"topic_arn": "arn:aws:sns:us-west-2:123456789012:pager"},
        "access_check": {
            "mode": "strict",
            "accept_offers": True,
            "marketplace_product_ids": ["prod-xdkflymybwmvi"],
            "anthropic_use_case_parameter": "/bedrock-kit/anthropic-use-case",
        },
        "invocation_logging": {
            "enabled": True,
            "cloudwatch": True,
            "auditor_role_arn": "arn:aws:iam::123456789012:role/SecurityAuditor",
        },
        "security": {"permissions_boundary_arn": "arn:aws:iam::123456789012:policy/Boundary"},
    },
    "private-iam-existing-vpc": {
        "deployment": {"region": "eu-west-1"},
        "models": {"enabled": [NOVA]},
        "network": {
            "mode": "existing",
            "vpc_id": "vpc-0123456789abcdef0",
            "vpc_cidr": "10.20.0.0/16",
            "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
            "availability_zones": ["eu-west-1a", "eu-west-1b"],
            "route_table_ids": ["rtb-0123456789abcdef0", "rtb-0fedcba9876543210"],
        },
        "api": {
            "endpoint_type": "PRIVATE",
            "auth": "iam",
            "iam_principals": ["arn:aws:iam::123456789012:role/AppTeam"],
            "organization_id": "o-a1b2c3d4e5",
            "allowed_vpc_ids": ["vpc-0fedcba9876543210"],
            "teams": {
                "search": {
                    "iam_principals": ["arn:aws:iam::123456789012:role/Search"],
                    "monthly_token_limit": 1_000_000,
                    "models": [NOVA],
                }
            },
        },
        "access_check": {"mode": "off"},
        "invocation_logging": {"enabled": True},
    },
}
# The same two checks `make cfn-lint` ignores, for the reasons given in the Makefile.
IGNORED = ["W3005", "W3010"]


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest) -> Synthesized:
    """A variant synthesized with cdk-nag's three packs (synthesis fails on a finding)."""
    name = str(request.param)
    return synthesize(parse_config(VARIANTS[name], source=f"{name}.toml", env_name="variant"))


def test_every_template_of_the_variant_passes_cfn_lint(variant: Synthesized) -> None:
    for template in variant.templates():
        problems = lint(json.dumps(template.to_json()), config=ManualArgs(ignore_checks=IGNORED))
        assert not problems, [str(p) for p in problems]


def test_only_callers_through_the_key_authorizer_must_carry_a_team(variant: Synthesized) -> None:
    gateways = [
        f["Properties"]["Environment"]["Variables"]
        for f in variant.service.find_resources("AWS::Lambda::Function").values()
        if "VpcConfig" in f["Properties"]
    ]
    api = variant.config.api
    teams = api.auth.value == "api_key" or any(t.iam_principals for t in api.teams)
    assert len(gateways) == 2
    assert all(("GATEWAY_REQUIRE_TEAM" in env) == teams for env in gateways)


def test_sigv4_teams_principals_are_admitted_by_the_apis_resource_policy(
    variant: Synthesized,
) -> None:
    api = variant.config.api
    if api.auth.value != "iam":
        pytest.skip("API keys: the resource policy names no callers")
    (rest_api,) = variant.service.find_resources("AWS::ApiGateway::RestApi").values()
    statements = {s["Sid"]: s for s in rest_api["Properties"]["Policy"]["Statement"]}
    named = statements["AllowNamedPrincipals"]["Principal"]["AWS"]
    for team in api.teams:
        for principal in team.iam_principals:
            assert principal in named


def test_team_profiles_are_one_per_team_and_allowed_model(variant: Synthesized) -> None:
    profiles = variant.stateful.find_resources("AWS::Bedrock::ApplicationInferenceProfile")
    if not variant.config.api.team_inference_profiles:
        assert profiles == {}
        return
    enabled = len(variant.config.models.enabled)
    expected = sum(len(t.models) if t.models else enabled for t in variant.config.api.teams)
    assert len(profiles) == expected


def test_browser_origins_get_preflights_from_api_gateway_and_headers_from_the_gateway(
    variant: Synthesized,
) -> None:
    origins = variant.config.api.cors_allowed_origins
    options = [
        m["Properties"]
        for m in variant.service.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    gateways = [
        f["Properties"]["Environment"]["Variables"]
        for f in variant.service.find_resources("AWS::Lambda::Function").values()
        if "VpcConfig" in f["Properties"]
    ]
    if not origins:
        assert options == []
        assert all("GATEWAY_CORS_ORIGINS" not in env for env in gateways)
        return
    # Preflights carry no key: answered by a mock integration, never by the functions.
    assert options and all(m["Integration"]["Type"] == "MOCK" for m in options)
    assert all(m["AuthorizationType"] == "NONE" for m in options)
    assert all(env["GATEWAY_CORS_ORIGINS"] == ",".join(origins) for env in gateways)
    answers = variant.service.find_resources("AWS::ApiGateway::GatewayResponse").values()
    for answer in answers:
        headers = answer["Properties"]["ResponseParameters"]
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in headers
