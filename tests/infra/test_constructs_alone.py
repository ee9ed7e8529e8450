"""Each construct synthesizes alone in a bare stack, with the resources and grants it owns."""

from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from model_catalog import get_model
from stacks.components.gateway import Gateway, GatewaySettings
from stacks.components.gateway_monitoring import AlarmThresholds, GatewayMonitoring
from stacks.components.key_authorizer import KeyAuthorizer
from stacks.components.kit_logs import KitLogs
from stacks.components.kit_network import KitNetwork
from stacks.components.model_access import ModelAccess
from stacks.components.team_tables import TeamTables
from tests.infra.cfn import as_list, policy_statements, render
from tests.infra.conftest import project_app, stand_in_function

NOVA = "amazon.nova-micro-v1:0"


def bare() -> Stack:
    return Stack(project_app(), "Bare")


def team_tables(stack: Stack) -> TeamTables:
    return TeamTables(stack, "Tables", removal_policy=RemovalPolicy.DESTROY, production=False)


def test_gateway_grants_its_role_exactly_the_model_access_it_is_given() -> None:
    stack = bare()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    access = ModelAccess.of([get_model(NOVA)], None)
    Gateway(
        stack,
        "Gateway",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
        model_access=access,
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        security_group=ec2.SecurityGroup(stack, "Group", vpc=vpc),
        log_group=logs.LogGroup(stack, "Logs"),
        settings=GatewaySettings(
            memory_mb=512,
            timeout_seconds=29,
            stream_timeout_seconds=300,
            reserved_concurrency=0,
            web_adapter_layer_version=30,
            log_content=False,
            metrics_namespace="BedrockKit/test",
        ),
        tables=team_tables(stack),
    )
    template = Template.from_stack(stack)
    functions = [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Description", "").startswith("OpenAI-compatible")
    ]
    assert len(functions) == 2
    assert len({str(f["Properties"]["Role"]) for f in functions}) == 1
    for function in functions:
        assert "ReservedConcurrentExecutions" not in function["Properties"]
    invoke = [
        s
        for s in policy_statements(template.to_json())
        if "bedrock:InvokeModel" in as_list(s["Action"])
    ]
    assert [as_list(s["Resource"]) for s in invoke] == [
        [f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{NOVA}"]
    ]


@pytest.mark.parametrize("reserved", [0, 7])
def test_key_authorizer_stands_outside_any_vpc_with_optional_concurrency(reserved: int) -> None:
    stack = bare()
    authorizer = KeyAuthorizer(
        stack,
        "Authorizer",
        log_group=logs.LogGroup(stack, "Logs"),
        reserved_concurrency=reserved,
        tables=team_tables(stack),
        teams=["default"],
    )
    # A token authorizer only synthesizes once a method uses it.
    apigw.RestApi(stack, "Api").root.add_method(
        "GET", apigw.MockIntegration(), authorizer=authorizer.authorizer
    )
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    properties = function["Properties"]
    assert "VpcConfig" not in properties
    assert (properties["MemorySize"], properties["Timeout"]) == (128, 3)
    assert properties.get("ReservedConcurrentExecutions") == (reserved or None)


def test_kit_logs_key_serves_only_cloudwatch_logs_of_this_account() -> None:
    stack = bare()
    KitLogs(
        stack, "Logs", retention=logs.RetentionDays.ONE_WEEK, removal_policy=RemovalPolicy.DESTROY
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Logs::LogGroup", 4)
    (key,) = template.find_resources("AWS::KMS::Key").values()
    services = [
        s["Principal"]["Service"]
        for s in render(key["Properties"]["KeyPolicy"])["Statement"]
        if "Service" in s["Principal"]
    ]
    assert services == ["logs.${AWS::Region}.amazonaws.com"]


def test_kit_network_refuses_an_endpoint_without_a_policy() -> None:
    stack = bare()
    with pytest.raises(ValueError, match="needs a policy"):
        KitNetwork(
            stack,
            "Network",
            vpc_cidr="10.0.0.0/16",
            availability_zones=(),
            existing_vpc_id=None,
            existing_subnet_ids=(),
            flow_log_group=logs.LogGroup(stack, "Flow"),
            runtime_endpoint_statements=(),
        )


def test_monitoring_reads_the_api_and_function_metrics_it_is_given() -> None:
    stack = bare()
    function = stand_in_function(stack)
    api = apigw.LambdaRestApi(stack, "Api", handler=function, rest_api_name="kit-api")
    GatewayMonitoring(
        stack,
        "Monitoring",
        dashboard_name="kit",
        api=api,
        functions=[function],
        namespace="BedrockKit/test",
        model_ids=[NOVA],
        log_group=logs.LogGroup(stack, "Logs"),
        thresholds=AlarmThresholds(5, 10, 20_000, 100),
        emails=(),
        topic_arn=None,
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Alarm", 4)
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = render(dashboard["Properties"]["DashboardBody"])
    assert '"ApiName","kit-api","Stage"' in body
    assert '"AWS/Lambda","Throttles"' in body
