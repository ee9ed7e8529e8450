"""AccessStack: every IAM role the kit's functions and flow logs use, each scoped to its job.

Policies are customer-managed (not inline) so reviewers and tools see one named document per
role; none grants a wildcard action, and no Bedrock action has a wildcard resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.components.lambda_permissions import vpc_networking, write_logs


class AccessStack(Stack):
    """IAM for the gateway, the API authorizer and VPC flow logs; nothing wider than needed."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bedrock_statements: Sequence[iam.PolicyStatement],
        log_group_exports: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.log_group_exports = log_group_exports
        arns = {name: Fn.import_value(export) for name, export in log_group_exports.items()}

        self.gateway_role = self._role(
            "GatewayRole",
            "lambda.amazonaws.com",
            "Bedrock gateway function: invoke the enabled models, write its logs",
        )
        self.gateway_policy = self._policy(
            "GatewayPolicy",
            self.gateway_role,
            [
                *bedrock_statements,
                write_logs("WriteOwnLogs", arns["GatewayLogGroupArn"]),
                vpc_networking(),
            ],
        )
        self.authorizer_role = self._role(
            "AuthorizerRole", "lambda.amazonaws.com", "API key authorizer function: write its logs"
        )
        self.authorizer_policy = self._policy(
            "AuthorizerPolicy",
            self.authorizer_role,
            [write_logs("WriteOwnLogs", arns["AuthorizerLogGroupArn"]), vpc_networking()],
        )
        self.flow_logs_role = self._role(
            "FlowLogsRole",
            "vpc-flow-logs.amazonaws.com",
            "VPC flow logs: write the flow log group",
            # Confused-deputy guard documented for flow logs: only on behalf of this account.
            conditions={"StringEquals": {"aws:SourceAccount": self.account}},
        )
        self.flow_logs_policy = self._policy(
            "FlowLogsPolicy",
            self.flow_logs_role,
            [
                write_logs(
                    "WriteFlowLogs",
                    arns["FlowLogGroupArn"],
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                )
            ],
        )

    def _role(
        self,
        construct_id: str,
        service: str,
        description: str,
        conditions: Mapping[str, Any] | None = None,
    ) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal(service, conditions=conditions),
            description=description,
        )

    def _policy(
        self, construct_id: str, role: iam.Role, statements: Sequence[iam.PolicyStatement]
    ) -> iam.ManagedPolicy:
        return iam.ManagedPolicy(
            self, construct_id, roles=[role], statements=list(statements), description=role.node.id
        )
