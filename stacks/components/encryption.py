"""The kit's customer-managed keys and the log groups they encrypt, built one way everywhere."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def rotating_key(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    removal_policy: RemovalPolicy,
    policy: iam.PolicyDocument | None = None,
) -> kms.Key:
    """A key with yearly rotation; a deleted one stays recoverable 30 days (7 when disposable)."""
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
        pending_window=Duration.days(7 if removal_policy is RemovalPolicy.DESTROY else 30),
        policy=policy,
    )


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy,
) -> logs.LogGroup:
    """A log group under `key`, kept as long as the environment's logs are."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention,
        removal_policy=removal_policy,
        encryption_key=key,
    )


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
