"""Bedrock knowledge bases: documents bucket, store, service role, data source, first sync.

Each knowledge base gets a service role of its own that reads only its documents, writes only
its index and invokes only its embedding model (Bedrock user guide, kb-permissions.html),
trusted by Bedrock for this account's knowledge bases only. One key encrypts every bucket,
vector store and ingestion's transient data of the environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kendra as kendra
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.components import reasons
from stacks.components.access_logs import access_log_bucket
from stacks.components.deploy_time_calls import (
    acknowledge_sdk_call_function,
    skip_auto_delete_handler,
)
from stacks.components.encryption import encrypted_log_group, rotating_key
from stacks.components.findings import (
    AWS_SOLUTIONS,
    acknowledge,
    acknowledge_both_packs,
    checkov_skip,
)
from stacks.components.lambda_permissions import service_role
from stacks.components.model_access import for_endpoint
from stacks.components.vector_stores import StoreSettings, build_store

# The service principal of S3 Vectors' background indexing, which decrypts with the bucket's
# key (AWS CDK's VectorBucket construct, after docs.aws.amazon.com/AmazonS3/latest/userguide/
# s3-vectors-data-encryption.html).
S3_VECTORS_INDEXING = "indexing.s3vectors.amazonaws.com"


@dataclass(frozen=True, slots=True)
class FixedChunking:
    """Fixed-size chunks: at most `max_tokens` tokens, `overlap_percent` shared with the next."""

    max_tokens: int
    overlap_percent: int


@dataclass(frozen=True, slots=True)
class VectorSettings:
    """A vector knowledge base: its embedding model, vector size, store and documents."""

    embedding_model_id: str
    dimensions: int
    store: StoreSettings
    # An existing bucket of documents; None: the construct creates one.
    source_bucket: str | None = None
    source_prefix: str | None = None
    # None: one chunk per document.
    chunking: FixedChunking | None = FixedChunking(300, 20)


@dataclass(frozen=True, slots=True)
class KnowledgeBaseSettings:
    """One knowledge base: a vector one, or an existing Amazon Kendra GenAI index."""

    name: str
    description: str
    vector: VectorSettings | None = None
    kendra_index_arn: str | None = None


class KnowledgeBase(Construct):
    """One Bedrock knowledge base with its role, documents, store and data source."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_name: str,
        settings: KnowledgeBaseSettings,
        key: kms.IKey,
        access_logs: s3.IBucket,
        removal_policy: RemovalPolicy,
        sync_log_group: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = settings.name
        region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
        self.role = service_role(
            self,
            "ServiceRole",
            service="bedrock.amazonaws.com",
            # Confused deputy: only this account's knowledge bases may act as this role.
            conditions={
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {
                    "aws:SourceArn": f"arn:{partition}:bedrock:{region}:{account}:knowledge-base/*"
                },
            },
            description=f"Bedrock knowledge base {resource_name}: its documents, index, model",
        )
        self.documents: s3.IBucket | None = None
        self.data_source: bedrock.CfnDataSource | None = None
        if settings.vector is not None:
            vector = settings.vector
            wiring = build_store(
                self,
                settings=vector.store,
                resource_name=resource_name,
                dimensions=vector.dimensions,
                key=key,
                role=self.role,
                removal_policy=removal_policy,
            )
            for statement in wiring.role_statements:
                self.role.add_to_policy(statement)
            for resource, reason in wiring.wildcards:
                acknowledge(self.role, f"{AWS_SOLUTIONS}IAM5[Resource::{resource}]", reason)
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="InvokeItsEmbeddingModel",
                    actions=["bedrock:InvokeModel"],
                    resources=[
                        f"arn:{partition}:bedrock:{region}::foundation-model/"
                        f"{vector.embedding_model_id}"
                    ],
                )
            )
            configuration = bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=f"arn:{partition}:bedrock:{region}::foundation-model/"
                    f"{vector.embedding_model_id}",
                    embedding_model_configuration=bedrock.CfnKnowledgeBase.EmbeddingModelConfigurationProperty(
                        bedrock_embedding_model_configuration=bedrock.CfnKnowledgeBase.BedrockEmbeddingModelConfigurationProperty(
                            dimensions=vector.dimensions, embedding_data_type="FLOAT32"
                        )
                    ),
                ),
            )
            storage = wiring.storage
        else:
            index_arn = settings.kendra_index_arn or self._kendra_index(resource_name, key)
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="RetrieveFromItsKendraIndex",
                    actions=["kendra:Retrieve", "kendra:DescribeIndex"],
                    resources=[index_arn],
                )
            )
            configuration = bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="KENDRA",
                kendra_knowledge_base_configuration=bedrock.CfnKnowledgeBase.KendraKnowledgeBaseConfigurationProperty(
                    kendra_index_arn=index_arn
                ),
            )
            storage = None
            wiring = None
        self.resource = bedrock.CfnKnowledgeBase(
            self,
            "Resource",
            name=resource_name,
            description=settings.description or None,
            role_arn=self.role.role_arn,
            knowledge_base_configuration=configuration,
            storage_configuration=storage,
        )
        # Bedrock checks its role's access to the store when it creates the knowledge base.
        self.resource.node.add_dependency(self.role)
        for prerequisite in wiring.prerequisites if wiring else ():
            self.resource.node.add_dependency(prerequisite)
        self.knowledge_base_id = self.resource.attr_knowledge_base_id
        self.knowledge_base_arn = self.resource.attr_knowledge_base_arn
        if settings.vector is not None:
            self.documents = self._documents(settings.vector, key, access_logs, removal_policy)
            self.data_source = self._data_source(resource_name, settings.vector, key)
            self._sync_after_deploy(removal_policy, sync_log_group)

    def _kendra_index(self, resource_name: str, key: kms.IKey) -> str:
        """A Kendra GenAI Enterprise Edition index of the kit's own, and the role it writes with.

        The role is the one the Kendra developer guide gives an index: CloudWatch metrics in
        the AWS/Kendra namespace and the /aws/kendra/* log groups, nothing else.
        """
        account, region, partition = Aws.ACCOUNT_ID, Aws.REGION, Aws.PARTITION
        role = service_role(
            self,
            "KendraIndexRole",
            service="kendra.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": account}},
            description=f"Kendra index {resource_name}: its metrics and logs",
        )
        logs_arn = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/kendra/*"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PutKendraMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "AWS/Kendra"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="FindLogGroups", actions=["logs:DescribeLogGroups"], resources=["*"]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateKendraLogGroups", actions=["logs:CreateLogGroup"], resources=[logs_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteKendraLogs",
                actions=["logs:DescribeLogStreams", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{logs_arn}:log-stream:*"],
            )
        )
        for finding in (
            "Resource::*",
            "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/kendra/*",
            "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/kendra/*:log-stream:*",
        ):
            acknowledge(role, f"{AWS_SOLUTIONS}IAM5[{finding}]", reasons.KENDRA_INDEX_ROLE)
        index = kendra.CfnIndex(
            self,
            "KendraIndex",
            name=resource_name,
            edition="GEN_AI_ENTERPRISE_EDITION",
            role_arn=role.role_arn,
            server_side_encryption_configuration=kendra.CfnIndex.ServerSideEncryptionConfigurationProperty(
                kms_key_id=key.key_arn
            ),
        )
        index.node.add_dependency(role)
        return index.attr_arn

    def _documents(
        self,
        vector: VectorSettings,
        key: kms.IKey,
        access_logs: s3.IBucket,
        removal_policy: RemovalPolicy,
    ) -> s3.IBucket:
        """The documents' bucket (created, or the one config names) and the role's read access."""
        if vector.source_bucket is not None:
            bucket = s3.Bucket.from_bucket_name(self, "Documents", vector.source_bucket)
        else:
            created = s3.Bucket(
                self,
                "Documents",
                encryption=s3.BucketEncryption.KMS,
                encryption_key=key,
                bucket_key_enabled=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                server_access_logs_bucket=access_logs,
                server_access_logs_prefix=f"documents/{self.name}/",
                removal_policy=removal_policy,
                auto_delete_objects=removal_policy is RemovalPolicy.DESTROY,
                lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            )
            acknowledge_both_packs(created, "S3BucketReplicationEnabled", reasons.KB_NO_REPLICATION)
            bucket = created
        prefix = vector.source_prefix or ""
        owner = {"StringEquals": {"aws:ResourceAccount": Aws.ACCOUNT_ID}}
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListItsDocuments",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions=owner,
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadItsDocuments",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{prefix}*")],
                conditions=owner,
            )
        )
        if vector.source_bucket is None:
            objects = [f"<{_logical(bucket)}.Arn>/{prefix}*"]
        else:
            # The partition is written out when the stack's region is known, a token otherwise.
            objects = [
                f"arn:{partition}:s3:::{vector.source_bucket}/{prefix}*"
                for partition in ("aws", "<AWS::Partition>")
            ]
        for resource in objects:
            acknowledge(
                self.role, f"{AWS_SOLUTIONS}IAM5[Resource::{resource}]", reasons.KB_READS_DOCUMENTS
            )
        return bucket

    def _data_source(
        self, resource_name: str, vector: VectorSettings, key: kms.IKey
    ) -> bedrock.CfnDataSource:
        chunking = vector.chunking
        # Bedrock encrypts ingestion's transient data with the environment's key.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="UseTheKnowledgeBaseKey",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
            )
        )
        assert self.documents is not None
        return bedrock.CfnDataSource(
            self,
            "DataSource",
            knowledge_base_id=self.resource.attr_knowledge_base_id,
            # The chunking settings are in the name: changing them replaces the data source,
            # and CloudFormation cannot create the new one under the old one's name.
            name=f"{resource_name}-{_chunking_tag(vector.chunking)}",
            data_source_configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(
                type="S3",
                s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(
                    bucket_arn=self.documents.bucket_arn,
                    inclusion_prefixes=[vector.source_prefix] if vector.source_prefix else None,
                    bucket_owner_account_id=Aws.ACCOUNT_ID,
                ),
            ),
            server_side_encryption_configuration=bedrock.CfnDataSource.ServerSideEncryptionConfigurationProperty(
                kms_key_arn=key.key_arn
            ),
            # Deleting the data source deletes its vectors; the documents stay in S3.
            data_deletion_policy="DELETE",
            vector_ingestion_configuration=bedrock.CfnDataSource.VectorIngestionConfigurationProperty(
                chunking_configuration=bedrock.CfnDataSource.ChunkingConfigurationProperty(
                    chunking_strategy="FIXED_SIZE",
                    fixed_size_chunking_configuration=bedrock.CfnDataSource.FixedSizeChunkingConfigurationProperty(
                        max_tokens=chunking.max_tokens,
                        overlap_percentage=chunking.overlap_percent,
                    ),
                )
                if chunking is not None
                else bedrock.CfnDataSource.ChunkingConfigurationProperty(chunking_strategy="NONE")
            ),
        )

    def _sync_after_deploy(self, removal_policy: RemovalPolicy, log_group: logs.ILogGroup) -> None:
        """Start an ingestion job when the data source is created or changed (not waited for)."""
        assert self.data_source is not None
        call = cr.AwsSdkCall(
            service="bedrock-agent",
            action="startIngestionJob",
            parameters={
                "knowledgeBaseId": self.knowledge_base_id,
                "dataSourceId": self.data_source.attr_data_source_id,
                "description": "bedrock-kit: sync after deployment",
            },
            physical_resource_id=cr.PhysicalResourceId.of(self.data_source.attr_data_source_id),
        )
        sync = cr.AwsCustomResource(
            self,
            "SyncAfterDeploy",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        sid="StartItsIngestion",
                        actions=["bedrock:StartIngestionJob"],
                        resources=[self.knowledge_base_arn],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
            removal_policy=removal_policy,
            log_group=log_group,
        )
        acknowledge_both_packs(sync, "IAMNoInlinePolicy", reasons.ROLE_OWN_POLICY)
        acknowledge_sdk_call_function(
            self, outside_vpc=reasons.KB_SYNC_CALL, no_dead_letters=reasons.KB_SYNC_RETRIES
        )


def _chunking_tag(chunking: FixedChunking | None) -> str:
    """A data source name's suffix: how it chunks (fixed-300-20, or whole)."""
    if chunking is None:
        return "whole"
    return f"fixed-{chunking.max_tokens}-{chunking.overlap_percent}"


def _logical(bucket: s3.IBucket) -> str:
    return Stack.of(bucket).get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]


class KnowledgeBases(Construct):
    """The environment's knowledge bases, their key and their buckets' access logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        knowledge_bases: Sequence[KnowledgeBaseSettings],
        removal_policy: RemovalPolicy,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        vector_buckets = f"arn:{Aws.PARTITION}:s3vectors:{Aws.REGION}:{Aws.ACCOUNT_ID}:bucket/*"
        self.key = rotating_key(
            self,
            "Key",
            description="Bedrock kit: encrypts knowledge bases' documents, vectors and ingestion",
            removal_policy=removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3VectorsIndexesInTheBackground",
                principals=[iam.ServicePrincipal(S3_VECTORS_INDEXING)],
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions={
                    "ArnLike": {"aws:SourceArn": vector_buckets},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ForAnyValue:StringEquals": {
                        "kms:EncryptionContextKeys": [
                            "aws:s3vectors:arn",
                            "aws:s3vectors:resource-id",
                        ]
                    },
                },
            )
        )
        self.access_logs = access_log_bucket(
            self,
            "AccessLogs",
            removal_policy=removal_policy,
            expiration_days=365,
            no_replication_reason=reasons.KB_NO_REPLICATION,
        )
        checkov_skip(self.access_logs, "CKV_AWS_18", reasons.ACCESS_LOGS_NOT_LOGGED)
        # The deploy-time sync calls' log group (CDK's SDK-call function writes there).
        sync_log_group = encrypted_log_group(
            self,
            "SyncLogGroup",
            key=log_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.by_name: dict[str, KnowledgeBase] = {}
        for settings in knowledge_bases:
            construct = KnowledgeBase(
                self,
                settings.name,
                resource_name=f"bedrock-kit-{env_name}-{settings.name}",
                settings=settings,
                key=self.key,
                access_logs=self.access_logs,
                removal_policy=removal_policy,
                sync_log_group=sync_log_group,
            )
            self.by_name[settings.name] = construct
            skip_auto_delete_handler(self)
            # `make ingest` finds the ids here (a stack's outputs survive redeployments).
            id_output, source_output, bucket_output = knowledge_base_output_names(settings.name)
            outputs = [(id_output, construct.knowledge_base_id, "Knowledge base")]
            if construct.data_source is not None:
                outputs.append(
                    (source_output, construct.data_source.attr_data_source_id, "Data source of")
                )
            if construct.documents is not None:
                outputs.append((bucket_output, construct.documents.bucket_name, "Documents of"))
            for output_id, value, what in outputs:
                output = CfnOutput(
                    self, output_id, value=value, description=f"{what} {settings.name}"
                )
                # Exact keys, without CDK's path hash: what `make ingest` and `make run` read.
                output.override_logical_id(output_id)

    def arns(self) -> list[str]:
        """Every knowledge base's ARN (what the gateway may search)."""
        return [kb.knowledge_base_arn for kb in self.by_name.values()]

    def ids_json(self) -> str:
        """GATEWAY_KNOWLEDGE_BASE_IDS: name -> Bedrock id (tokens, resolved by CloudFormation)."""
        ids = {name: kb.knowledge_base_id for name, kb in self.by_name.items()}
        return Stack.of(self).to_json_string(ids)

    def retrieve_statements(self) -> list[iam.PolicyStatement]:
        """Searching the environment's knowledge bases, and nothing else (gateway, endpoint)."""
        if not self.by_name:
            return []
        return [
            iam.PolicyStatement(
                sid="RetrieveFromTheKnowledgeBases",
                actions=["bedrock:Retrieve"],
                resources=self.arns(),
            )
        ]

    def endpoint_statements(self) -> list[iam.PolicyStatement]:
        """The bedrock-agent-runtime endpoint's policy: Retrieve on these, by this account."""
        return [for_endpoint(statement) for statement in self.retrieve_statements()]


def knowledge_base_output_names(name: str) -> tuple[str, str, str]:
    """The Stateful stack's output keys of knowledge base `name`: id, data source id, bucket.

    Names are lowercase letters, digits and single dashes, so spelling '-' as "Dash" keeps
    every key distinct: no name's key is another's, nor the start of another's.
    """
    base = "KnowledgeBase" + name.replace("-", "Dash")
    return f"{base}Id", f"{base}DataSourceId", f"{base}Bucket"
