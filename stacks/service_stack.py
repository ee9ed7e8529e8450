"""ServiceStack: what serves requests (gateway functions, API, authorizer, monitoring).

Holds no data: it can be deleted and redeployed without losing a log (StatefulStack keeps them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.components.gateway import Gateway, GatewaySettings
from stacks.components.gateway_monitoring import AlarmThresholds, BudgetAlert, GatewayMonitoring
from stacks.components.guardrails import Guardrails, GuardrailVersions
from stacks.components.invocation_api import (
    IamCallers,
    InvocationApi,
    PrivateAccess,
    UsagePlanLimits,
)
from stacks.components.key_authorizer import KeyAuthorizer
from stacks.components.kit_logs import KitLogs
from stacks.components.knowledge_bases import KnowledgeBases
from stacks.components.model_access import ModelAccess
from stacks.components.team_profiles import TeamInferenceProfiles
from stacks.components.team_tables import TeamTables


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The front door: stage limits, callers, WAF and the account logging role."""

    name: str
    stage_name: str
    throttle_rate_limit: float
    throttle_burst_limit: int
    teams: tuple[UsagePlanLimits, ...]
    # API keys through the authorizer when None; SigV4 callers otherwise.
    iam_callers: IamCallers | None
    authorizer_reserved_concurrency: int
    waf_rate_limit_per_ip: int | None
    manage_account_logging_role: bool
    # Browser origins whose preflights API Gateway answers (CORS); none: off.
    cors_origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MonitoringSettings:
    """Dashboard name, alarm thresholds and who hears the alarms."""

    dashboard_name: str
    thresholds: AlarmThresholds
    emails: tuple[str, ...]
    topic_arn: str | None
    model_ids: tuple[str, ...]
    teams: tuple[str, ...] = ()
    budget_alerts: tuple[BudgetAlert, ...] = ()


class ServiceStack(Stack):
    """Wires the gateway, its authorizer, the invocation API and their monitoring."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        model_access: ModelAccess,
        logs: KitLogs,
        tables: TeamTables,
        team_profiles: TeamInferenceProfiles | None,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        private_api_endpoint: ec2.IInterfaceVpcEndpoint | None,
        allowed_vpc_ids: tuple[str, ...],
        gateway: GatewaySettings,
        api: ApiSettings,
        monitoring: MonitoringSettings,
        knowledge_bases: KnowledgeBases | None = None,
        guardrails: Guardrails | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Published here, beside the functions that apply them (GuardrailVersions says why).
        self.guardrail_versions = (
            GuardrailVersions(self, "GuardrailVersions", guardrails=guardrails)
            if guardrails is not None
            else None
        )
        self.gateway = Gateway(
            self,
            "Gateway",
            code=code,
            model_access=model_access,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            log_group=logs.gateway,
            settings=gateway,
            tables=tables,
            team_profiles_json=team_profiles.profiles_json() if team_profiles else None,
            knowledge_bases=knowledge_bases,
            guardrails=guardrails,
            guardrail_versions=self.guardrail_versions,
        )
        self.key_authorizer: KeyAuthorizer | None = None
        if api.iam_callers is None:
            self.key_authorizer = KeyAuthorizer(
                self,
                "KeyAuthorizer",
                log_group=logs.authorizer,
                reserved_concurrency=api.authorizer_reserved_concurrency,
                tables=tables,
                teams=[team.name for team in api.teams],
            )
        self.invocation_api = InvocationApi(
            self,
            "InvocationApi",
            handler=self.gateway.function,
            streaming_handler=self.gateway.streaming_function,
            stream_timeout=Duration.seconds(gateway.stream_timeout_seconds),
            stage_name=api.stage_name,
            access_log_group=logs.api_access,
            throttle_rate_limit=api.throttle_rate_limit,
            throttle_burst_limit=api.throttle_burst_limit,
            teams=api.teams,
            authorizer=self.key_authorizer.authorizer if self.key_authorizer else None,
            usage_keys=self.key_authorizer.usage_keys if self.key_authorizer else None,
            iam_callers=api.iam_callers,
            private_access=PrivateAccess(private_api_endpoint.vpc_endpoint_id, allowed_vpc_ids)
            if private_api_endpoint is not None
            else None,
            waf_rate_limit_per_ip=api.waf_rate_limit_per_ip,
            manage_account_logging_role=api.manage_account_logging_role,
            cors_origins=api.cors_origins,
            api_name=api.name,
            waf_log_key=logs.key,
            log_retention=logs.retention,
            log_removal_policy=logs.removal_policy,
        )
        self.monitoring = GatewayMonitoring(
            self,
            "Monitoring",
            dashboard_name=monitoring.dashboard_name,
            api=self.invocation_api.api,
            functions=[self.gateway.function, self.gateway.streaming_function],
            namespace=gateway.metrics_namespace,
            model_ids=monitoring.model_ids,
            log_group=logs.gateway,
            thresholds=monitoring.thresholds,
            emails=monitoring.emails,
            topic_arn=monitoring.topic_arn,
            teams=monitoring.teams,
            budget_alerts=monitoring.budget_alerts,
        )
