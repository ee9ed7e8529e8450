"""A deploy-time custom resource: a Python handler in the kit's VPC behind the CDK provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.components.lambda_permissions import vpc_networking, write_logs

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


class GovernedCustomResource(Construct):
    """Role (one customer-managed policy), handler function, provider and the resource itself."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        package: str,
        description: str,
        statements: Sequence[iam.PolicyStatement],
        properties: Mapping[str, Any],
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        log_retention: logs.RetentionDays,
        log_key: Any,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=log_retention, encryption_key=log_key
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            description=description,
            statements=[
                *statements,
                write_logs("WriteOwnLogs", self.log_group.log_group_arn),
                vpc_networking(),
            ],
        )
        self.function = lambda_.Function(
            self,
            "Handler",
            description=description,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"{package}.handler.on_event",
            # The asset root holds the package, so its modules import each other as usual.
            code=lambda_.Code.from_asset(
                str(LAMBDAS),
                exclude=["*", f"!{package}", f"!{package}/**", "**/__pycache__", "**/*.pyc"],
            ),
            role=self.role.without_policy_updates(),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            log_group=self.log_group,
            memory_size=256,
            timeout=Duration.minutes(5),
            reserved_concurrent_executions=1,
        )
        self.function.node.add_dependency(self.policy)
        # CDK's provider framework relays CloudFormation's request and answers its response URL.
        # Its role gets one managed policy too: its own logs and invoking this handler only.
        self.framework_log_group = logs.LogGroup(
            self, "FrameworkLogGroup", retention=log_retention, encryption_key=log_key
        )
        self.framework_role = iam.Role(
            self,
            "FrameworkRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Provider framework: {description}",
        )
        self.framework_policy = iam.ManagedPolicy(
            self,
            "FrameworkPolicy",
            roles=[self.framework_role],
            statements=[
                write_logs("WriteOwnLogs", self.framework_log_group.log_group_arn),
                iam.PolicyStatement(
                    sid="InvokeHandler",
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function.function_arn, f"{self.function.function_arn}:*"],
                ),
            ],
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            framework_on_event_role=self.framework_role.without_policy_updates(),
            log_group=self.framework_log_group,
        )
        self.provider.node.add_dependency(self.framework_policy)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            properties=dict(properties),
        )
