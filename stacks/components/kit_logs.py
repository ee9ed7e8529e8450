"""The kit's operational log groups and the customer-managed key that encrypts them."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.components.encryption import encrypted_log_group, logs_may_use_key, rotating_key


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
        self.key = rotating_key(
            self,
            "Key",
            description="Bedrock kit: encrypts the kit's operational log groups",
            removal_policy=removal_policy,
        )
        self.key.add_to_resource_policy(logs_may_use_key())

        def log_group(construct_id: str) -> logs.LogGroup:
            return encrypted_log_group(
                self,
                construct_id,
                key=self.key,
                retention=retention,
                removal_policy=removal_policy,
            )

        self.gateway = log_group("GatewayLogGroup")
        self.authorizer = log_group("AuthorizerLogGroup")
        self.api_access = log_group("ApiAccessLogGroup")
        self.flow = log_group("FlowLogGroup")
