"""Where Bedrock writes model invocation logs (prompts and completions), and who may read them.

S3 only by default, under a key of its own whose policy lets Bedrock write and one auditor
role read; administrators keep key administration but not decryption. An optional copy in
CloudWatch Logs is readable by anyone with Logs read access (CloudWatch decrypts on read), so
it stays off unless a config asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IDependable

from stacks.components import reasons
from stacks.components.access_logs import access_log_bucket
from stacks.components.encryption import encrypted_log_group, logs_may_use_key, rotating_key
from stacks.components.findings import AWS_SOLUTIONS, acknowledge, acknowledge_both_packs
from stacks.components.lambda_permissions import service_role

LOG_PREFIX = "bedrock-invocations"
# The one stream Bedrock writes in a CloudWatch destination (Bedrock user guide, model
# invocation logging).
BEDROCK_LOG_STREAM = "aws/bedrock/modelinvocations"
# Key administration without use: these never decrypt, so administrators read no prompt.
# kms:CreateGrant is left out on purpose: a grant could hand its creator kms:Decrypt.
KEY_ADMINISTRATION_ACTIONS = (
    "kms:CreateAlias",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
# The principal tag a user or role needs to assume the kit's auditor role.
READER_TAG = "bedrock-kit:invocation-log-reader"


def log_stream_arn(scope: Construct, log_group_name: str, stream: str) -> str:
    """ARN of one stream of a log group, built from the group's name.

    Not from the group's `Arn` attribute: that one already ends in ':*', and appending a
    stream to it gives an ARN that matches no stream.
    """
    return Stack.of(scope).format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"{log_group_name}:log-stream:{stream}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


@dataclass(frozen=True, slots=True)
class InvocationLogSettings:
    """How long invocation logs stay, where they are copied and who reads them."""

    transition_to_infrequent_access_days: int
    expiration_days: int
    cloudwatch_copy: bool
    # An existing role allowed to read; None: the store creates its own auditor role.
    auditor_role_arn: str | None


class InvocationLogStore(Construct):
    """Bucket, key, auditor role and optional CloudWatch copy of Bedrock invocation logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: InvocationLogSettings,
        removal_policy: RemovalPolicy,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        auditor_role_arn = settings.auditor_role_arn
        expiration_days = settings.expiration_days
        transition_to_infrequent_access_days = settings.transition_to_infrequent_access_days
        cloudwatch_copy = settings.cloudwatch_copy
        self.auditor: iam.IRole
        if auditor_role_arn is not None:
            self.auditor = iam.Role.from_role_arn(
                self, "AuditorRole", auditor_role_arn, mutable=False
            )
        else:
            self.auditor = iam.Role(
                self,
                "AuditorRole",
                # Only principals of this account tagged as readers, and allowed by their own
                # policies: a broad sts:AssumeRole grant alone does not reach prompts.
                assumed_by=iam.AccountRootPrincipal().with_conditions(
                    {"StringEquals": {f"aws:PrincipalTag/{READER_TAG}": "true"}}
                ),
                description="Reads Bedrock model invocation logs (prompts and completions)",
            )
            acknowledge_both_packs(self.auditor, "IAMNoInlinePolicy", reasons.ROLE_OWN_POLICY)
        source = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"
            },
        }
        bedrock = iam.ServicePrincipal("bedrock.amazonaws.com")
        key_statements = [
            iam.PolicyStatement(
                sid="KeyAdministrationWithoutDecryption",
                principals=[iam.AccountRootPrincipal()],
                actions=list(KEY_ADMINISTRATION_ACTIONS),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="BedrockWritesInvocationLogs",
                principals=[bedrock],
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions=source,
            ),
            iam.PolicyStatement(
                sid="AuditorReadsInvocationLogs",
                principals=[iam.ArnPrincipal(self.auditor.role_arn)],
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=["*"],
            ),
        ]
        if cloudwatch_copy:
            key_statements.append(logs_may_use_key())
        self.key = rotating_key(
            self,
            "Key",
            description="Bedrock kit: encrypts model invocation logs (prompts and completions)",
            removal_policy=removal_policy,
            policy=iam.PolicyDocument(statements=key_statements),
        )
        auto_delete = removal_policy is RemovalPolicy.DESTROY
        self.access_log_bucket = access_log_bucket(
            self,
            "AccessLogBucket",
            removal_policy=removal_policy,
            expiration_days=expiration_days,
            no_replication_reason=reasons.NO_REPLICATION,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="invocation-log-bucket/",
            removal_policy=removal_policy,
            auto_delete_objects=auto_delete,
            lifecycle_rules=[
                s3.LifecycleRule(
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(transition_to_infrequent_access_days),
                        )
                    ],
                    expiration=Duration.days(expiration_days),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )
        write = self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AmazonBedrockLogsWrite",
                principals=[bedrock],
                actions=["s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(
                        f"{LOG_PREFIX}/AWSLogs/{Aws.ACCOUNT_ID}/BedrockModelInvocationLogs/*"
                    )
                ],
                conditions=source,
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyReadsExceptTheAuditorRole",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(READ_ACTIONS),
                resources=[self.bucket.arn_for_objects("*")],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": self.auditor.role_arn}},
            )
        )
        if isinstance(self.auditor, iam.Role):
            self.auditor.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadInvocationLogs",
                    actions=[*READ_ACTIONS, "s3:ListBucket"],
                    resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
                )
            )
            logical = Stack.of(self).get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
            acknowledge(
                self.auditor,
                f"{AWS_SOLUTIONS}IAM5[Resource::<{logical}.Arn>/*]",
                reasons.AUDITOR_READS_OBJECTS,
            )
        self.dependables: list[IDependable] = [self.key]
        if write.policy_dependable is not None:
            self.dependables.append(write.policy_dependable)
        self.log_group: logs.LogGroup | None = None
        self.delivery_role: iam.Role | None = None
        if cloudwatch_copy:
            self._cloudwatch_copy(log_retention, removal_policy, source)
        acknowledge_both_packs(self.bucket, "S3BucketReplicationEnabled", reasons.NO_REPLICATION)

    def _cloudwatch_copy(
        self, retention: logs.RetentionDays, removal: RemovalPolicy, source: dict[str, Any]
    ) -> None:
        self.log_group = encrypted_log_group(
            self, "LogGroup", key=self.key, retention=retention, removal_policy=removal
        )
        self.delivery_role = service_role(
            self,
            "DeliveryRole",
            service="bedrock.amazonaws.com",
            conditions=source,
            description="Bedrock model invocation logging: write the invocation log group",
        )
        self.delivery_role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteInvocationLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_stream_arn(self, self.log_group.log_group_name, BEDROCK_LOG_STREAM)],
            )
        )
        # The role's policy is its child: depending on the role waits for the policy too.
        self.dependables += [self.log_group, self.delivery_role]

    def logging_config(self, *, text: bool, image: bool, embedding: bool) -> dict[str, Any]:
        """Bedrock's PutModelInvocationLoggingConfiguration `loggingConfig` for this store."""
        config: dict[str, Any] = {
            "s3Config": {"bucketName": self.bucket.bucket_name, "keyPrefix": LOG_PREFIX},
            "textDataDeliveryEnabled": text,
            "imageDataDeliveryEnabled": image,
            "embeddingDataDeliveryEnabled": embedding,
            "videoDataDeliveryEnabled": False,
        }
        if self.log_group is not None and self.delivery_role is not None:
            config["cloudWatchConfig"] = {
                "logGroupName": self.log_group.log_group_name,
                "roleArn": self.delivery_role.role_arn,
                "largeDataDeliveryS3Config": {
                    "bucketName": self.bucket.bucket_name,
                    "keyPrefix": LOG_PREFIX,
                },
            }
        return config
