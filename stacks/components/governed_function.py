"""A deploy-time custom resource: a Python handler in the kit's VPC behind the CDK provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.components import reasons
from stacks.components.encryption import encrypted_log_group
from stacks.components.findings import (
    AWS_SOLUTIONS,
    acknowledge,
    acknowledge_both_packs,
    checkov_skip,
)
from stacks.components.lambda_permissions import service_role, vpc_networking

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


class GovernedCustomResource(Construct):
    """Role, handler function, provider and the resource itself, each with its findings."""

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
        log_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)

        def log_group(construct_id: str) -> logs.LogGroup:
            return encrypted_log_group(
                self,
                construct_id,
                key=log_key,
                retention=log_retention,
                removal_policy=removal_policy,
            )

        self.log_group = log_group("LogGroup")
        self.role = service_role(
            self, "Role", service="lambda.amazonaws.com", description=description
        )
        for statement in (*statements, vpc_networking()):
            self.role.add_to_policy(statement)
        self.log_group.grant_write(self.role)
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
            role=self.role,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            log_group=self.log_group,
            memory_size=256,
            timeout=Duration.minutes(5),
        )
        # CDK's provider framework relays CloudFormation's request and answers its response URL.
        self.framework_log_group = log_group("FrameworkLogGroup")
        self.framework_role = service_role(
            self,
            "FrameworkRole",
            service="lambda.amazonaws.com",
            description=f"Provider framework: {description}",
        )
        self.framework_log_group.grant_write(self.framework_role)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            framework_on_event_role=self.framework_role,
            log_group=self.framework_log_group,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            properties=dict(properties),
        )
        self._acknowledge()

    def _acknowledge(self) -> None:
        stack = Stack.of(self)
        acknowledge(self.role, f"{AWS_SOLUTIONS}IAM5[Resource::*]", reasons.ACCOUNT_LEVEL_WILDCARD)
        checkov_skip(
            self.role.node.find_child("DefaultPolicy"),
            "CKV_AWS_111",
            reasons.ACCOUNT_LEVEL_WILDCARD,
        )
        handler = stack.get_logical_id(self.function.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            self.framework_role,
            f"{AWS_SOLUTIONS}IAM5[Resource::<{handler}.Arn>:*]",
            reasons.HANDLER_VERSIONS_WILDCARD,
        )
        for function in self._functions():
            acknowledge_both_packs(function, "LambdaDLQ", reasons.DEPLOY_TIME_LAMBDA)
            acknowledge_both_packs(function, "LambdaConcurrency", reasons.DEPLOY_TIME_CONCURRENCY)
            checkov_skip(function, "CKV_AWS_116", reasons.DEPLOY_TIME_LAMBDA)
            checkov_skip(function, "CKV_AWS_115", reasons.DEPLOY_TIME_CONCURRENCY)
            checkov_skip(function, "CKV_AWS_173", reasons.PLAIN_ENVIRONMENT)
            if function is not self.function:
                acknowledge_both_packs(function, "LambdaInsideVPC", reasons.PROVIDER_FRAMEWORK)
                checkov_skip(function, "CKV_AWS_117", reasons.PROVIDER_FRAMEWORK)

    def _functions(self) -> list[lambda_.Function]:
        """The handler and the provider framework's function(s), found by type, not by id."""
        return [self.function] + [
            construct
            for construct in self.provider.node.find_all()
            if isinstance(construct, lambda_.Function)
        ]
