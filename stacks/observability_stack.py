"""ObservabilityStack: the kit's log groups, with explicit retention and removal policy."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct


class ObservabilityStack(Stack):
    """Log groups for the gateway function and the API access log."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.gateway_log_group = logs.LogGroup(
            self, "GatewayLogGroup", retention=retention, removal_policy=removal_policy
        )
        # A named export keeps the consumer's IAM resource (and its cdk-nag finding id) readable.
        self.gateway_log_group_arn_export = f"{construct_id}-GatewayLogGroupArn"
        CfnOutput(
            self,
            "GatewayLogGroupArn",
            value=self.gateway_log_group.log_group_arn,
            export_name=self.gateway_log_group_arn_export,
        )
        self.access_log_group = logs.LogGroup(
            self, "ApiAccessLogGroup", retention=retention, removal_policy=removal_policy
        )
