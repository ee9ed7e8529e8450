"""ObservabilityStack: the kit's encryption key and log groups (retention, removal, KMS)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


class ObservabilityStack(Stack):
    """A customer-managed KMS key and every log group the kit writes to."""

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
        self.key = kms.Key(
            self,
            "LogsKey",
            description="Bedrock kit: encrypts the kit's log groups",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7 if removal_policy is RemovalPolicy.DESTROY else 30),
        )
        # CloudWatch Logs uses the key only for this account's log groups in this region.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )

        def log_group(construct_id: str) -> logs.LogGroup:
            return logs.LogGroup(
                self,
                construct_id,
                retention=retention,
                removal_policy=removal_policy,
                encryption_key=self.key,
            )

        self.gateway_log_group = log_group("GatewayLogGroup")
        self.authorizer_log_group = log_group("AuthorizerLogGroup")
        self.access_log_group = log_group("ApiAccessLogGroup")
        self.flow_log_group = log_group("FlowLogGroup")
        # Named exports keep consumers' IAM resources (and their cdk-nag finding ids) readable.
        self.exports = {
            name: self._export(name, group.log_group_arn)
            for name, group in (
                ("GatewayLogGroupArn", self.gateway_log_group),
                ("AuthorizerLogGroupArn", self.authorizer_log_group),
                ("FlowLogGroupArn", self.flow_log_group),
            )
        }

    def _export(self, name: str, value: str) -> str:
        export_name = f"{self.stack_name}-{name}"
        CfnOutput(self, name, value=value, export_name=export_name)
        return export_name
