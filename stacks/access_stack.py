"""AccessStack: the gateway's execution role, allowed to invoke exactly the enabled models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


class AccessStack(Stack):
    """IAM for the gateway function; nothing here is wider than the config asks for."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bedrock_statements: Sequence[iam.PolicyStatement],
        log_group_arn_export: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.gateway_role = iam.Role(
            self,
            "GatewayRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Bedrock gateway function: invoke the enabled models, write its logs",
        )
        log_group_arn = Fn.import_value(log_group_arn_export)
        self.log_group_arn_export = log_group_arn_export
        policy = iam.Policy(self, "GatewayPolicy", roles=[self.gateway_role])
        for statement in bedrock_statements:
            policy.add_statements(statement)
        policy.add_statements(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group_arn, f"{log_group_arn}:*"],
            ),
            iam.PolicyStatement(
                sid="ManageVpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            ),
        )
        self.gateway_policy = policy
