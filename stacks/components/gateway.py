"""The gateway: its two functions, the role they share and every grant that role holds.

Only the chat route goes through API Gateway's streaming path, which needs the Web Adapter; all
other routes are served by a plain Python handler, without the HTTP hop (bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components import reasons
from stacks.components.findings import (
    AWS_SOLUTIONS,
    acknowledge,
    acknowledge_both_packs,
    checkov_skip,
)
from stacks.components.gateway_function import GatewayFunction
from stacks.components.guardrails import Guardrails, GuardrailVersions
from stacks.components.knowledge_bases import KnowledgeBases
from stacks.components.lambda_permissions import service_role, vpc_networking
from stacks.components.model_access import ModelAccess
from stacks.components.team_tables import TeamTables


def acknowledge_synchronous_function(
    function: lambda_.Function, *, reserved_concurrency: int
) -> None:
    """Findings every API-invoked function of the kit shares, and the ones config decides."""
    acknowledge_both_packs(function, "LambdaDLQ", reasons.SYNCHRONOUS_LAMBDA)
    checkov_skip(function, "CKV_AWS_116", reasons.SYNCHRONOUS_LAMBDA)
    if reserved_concurrency == 0:
        acknowledge_both_packs(function, "LambdaConcurrency", reasons.NO_RESERVED_CONCURRENCY)
        checkov_skip(function, "CKV_AWS_115", reasons.NO_RESERVED_CONCURRENCY)


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Sizing and behaviour of the gateway functions."""

    memory_mb: int
    timeout_seconds: int
    stream_timeout_seconds: int
    reserved_concurrency: int
    web_adapter_layer_version: int
    log_content: bool
    metrics_namespace: str
    # Callers come through the key authorizer, which always names their team.
    require_team: bool = False
    # Browser origins the gateway's answers admit (CORS); API Gateway answers the preflights.
    cors_origins: tuple[str, ...] = ()


class Gateway(Construct):
    """Buffered and streaming gateway functions in the VPC, allowed the enabled models only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        model_access: ModelAccess,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        log_group: logs.ILogGroup,
        settings: GatewaySettings,
        tables: TeamTables,
        team_profiles_json: str | None = None,
        knowledge_bases: KnowledgeBases | None = None,
        guardrails: Guardrails | None = None,
        guardrail_versions: GuardrailVersions | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = service_role(
            self,
            "Role",
            service="lambda.amazonaws.com",
            description="Bedrock gateway functions: invoke the enabled models, count team usage, "
            "write their logs",
        )
        model_access.grant_invoke(self.role)
        log_group.grant_write(self.role)
        self.role.add_to_policy(vpc_networking())
        tables.grant_usage_counting(self.role)

        def function(
            construct_id: str, timeout: int, *, streaming: bool, description: str
        ) -> lambda_.Function:
            gateway = GatewayFunction(
                self,
                construct_id,
                code=code,
                role=self.role,
                vpc=vpc,
                subnets=subnets,
                security_group=security_group,
                log_group=log_group,
                memory_mb=settings.memory_mb,
                timeout=Duration.seconds(timeout),
                reserved_concurrency=settings.reserved_concurrency,
                web_adapter_layer_version=settings.web_adapter_layer_version,
                streaming=streaming,
                description=description,
                log_content=settings.log_content,
                metrics_namespace=settings.metrics_namespace,
                usage_table_name=tables.usage_table.table_name,
                require_team=settings.require_team,
            )
            # The role's policy must exist before a function starts with it.
            gateway.function.node.add_dependency(self.role)
            acknowledge_synchronous_function(
                gateway.function, reserved_concurrency=settings.reserved_concurrency
            )
            checkov_skip(gateway.function, "CKV_AWS_173", reasons.PLAIN_ENVIRONMENT)
            return gateway.function

        self.function = function(
            "Gateway",
            settings.timeout_seconds,
            streaming=False,
            description="OpenAI-compatible Bedrock gateway",
        )
        self.streaming_function = function(
            "StreamingGateway",
            settings.stream_timeout_seconds,
            streaming=True,
            description="OpenAI-compatible Bedrock gateway: chat completions, streamed",
        )
        if settings.cors_origins:
            for each in (self.function, self.streaming_function):
                each.add_environment("GATEWAY_CORS_ORIGINS", ",".join(settings.cors_origins))
        if knowledge_bases is not None:
            for statement in knowledge_bases.retrieve_statements():
                self.role.add_to_policy(statement)
            for each in (self.function, self.streaming_function):
                # Bedrock's ids of the knowledge bases, known once CloudFormation made them.
                each.add_environment("GATEWAY_KNOWLEDGE_BASE_IDS", knowledge_bases.ids_json())
        if guardrails is not None and guardrail_versions is not None:
            for statement in guardrails.apply_statements():
                self.role.add_to_policy(statement)
            for each in (self.function, self.streaming_function):
                # Each guardrail's id and the version the gateway applies.
                each.add_environment("GATEWAY_GUARDRAILS", guardrail_versions.ids_json())
        if team_profiles_json is not None:
            for each in (self.function, self.streaming_function):
                # Each team's application inference profiles, which the gateway calls through.
                each.add_environment("GATEWAY_TEAM_PROFILES", team_profiles_json)
        acknowledge(self.role, f"{AWS_SOLUTIONS}IAM5[Resource::*]", reasons.VPC_NETWORKING_WILDCARD)
        default_policy = self.role.node.try_find_child("DefaultPolicy")
        if default_policy is not None:
            checkov_skip(default_policy, "CKV_AWS_111", reasons.VPC_NETWORKING_WILDCARD)
