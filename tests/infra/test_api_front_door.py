"""The API front door: Bearer keys through the authorizer, IAM mode, private APIs, WAF, teams.

Environment tests read dev and prod as synthesized (three nag packs); variants are tested on
the InvocationApi construct alone in a bare stack.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from stacks.components.invocation_api import (
    ACCESS_LOG_FIELDS,
    WAF_RATE_WINDOW_SECONDS,
    IamCallers,
    InvocationApi,
    PrivateAccess,
    UsagePlanLimits,
)
from stacks.config import WAF_WINDOW_SECONDS, ConfigError, parse_config
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized, project_app, stand_in_function, synthesize

NOVA = "amazon.nova-micro-v1:0"
TEAM = UsagePlanLimits("default", 10, 20, 1000)


def methods(template: Template) -> list[dict[str, Any]]:
    return [m["Properties"] for m in template.find_resources("AWS::ApiGateway::Method").values()]


def api_alone(
    *, with_authorizer: bool = True, teams: tuple[UsagePlanLimits, ...] = (TEAM,), **props: Any
) -> Template:
    """An InvocationApi in a bare stack, fronting a stand-in function."""
    stack = Stack(project_app(), "Bare")
    function = stand_in_function(stack)
    authorizer = (
        apigw.TokenAuthorizer(stack, "Authorizer", handler=function) if with_authorizer else None
    )
    InvocationApi(
        stack,
        "Api",
        handler=function,
        streaming_handler=function,
        stream_timeout=Duration.seconds(60),
        stage_name="api",
        access_log_group=logs.LogGroup(stack, "AccessLogs"),
        throttle_rate_limit=100,
        throttle_burst_limit=200,
        teams=teams,
        authorizer=authorizer,
        usage_keys={t.name: apigw.ApiKey(stack, f"Key-{t.name}") for t in teams}
        if with_authorizer
        else None,
        **props,
    )
    return Template.from_stack(stack)


def test_bearer_keys_reach_usage_plans_through_the_token_authorizer(env: Synthesized) -> None:
    (api,) = env.service.find_resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    (authorizer_id, authorizer) = next(
        iter(env.service.find_resources("AWS::ApiGateway::Authorizer").items())
    )
    assert authorizer["Properties"]["Type"] == "TOKEN"
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    for method in methods(env.service):
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["ApiKeyRequired"] is True


def test_authorizer_runs_outside_the_vpc_with_its_own_concurrency(env: Synthesized) -> None:
    functions = env.service.find_resources("AWS::Lambda::Function").values()
    (authorizer,) = [
        f for f in functions if f["Properties"]["Handler"] == "authorizer.handler.handler"
    ]
    # It calls nothing: no network interface, no cold start in the VPC for a junk token.
    assert "VpcConfig" not in authorizer["Properties"]
    expected = env.config.api.authorizer_reserved_concurrency or None
    assert authorizer["Properties"].get("ReservedConcurrentExecutions") == expected


def test_no_console_test_invoke_can_reach_the_functions(env: Synthesized) -> None:
    permissions = env.service.find_resources("AWS::Lambda::Permission").values()
    source_arns = [render(p["Properties"]["SourceArn"]) for p in permissions]
    assert source_arns
    for arn in source_arns:
        assert "test-invoke-stage" not in arn
        assert arn.startswith("arn:") and ":execute-api:" in arn, arn


def test_access_log_names_the_key_id_and_principal_but_never_the_key(env: Synthesized) -> None:
    (stage,) = env.service.find_resources("AWS::ApiGateway::Stage").values()
    fields = json.loads(stage["Properties"]["AccessLogSetting"]["Format"])
    assert fields == ACCESS_LOG_FIELDS
    assert fields["apiKeyId"] == "$context.identity.apiKeyId"
    assert fields["principalId"] == "$context.authorizer.principalId"
    assert fields["team"] == "$context.authorizer.team"
    assert "$context.identity.apiKey" not in fields.values()


def test_stage_throttle_covers_the_sum_of_the_team_plans(env: Synthesized) -> None:
    (stage,) = env.service.find_resources("AWS::ApiGateway::Stage").values()
    (settings,) = as_list(stage["Properties"]["MethodSettings"])
    plans = [
        p["Properties"]["Throttle"]
        for p in env.service.find_resources("AWS::ApiGateway::UsagePlan").values()
    ]
    assert settings["ThrottlingRateLimit"] >= sum(p["RateLimit"] for p in plans)
    assert settings["ThrottlingBurstLimit"] >= sum(p["BurstLimit"] for p in plans)


def test_prod_limits_each_source_address_with_waf_before_the_managed_rules(
    prod: Synthesized,
) -> None:
    (acl,) = prod.service.find_resources("AWS::WAFv2::WebACL").values()
    rules = sorted(acl["Properties"]["Rules"], key=lambda rule: rule["Priority"])
    rate = rules[0]["Statement"]["RateBasedStatement"]
    # 429, which the OpenAI SDKs retry with backoff, rather than WAF's default 403.
    assert rules[0]["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    busiest = max(team.throttle_rate_limit for team in prod.config.api.teams)
    assert rate == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": WAF_WINDOW_SECONDS,
        "Limit": busiest * WAF_WINDOW_SECONDS,
    }
    assert [r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in rules[1:]] == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ]
    # Rules that read the body only count: prompts hold code, paths and URLs.
    overrides = {
        override["Name"]: override["ActionToUse"]
        for rule in rules[1:]
        for override in rule["Statement"]["ManagedRuleGroupStatement"].get(
            "RuleActionOverrides", []
        )
    }
    assert overrides and all(name.endswith("_BODY") for name in overrides)
    assert all(action == {"Count": {}} for action in overrides.values())
    (association,) = prod.service.find_resources("AWS::WAFv2::WebACLAssociation").values()
    assert "/stages/" in render(association["Properties"]["ResourceArn"])


def test_dev_has_no_waf_by_default(dev: Synthesized) -> None:
    dev.service.resource_count_is("AWS::WAFv2::WebACL", 0)


def test_the_account_logging_role_is_left_alone_by_default(env: Synthesized) -> None:
    for template in env.templates():
        template.resource_count_is("AWS::ApiGateway::Account", 0)


def test_an_environment_may_own_the_account_logging_role_when_config_says_so() -> None:
    template = api_alone(manage_account_logging_role=True)
    template.resource_count_is("AWS::ApiGateway::Account", 1)


def test_each_team_gets_its_own_usage_plan_and_standalone_key() -> None:
    template = api_alone(
        teams=(UsagePlanLimits("search", 10, 20, 100), UsagePlanLimits("chatbot", 2, 4, 1000))
    )
    plans = {
        p["Properties"]["Description"]: p["Properties"]
        for p in template.find_resources("AWS::ApiGateway::UsagePlan").values()
    }
    assert plans["Usage plan of team search"]["Quota"] == {"Limit": 100, "Period": "DAY"}
    assert plans["Usage plan of team chatbot"]["Throttle"] == {"RateLimit": 2, "BurstLimit": 4}
    keys = template.find_resources("AWS::ApiGateway::ApiKey").values()
    assert len(keys) == 2
    # No stage on the key itself: the authorizer's environment can name it without a cycle.
    assert all("StageKeys" not in key["Properties"] for key in keys)
    template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 2)
    outputs = template.to_json()["Outputs"]
    assert not [name for name in outputs if "ApiKey" in name]


def test_iam_mode_answers_errors_without_api_key_wording() -> None:
    template = api_alone(with_authorizer=False, iam_callers=IamCallers((), "o-a1b2c3d4e5"))
    types = {
        r["Properties"]["ResponseType"]
        for r in template.find_resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert types == {"QUOTA_EXCEEDED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"}


def test_iam_mode_admits_only_the_named_principals_and_organization() -> None:
    role = "arn:aws:iam::123456789012:role/AppTeam"
    template = api_alone(with_authorizer=False, iam_callers=IamCallers((role,), "o-a1b2c3d4e5"))
    for method in methods(template):
        assert method["AuthorizationType"] == "AWS_IAM"
        assert method["ApiKeyRequired"] is False
    template.resource_count_is("AWS::ApiGateway::ApiKey", 0)
    (api,) = template.find_resources("AWS::ApiGateway::RestApi").values()
    statements = {s["Sid"]: s for s in render(api["Properties"]["Policy"])["Statement"]}
    assert set(statements) == {"AllowNamedPrincipals", "AllowTheOrganization", "DenyEveryoneElse"}
    # Same-account principals with their own execute-api:Invoke grant are denied too.
    assert statements["DenyEveryoneElse"]["Effect"] == "Deny"
    assert statements["DenyEveryoneElse"]["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": [role]},
        "StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
    }
    assert statements["AllowNamedPrincipals"]["Principal"] == {"AWS": role}
    assert statements["AllowTheOrganization"]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}
    }


def test_private_api_is_reachable_only_through_the_kits_endpoint_or_listed_vpcs() -> None:
    template = api_alone(
        private_access=PrivateAccess("vpce-0123456789abcdef0", ("vpc-0123456789abcdef0",))
    )
    (api,) = template.find_resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    statements = render(api["Properties"]["Policy"])["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"]["StringNotEquals"] == {
        "aws:SourceVpce": "vpce-0123456789abcdef0",
        "aws:SourceVpc": ["vpc-0123456789abcdef0"],
    }


def test_private_api_gets_an_execute_api_endpoint_for_this_accounts_apis() -> None:
    data = {"models": {"enabled": [NOVA]}, "api": {"endpoint_type": "PRIVATE"}}
    env = synthesize(parse_config(data, source="inline.toml", env_name="private"))
    (endpoint,) = [
        e
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
        if str(render(e["Properties"]["ServiceName"])).endswith(".execute-api")
    ]
    (statement,) = render(endpoint["Properties"]["PolicyDocument"])["Statement"]
    assert (
        statement["Resource"]
        == "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:*"
    )


def test_regional_api_has_no_execute_api_endpoint(env: Synthesized) -> None:
    endpoints = [
        render(e["Properties"]["ServiceName"])
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
    ]
    assert not any(str(name).endswith(".execute-api") for name in endpoints)


def test_waf_rule_groups_come_after_the_rate_rule() -> None:
    template = api_alone(waf_rate_limit_per_ip=500)
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    priorities = {r["Name"]: r["Priority"] for r in acl["Properties"]["Rules"]}
    assert priorities["RateLimitPerIp"] == 0
    assert min(p for n, p in priorities.items() if n != "RateLimitPerIp") == 1


@pytest.mark.parametrize(
    "api",
    [
        {"endpoint_type": "PRIVATE", "waf": True},
        {"allowed_vpc_ids": ["vpc-0123456789abcdef0"]},
        {"auth": "iam"},
        {"iam_principals": ["arn:aws:iam::123456789012:role/AppTeam"]},
    ],
)
def test_inconsistent_api_settings_are_config_errors(api: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        parse_config({"models": {"enabled": [NOVA]}, "api": api}, source="x.toml", env_name="x")


def test_permissions_boundary_applies_to_every_role_the_kit_creates() -> None:
    boundary = "arn:aws:iam::123456789012:policy/PlatformBoundary"
    data = {"models": {"enabled": [NOVA]}, "security": {"permissions_boundary_arn": boundary}}
    env = synthesize(parse_config(data, source="inline.toml", env_name="sec"))
    roles = [
        role
        for template in env.templates()
        for role in template.find_resources("AWS::IAM::Role").values()
    ]
    assert len(roles) >= 4
    for role in roles:
        assert render(role["Properties"]["PermissionsBoundary"]) == boundary


def test_stage_traces_requests_with_x_ray(env: Synthesized) -> None:
    (stage,) = env.service.find_resources("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["TracingEnabled"] is True
    assert as_list(stage["Properties"]["MethodSettings"])[0]["DataTraceEnabled"] is False


def test_the_construct_and_config_agree_on_wafs_window() -> None:
    assert WAF_RATE_WINDOW_SECONDS == WAF_WINDOW_SECONDS
