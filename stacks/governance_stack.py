"""GovernanceStack: model access pre-flight and Bedrock invocation logging, as code.

Both are account-and-region settings Bedrock offers no CloudFormation resource for, so each is
a custom resource whose handler runs in the kit's VPC and reaches Bedrock's control plane
through its interface endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.components.governed_function import GovernedCustomResource
from stacks.components.model_access import foundation_model_arn
from stacks.config import AccessCheckConfig, AccessCheckMode, InvocationLoggingConfig

# Bedrock control-plane actions that take no resource ARN (account-level settings and
# offers): IAM only accepts "*" for them. Shared with the policy gate test.
ACCOUNT_LEVEL_BEDROCK_ACTIONS = (
    "bedrock:GetFoundationModelAvailability",
    "bedrock:GetUseCaseForModelAccess",
    "bedrock:PutUseCaseForModelAccess",
    "bedrock:ListFoundationModelAgreementOffers",
    "bedrock:CreateFoundationModelAgreement",
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
)
LOG_PREFIX = "bedrock-invocations"


class GovernanceStack(Stack):
    """Deploy-time checks and account settings the gateway depends on."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_ids: Sequence[str],
        anthropic_model_ids: Sequence[str],
        access_check: AccessCheckConfig,
        invocation_logging: InvocationLoggingConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        common: dict[str, Any] = {
            "vpc": vpc,
            "subnets": subnets,
            "security_group": security_group,
            "log_retention": log_retention,
            "log_key": key,
        }
        self.access_check: GovernedCustomResource | None = None
        if access_check.mode is not AccessCheckMode.OFF:
            self.access_check = GovernedCustomResource(
                self,
                "ModelAccessCheck",
                package="model_access_check",
                description="Deploy-time check that every enabled Bedrock model is usable",
                statements=_access_check_statements(model_ids, access_check),
                properties={
                    "ModelIds": list(model_ids),
                    "AnthropicModelIds": list(anthropic_model_ids),
                    "Mode": access_check.mode.value,
                    "AcceptOffers": "true" if access_check.accept_offers else "false",
                    "UseCaseForm": json.dumps(dict(access_check.anthropic_use_case))
                    if access_check.anthropic_use_case
                    else "",
                },
                **common,
            )
        self.invocation_logging: GovernedCustomResource | None = None
        self.log_bucket: s3.Bucket | None = None
        self.access_log_bucket: s3.Bucket | None = None
        if invocation_logging.enabled:
            self._invocation_logging(invocation_logging, key, log_retention, removal_policy, common)

    def buckets(self) -> list[s3.Bucket]:
        """The S3 buckets of this stack."""
        return [b for b in (self.log_bucket, self.access_log_bucket) if b is not None]

    def _invocation_logging(
        self,
        config: InvocationLoggingConfig,
        key: kms.IKey,
        retention: logs.RetentionDays,
        removal: RemovalPolicy,
        common: dict[str, Any],
    ) -> None:
        auto_delete = removal is RemovalPolicy.DESTROY
        access_logs = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,  # server access logs require SSE-S3
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=removal,
            auto_delete_objects=auto_delete,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.expiration_days))],
        )
        bucket = s3.Bucket(
            self,
            "InvocationLogBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="invocation-log-bucket/",
            removal_policy=removal,
            auto_delete_objects=auto_delete,
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(
                                config.transition_to_infrequent_access_days
                            ),
                        )
                    ],
                    expiration=Duration.days(config.expiration_days),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )
        self.log_bucket = bucket
        self.access_log_bucket = access_logs
        source = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
            },
        }
        bedrock = iam.ServicePrincipal("bedrock.amazonaws.com")
        bucket_policy = bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AmazonBedrockLogsWrite",
                principals=[bedrock],
                actions=["s3:PutObject"],
                resources=[
                    bucket.arn_for_objects(
                        f"{LOG_PREFIX}/AWSLogs/{Aws.ACCOUNT_ID}/BedrockModelInvocationLogs/*"
                    )
                ],
                conditions=source,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBedrockInvocationLogs",
                principals=[bedrock],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions=source,
            )
        )
        log_group = logs.LogGroup(
            self,
            "InvocationLogGroup",
            retention=retention,
            encryption_key=key,
            removal_policy=removal,
        )
        delivery_role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal("bedrock.amazonaws.com", conditions=source),
            description="Bedrock model invocation logging: write the invocation log group",
        )
        delivery_policy = iam.ManagedPolicy(
            self,
            "DeliveryPolicy",
            roles=[delivery_role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteInvocationLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        f"{log_group.log_group_arn}:log-stream:aws/bedrock/modelinvocations"
                    ],
                )
            ],
        )
        logging_config = {
            "cloudWatchConfig": {
                "logGroupName": log_group.log_group_name,
                "roleArn": delivery_role.role_arn,
                "largeDataDeliveryS3Config": {
                    "bucketName": bucket.bucket_name,
                    "keyPrefix": LOG_PREFIX,
                },
            },
            "s3Config": {"bucketName": bucket.bucket_name, "keyPrefix": LOG_PREFIX},
            "textDataDeliveryEnabled": config.text,
            "imageDataDeliveryEnabled": config.image,
            "embeddingDataDeliveryEnabled": config.embedding,
            "videoDataDeliveryEnabled": False,
        }
        self.invocation_logging = GovernedCustomResource(
            self,
            "InvocationLogging",
            package="invocation_logging",
            description="Bedrock model invocation logging configuration, owned by the kit",
            statements=[
                iam.PolicyStatement(
                    sid="ManageInvocationLoggingConfiguration",
                    actions=[a for a in ACCOUNT_LEVEL_BEDROCK_ACTIONS if "InvocationLogging" in a],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="PassDeliveryRoleToBedrock",
                    actions=["iam:PassRole"],
                    resources=[delivery_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
                ),
            ],
            properties={
                # A JSON string, so CloudFormation keeps the booleans booleans.
                "LoggingConfig": self.to_json_string(logging_config),
                "OnExisting": config.on_existing.value,
            },
            **common,
        )
        # Bedrock validates the destinations when the configuration is put.
        resource = self.invocation_logging.resource
        for dependency in (
            bucket_policy.policy_dependable,
            log_group,
            delivery_policy,
            delivery_role,
        ):
            if dependency is not None:
                resource.node.add_dependency(dependency)


def _access_check_statements(
    model_ids: Sequence[str], config: AccessCheckConfig
) -> list[iam.PolicyStatement]:
    statements = [
        iam.PolicyStatement(
            sid="ReadEnabledModels",
            actions=["bedrock:GetFoundationModel"],
            resources=[foundation_model_arn(model_id, Aws.REGION) for model_id in model_ids],
        ),
        iam.PolicyStatement(
            sid="ReadModelAccessState",
            actions=["bedrock:GetFoundationModelAvailability", "bedrock:GetUseCaseForModelAccess"],
            resources=["*"],
        ),
    ]
    if config.accept_offers:
        statements.append(
            iam.PolicyStatement(
                sid="AcceptPublicOffers",
                actions=[
                    "bedrock:ListFoundationModelAgreementOffers",
                    "bedrock:CreateFoundationModelAgreement",
                    "aws-marketplace:Subscribe",
                    "aws-marketplace:ViewSubscriptions",
                ],
                resources=["*"],
            )
        )
    if config.anthropic_use_case:
        statements.append(
            iam.PolicyStatement(
                sid="SubmitAnthropicUseCase",
                actions=["bedrock:PutUseCaseForModelAccess"],
                resources=["*"],
            )
        )
    return statements
