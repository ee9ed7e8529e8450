"""The API front door: Bearer keys through the authorizer, IAM mode, private APIs, WAF, teams."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import parse_config
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized, synthesize

NOVA = "amazon.nova-micro-v1:0"


def synth(api: dict[str, Any], **sections: Any) -> Synthesized:
    data = {"models": {"enabled": [NOVA]}, "api": api, **sections}
    return synthesize(parse_config(data, source="inline.toml", env_name="sec"))


def methods(env: Synthesized) -> list[dict[str, Any]]:
    return [m["Properties"] for m in env.api.find_resources("AWS::ApiGateway::Method").values()]


def test_bearer_keys_reach_usage_plans_through_the_token_authorizer(env: Synthesized) -> None:
    (api,) = env.api.find_resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    (authorizer_id, authorizer) = next(
        iter(env.api.find_resources("AWS::ApiGateway::Authorizer").items())
    )
    assert authorizer["Properties"]["Type"] == "TOKEN"
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    for method in methods(env):
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["ApiKeyRequired"] is True


def test_authorizer_function_has_no_network_egress(env: Synthesized) -> None:
    functions = env.api.find_resources("AWS::Lambda::Function")
    (authorizer,) = [
        f for f in functions.values() if f["Properties"]["Handler"] == "handler.handler"
    ]
    groups = env.api.find_resources("AWS::EC2::SecurityGroup")
    (group_id,) = [
        g
        for g, v in groups.items()
        if "no inbound, no outbound" in v["Properties"]["GroupDescription"]
    ]
    assert authorizer["Properties"]["VpcConfig"]["SecurityGroupIds"] == [
        {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    egress = groups[group_id]["Properties"]["SecurityGroupEgress"]
    # CDK's placeholder rule for "no egress": an ICMP rule to an unroutable address.
    assert egress == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]


def test_each_team_gets_its_own_usage_plan_key_and_output() -> None:
    env = synth(
        {
            "teams": {
                "search": {"quota_requests_per_day": 100},
                "chatbot": {"throttle_rate_limit": 2},
            }
        }
    )
    plans = {
        p["Properties"]["Description"]: p["Properties"]
        for p in env.api.find_resources("AWS::ApiGateway::UsagePlan").values()
    }
    assert plans["Usage plan of team search"]["Quota"] == {"Limit": 100, "Period": "DAY"}
    assert plans["Usage plan of team chatbot"]["Throttle"]["RateLimit"] == 2
    env.api.resource_count_is("AWS::ApiGateway::ApiKey", 2)
    env.api.resource_count_is("AWS::ApiGateway::UsagePlanKey", 2)
    outputs = env.api.to_json()["Outputs"]
    assert sum(1 for name in outputs if name.startswith("InvocationApiApiKeyId")) == 2


def test_iam_mode_uses_sigv4_and_no_keys() -> None:
    env = synth({"auth": "iam"})
    for method in methods(env):
        assert method["AuthorizationType"] == "AWS_IAM"
        assert method["ApiKeyRequired"] is False
    env.api.resource_count_is("AWS::ApiGateway::Authorizer", 0)
    env.api.resource_count_is("AWS::ApiGateway::ApiKey", 0)


def test_private_api_is_reachable_only_through_the_kits_endpoint_or_listed_vpcs() -> None:
    env = synth({"endpoint_type": "PRIVATE", "allowed_vpc_ids": ["vpc-0123456789abcdef0"]})
    (api,) = env.api.find_resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    statements = render(api["Properties"]["Policy"])["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    condition = deny["Condition"]["StringNotEquals"]
    assert condition["aws:SourceVpc"] == ["vpc-0123456789abcdef0"]
    assert "ExecuteApiEndpoint" in condition["aws:SourceVpce"]
    endpoints = [
        render(e["Properties"]["ServiceName"])
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
    ]
    assert any(str(name).endswith(".execute-api") for name in endpoints)


def test_regional_api_has_no_execute_api_endpoint(env: Synthesized) -> None:
    endpoints = [
        render(e["Properties"]["ServiceName"])
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
    ]
    assert not any(str(name).endswith(".execute-api") for name in endpoints)


def test_waf_attaches_aws_managed_rule_groups_to_the_stage() -> None:
    env = synth({"waf": True})
    (acl_id, acl) = next(iter(env.api.find_resources("AWS::WAFv2::WebACL").items()))
    names = [
        r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Properties"]["Rules"]
    ]
    assert names == [
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ]
    (association,) = env.api.find_resources("AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert "/stages/" in render(association["Properties"]["ResourceArn"])


@pytest.mark.parametrize(
    "api",
    [{"endpoint_type": "PRIVATE", "waf": True}, {"allowed_vpc_ids": ["vpc-0123456789abcdef0"]}],
)
def test_inconsistent_api_settings_are_config_errors(api: dict[str, Any]) -> None:
    from stacks.config import ConfigError

    with pytest.raises(ConfigError):
        parse_config({"models": {"enabled": [NOVA]}, "api": api}, source="x.toml", env_name="x")


def test_permissions_boundary_applies_to_every_role_the_kit_creates() -> None:
    boundary = "arn:aws:iam::123456789012:policy/PlatformBoundary"
    env = synth({}, security={"permissions_boundary_arn": boundary})
    roles = [
        role
        for template in env.templates()
        for role in template.find_resources("AWS::IAM::Role").values()
    ]
    assert len(roles) >= 4
    for role in roles:
        assert render(role["Properties"]["PermissionsBoundary"]) == boundary


def test_stage_traces_requests_with_x_ray(env: Synthesized) -> None:
    (stage,) = env.api.find_resources("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["TracingEnabled"] is True
    assert as_list(stage["Properties"]["MethodSettings"])[0]["DataTraceEnabled"] is False
