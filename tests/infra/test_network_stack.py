"""The network is private: isolated subnets, no internet path, endpoints only for the gateway."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from stacks.config import parse_config
from tests.infra.cfn import as_list, render
from tests.infra.conftest import Synthesized, synthesize


def test_vpc_has_no_internet_gateway_and_no_nat(env: Synthesized) -> None:
    env.network.resource_count_is("AWS::EC2::InternetGateway", 0)
    env.network.resource_count_is("AWS::EC2::NatGateway", 0)
    for subnet in env.network.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_vpc_uses_the_configured_cidr_across_two_zones(env: Synthesized) -> None:
    env.network.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": env.config.network.vpc_cidr})
    env.network.resource_count_is("AWS::EC2::Subnet", 2)


def test_flow_logs_capture_all_traffic_into_the_encrypted_log_group(env: Synthesized) -> None:
    (flow_log,) = env.network.find_resources("AWS::EC2::FlowLog").values()
    properties = render(flow_log["Properties"])
    assert properties["TrafficType"] == "ALL"
    assert properties["LogDestinationType"] == "cloud-watch-logs"
    assert "FlowLogGroup" in properties["LogGroupName"]
    assert "FlowLogsRole" in properties["DeliverLogsPermissionArn"]
    # The network stack's policies: the flow logs role's own, and the DynamoDB prefix-list
    # lookup's (one Describe action), nothing else.
    roles = sorted(
        role["Ref"]
        for policy in env.network.find_resources("AWS::IAM::Policy").values()
        for role in policy["Properties"]["Roles"]
    )
    assert len(roles) == 2
    assert roles[0].startswith("AWS679f53fac002430cb0da5b7982bd2287")  # CDK's AwsCustomResource
    assert roles[1].startswith("NetworkFlowLogsRole")


def test_no_endpoint_for_a_service_the_kit_does_not_call(env: Synthesized) -> None:
    # Lambda ships function logs itself: no code in the VPC calls CloudWatch Logs. DynamoDB
    # holds the teams' usage counters (a free gateway endpoint); bedrock-agent-runtime serves
    # knowledge-base searches, only where config declares a knowledge base.
    services = {
        str(render(e["Properties"]["ServiceName"])).rsplit(".", 1)[-1]
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
    }
    searched = {"bedrock-agent-runtime"} if env.config.knowledge_bases else set()
    assert services == {"bedrock-runtime", "bedrock", "dynamodb", *searched}


@pytest.mark.parametrize("service", ["bedrock-runtime", "bedrock"])
def test_interface_endpoints_use_private_dns(env: Synthesized, service: str) -> None:
    endpoints = [
        e["Properties"]
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
        if str(render(e["Properties"]["ServiceName"])).endswith(f".{service}")
    ]
    assert len(endpoints) == 1
    assert endpoints[0]["PrivateDnsEnabled"] is True
    assert endpoints[0]["VpcEndpointType"] == "Interface"


def test_endpoints_accept_https_only_from_the_kits_function_security_groups(
    env: Synthesized,
) -> None:
    groups = env.network.find_resources("AWS::EC2::SecurityGroup")

    def group(description: str) -> str:
        (group_id,) = [
            g for g, v in groups.items() if description in v["Properties"]["GroupDescription"]
        ]
        return group_id

    endpoint_group = group("Interface endpoints")
    sources = {group("gateway function"), group("deploy-time handlers")}
    ingress = [
        r["Properties"]
        for r in env.network.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [endpoint_group, "GroupId"]}
    ]
    assert {rule["SourceSecurityGroupId"]["Fn::GetAtt"][0] for rule in ingress} == sources
    for rule in ingress:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    # No 0.0.0.0/0 ingress anywhere.
    for security_group in groups.values():
        for rule in security_group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0"


def test_bedrock_endpoint_policy_allows_only_the_enabled_models(env: Synthesized) -> None:
    runtime = next(
        e["Properties"]
        for e in env.network.find_resources("AWS::EC2::VPCEndpoint").values()
        if str(render(e["Properties"]["ServiceName"])).endswith(".bedrock-runtime")
    )
    statements = render(runtime["PolicyDocument"])["Statement"]
    # The kit's guardrails are applied through the same endpoint (their own statement).
    guardrails = [s for s in statements if s.get("Sid") == "ApplyTheGuardrails"]
    assert bool(guardrails) == bool(env.config.guardrails)
    for statement in guardrails:
        assert statement["Action"] == "bedrock:ApplyGuardrail"
        assert all("GuardrailArn" in arn for arn in as_list(statement["Resource"]))
    statements = [s for s in statements if s not in guardrails]
    resources = {r for s in statements for r in as_list(s["Resource"])}
    for model_id in env.config.models.enabled:
        assert any(r.endswith("/" + model_id) for r in resources), model_id
    for resource in resources:
        assert "*" not in resource
        assert any(
            resource.endswith("/" + m) or resource.endswith("." + m)
            for m in env.config.models.enabled
        ) or (
            # A team's application inference profile (api.team_inference_profiles).
            env.config.api.team_inference_profiles
            and "ExportsOutputFnGetAttTeamProfiles" in resource
        ), resource


def test_default_security_group_is_restricted(env: Synthesized) -> None:
    env.network.resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_existing_vpc_is_imported_from_config_without_lookups() -> None:
    config = parse_config(
        {
            "models": {"enabled": ["amazon.nova-micro-v1:0"]},
            "network": {
                "mode": "existing",
                "vpc_id": "vpc-0abc12345678def01",
                "vpc_cidr": "10.20.0.0/16",
                "subnet_ids": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
                "availability_zones": ["us-east-1a", "us-east-1b"],
            },
        },
        source="inline.toml",
        env_name="existing",
    )
    synthesized = synthesize(config)
    synthesized.network.resource_count_is("AWS::EC2::VPC", 0)
    synthesized.network.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcId": "vpc-0abc12345678def01",
            "SubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        },
    )
    synthesized.service.has_resource_properties(
        "AWS::Lambda::Function",
        {"VpcConfig": {"SubnetIds": Match.array_with(["subnet-0aaa1111bbbb2222c"])}},
    )
