"""The kit's operational log groups and the customer-managed key that encrypts them."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def logs_may_use_key() -> iam.PolicyStatement:
    """Key-policy statement: CloudWatch Logs may use the key for this account's log groups."""
    return iam.PolicyStatement(
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


class KitLogs(Construct):
    """One rotating key for operational logs, and the log groups it guards.

    Only CloudWatch Logs may use the key, for this account's log groups. Prompts never land
    here (invocation logs have their own key: InvocationLogStore), nor alarm messages (the
    alarm topic has its own key: GatewayMonitoring).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.retention = retention
        self.removal_policy = removal_policy
        self.key = kms.Key(
            self,
            "Key",
            description="Bedrock kit: encrypts the kit's operational log groups",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7 if removal_policy is RemovalPolicy.DESTROY else 30),
        )
        self.key.add_to_resource_policy(logs_may_use_key())

        def log_group(construct_id: str) -> logs.LogGroup:
            return logs.LogGroup(
                self,
                construct_id,
                retention=retention,
                removal_policy=removal_policy,
                encryption_key=self.key,
            )

        self.gateway = log_group("GatewayLogGroup")
        self.authorizer = log_group("AuthorizerLogGroup")
        self.api_access = log_group("ApiAccessLogGroup")
        self.flow = log_group("FlowLogGroup")
