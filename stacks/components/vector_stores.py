"""Where a vector knowledge base keeps its embeddings: what the kit creates, what it is given.

Each store returns the knowledge base's StorageConfiguration, the statements its service role
needs (Bedrock user guide, kb-permissions.html) and what must exist before the knowledge base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aws_cdk import CfnResource, DefaultStackSynthesizer, Fn, RemovalPolicy, Stack
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_s3vectors as s3vectors
from constructs import Construct

from stacks.components import reasons
from stacks.components.names import fitted_name

# Bedrock writes each chunk's text and its own metadata into the vector's metadata; the user
# guide (knowledge-base-setup.html, S3 Vectors) says to make both keys non-filterable.
S3_VECTORS_NON_FILTERABLE = ("AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA")
# The names Bedrock gives the index and fields of a store it creates for a knowledge base.
DEFAULT_INDEX = "bedrock-knowledge-base-default-index"


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Where the store keeps each chunk's vector, text and Bedrock's metadata."""

    vector: str
    text: str
    metadata: str


@dataclass(frozen=True, slots=True)
class S3VectorStore:
    """An S3 Vectors bucket and index the kit creates (pay per use; no idle cost)."""


@dataclass(frozen=True, slots=True)
class ServerlessCollectionStore:
    """An OpenSearch Serverless vector collection and index the kit creates (idle OCUs)."""

    fields: FieldMapping
    standby_replicas: bool = False


@dataclass(frozen=True, slots=True)
class OpenSearchDomainStore:
    """An existing OpenSearch Service domain's index."""

    domain_arn: str
    domain_endpoint: str
    index_name: str
    fields: FieldMapping


@dataclass(frozen=True, slots=True)
class AuroraStore:
    """An existing Aurora PostgreSQL (pgvector) table, reached through the Data API."""

    cluster_arn: str
    secret_arn: str
    database: str
    table: str
    primary_key_field: str
    fields: FieldMapping


StoreSettings = S3VectorStore | ServerlessCollectionStore | OpenSearchDomainStore | AuroraStore


@dataclass(slots=True)
class StoreWiring:
    """What the knowledge base needs from its store."""

    storage: bedrock.CfnKnowledgeBase.StorageConfigurationProperty
    role_statements: list[iam.PolicyStatement]
    # Created before the knowledge base (Bedrock checks the index when it creates one).
    prerequisites: list[CfnResource] = field(default_factory=list)
    # Wildcard resources of `role_statements` (as cdk-nag writes them), each with its reason.
    wildcards: list[tuple[str, str]] = field(default_factory=list)


def build_store(
    scope: Construct,
    *,
    settings: StoreSettings,
    resource_name: str,
    dimensions: int,
    key: kms.IKey,
    role: iam.IRole,
    removal_policy: RemovalPolicy,
) -> StoreWiring:
    """Create (or name) the store of one knowledge base and say how its role reaches it."""
    if isinstance(settings, S3VectorStore):
        return _s3_vectors(scope, resource_name, dimensions, key, removal_policy)
    if isinstance(settings, ServerlessCollectionStore):
        return _serverless_collection(scope, settings, resource_name, dimensions, key, role)
    if isinstance(settings, OpenSearchDomainStore):
        return _opensearch_domain(settings)
    return _aurora(settings)


def _s3_vectors(
    scope: Construct, name: str, dimensions: int, key: kms.IKey, removal_policy: RemovalPolicy
) -> StoreWiring:
    # Bucket and index names: 3 to 63 characters; the index's name also says its size, so a
    # new size is a new index (CloudFormation cannot replace a resource of the same name).
    bucket = s3vectors.CfnVectorBucket(
        scope,
        "VectorBucket",
        vector_bucket_name=fitted_name(name, 63),
        encryption_configuration=s3vectors.CfnVectorBucket.EncryptionConfigurationProperty(
            sse_type="aws:kms", kms_key_arn=key.key_arn
        ),
    )
    bucket.apply_removal_policy(removal_policy)
    index = s3vectors.CfnIndex(
        scope,
        "VectorIndex",
        vector_bucket_arn=bucket.attr_vector_bucket_arn,
        index_name=fitted_name(f"{name}-{dimensions}", 63),
        data_type="float32",
        dimension=dimensions,
        distance_metric="cosine",
        metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
            non_filterable_metadata_keys=list(S3_VECTORS_NON_FILTERABLE)
        ),
    )
    index.apply_removal_policy(removal_policy)
    return StoreWiring(
        storage=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="S3_VECTORS",
            s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(
                index_arn=index.attr_index_arn
            ),
        ),
        role_statements=[
            iam.PolicyStatement(
                sid="ReadAndWriteItsVectorIndex",
                actions=[
                    "s3vectors:PutVectors",
                    "s3vectors:GetVectors",
                    "s3vectors:DeleteVectors",
                    "s3vectors:QueryVectors",
                    "s3vectors:GetIndex",
                ],
                resources=[index.attr_index_arn],
            ),
        ],
        prerequisites=[index],
    )


def _serverless_collection(
    scope: Construct,
    settings: ServerlessCollectionStore,
    name: str,
    dimensions: int,
    key: kms.IKey,
    role: iam.IRole,
) -> StoreWiring:
    # Collection and policy names: 3 to 32 lowercase characters (CloudFormation's patterns).
    short = fitted_name(name, 32)
    resource = f"collection/{short}"
    encryption = aoss.CfnSecurityPolicy(
        scope,
        "EncryptionPolicy",
        name=short,
        type="encryption",
        policy=_compact({"Rules": [_rule(resource)], "AWSOwnedKey": False, "KmsARN": key.key_arn}),
    )
    # Private: no public endpoint; only Bedrock reaches it (kb-create-security.html).
    network = aoss.CfnSecurityPolicy(
        scope,
        "NetworkPolicy",
        name=short,
        type="network",
        policy=_compact(
            [
                {
                    "Rules": [_rule(resource)],
                    "AllowFromPublic": False,
                    "SourceServices": ["bedrock.amazonaws.com"],
                }
            ]
        ),
    )
    # The knowledge base reads and writes documents; CloudFormation (the deploying role)
    # creates the index below, which takes index-level permissions on the collection.
    deployer = _deploying_role_arn(scope)
    access = aoss.CfnAccessPolicy(
        scope,
        "DataAccessPolicy",
        name=short,
        type="data",
        policy=Stack.of(scope).to_json_string(
            [
                {
                    "Rules": [
                        {
                            "ResourceType": "index",
                            "Resource": [f"index/{short}/*"],
                            "Permission": [
                                "aoss:DescribeIndex",
                                "aoss:ReadDocument",
                                "aoss:WriteDocument",
                            ],
                        }
                    ],
                    "Principal": [role.role_arn],
                },
                {
                    "Rules": [
                        {
                            "ResourceType": "index",
                            "Resource": [f"index/{short}/*"],
                            "Permission": [
                                "aoss:CreateIndex",
                                "aoss:DescribeIndex",
                                "aoss:UpdateIndex",
                                "aoss:DeleteIndex",
                            ],
                        }
                    ],
                    "Principal": [deployer],
                },
            ]
        ),
    )
    collection = aoss.CfnCollection(
        scope,
        "Collection",
        name=short,
        type="VECTORSEARCH",
        standby_replicas="ENABLED" if settings.standby_replicas else "DISABLED",
    )
    collection.node.add_dependency(encryption)
    collection.node.add_dependency(network)
    fields = settings.fields
    # Named after its size too: a new size is a new index next to the old one.
    index_name = f"{DEFAULT_INDEX}-{dimensions}"
    index = aoss.CfnIndex(
        scope,
        "Index",
        collection_endpoint=collection.attr_collection_endpoint,
        index_name=index_name,
        settings=aoss.CfnIndex.IndexSettingsProperty(index=aoss.CfnIndex.IndexProperty(knn=True)),
        mappings=aoss.CfnIndex.MappingsProperty(
            properties={
                # faiss and hnsw: the engine Bedrock requires; l2: the guide's advice for floats.
                fields.vector: aoss.CfnIndex.PropertyMappingProperty(
                    type="knn_vector",
                    dimension=dimensions,
                    method=aoss.CfnIndex.MethodProperty(
                        name="hnsw", engine="faiss", space_type="l2"
                    ),
                ),
                fields.text: aoss.CfnIndex.PropertyMappingProperty(type="text", index=True),
                fields.metadata: aoss.CfnIndex.PropertyMappingProperty(type="text", index=False),
            }
        ),
    )
    index.node.add_dependency(access)
    return StoreWiring(
        storage=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="OPENSEARCH_SERVERLESS",
            opensearch_serverless_configuration=bedrock.CfnKnowledgeBase.OpenSearchServerlessConfigurationProperty(
                collection_arn=collection.attr_arn,
                vector_index_name=index_name,
                field_mapping=bedrock.CfnKnowledgeBase.OpenSearchServerlessFieldMappingProperty(
                    vector_field=fields.vector,
                    text_field=fields.text,
                    metadata_field=fields.metadata,
                ),
            ),
        ),
        role_statements=[
            iam.PolicyStatement(
                sid="UseItsCollection",
                actions=["aoss:APIAccessAll"],
                resources=[collection.attr_arn],
            )
        ],
        prerequisites=[index, access],
    )


def _opensearch_domain(settings: OpenSearchDomainStore) -> StoreWiring:
    fields = settings.fields
    return StoreWiring(
        storage=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="OPENSEARCH_MANAGED_CLUSTER",
            opensearch_managed_cluster_configuration=bedrock.CfnKnowledgeBase.OpenSearchManagedClusterConfigurationProperty(
                domain_arn=settings.domain_arn,
                domain_endpoint=settings.domain_endpoint,
                vector_index_name=settings.index_name,
                field_mapping=bedrock.CfnKnowledgeBase.OpenSearchManagedClusterFieldMappingProperty(
                    vector_field=fields.vector,
                    text_field=fields.text,
                    metadata_field=fields.metadata,
                ),
            ),
        ),
        role_statements=[
            iam.PolicyStatement(
                sid="UseItsDomainIndex",
                actions=["es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
                # OpenSearch authorizes the request's path: the index and what is under it
                # (_search, _bulk, _doc).
                resources=[
                    f"{settings.domain_arn}/{settings.index_name}",
                    f"{settings.domain_arn}/{settings.index_name}/*",
                ],
            ),
            iam.PolicyStatement(
                sid="DescribeItsDomain",
                actions=["es:DescribeDomain"],
                resources=[settings.domain_arn],
            ),
        ],
        wildcards=[
            (f"{settings.domain_arn}/{settings.index_name}/*", reasons.KB_DOMAIN_INDEX_PATHS)
        ],
    )


def _aurora(settings: AuroraStore) -> StoreWiring:
    fields = settings.fields
    return StoreWiring(
        storage=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
            type="RDS",
            rds_configuration=bedrock.CfnKnowledgeBase.RdsConfigurationProperty(
                resource_arn=settings.cluster_arn,
                credentials_secret_arn=settings.secret_arn,
                database_name=settings.database,
                table_name=settings.table,
                field_mapping=bedrock.CfnKnowledgeBase.RdsFieldMappingProperty(
                    primary_key_field=settings.primary_key_field,
                    vector_field=fields.vector,
                    text_field=fields.text,
                    metadata_field=fields.metadata,
                ),
            ),
        ),
        role_statements=[
            iam.PolicyStatement(
                sid="UseItsCluster",
                actions=[
                    "rds:DescribeDBClusters",
                    "rds-data:BatchExecuteStatement",
                    "rds-data:ExecuteStatement",
                ],
                resources=[settings.cluster_arn],
            ),
            iam.PolicyStatement(
                sid="ReadItsDatabaseSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[settings.secret_arn],
            ),
        ],
    )


def _rule(resource: str) -> dict[str, object]:
    return {"ResourceType": "collection", "Resource": [resource]}


def _compact(document: object) -> str:
    """A policy as OpenSearch Serverless wants it: JSON without whitespace."""
    return json.dumps(document, separators=(",", ":"))


def _deploying_role_arn(scope: Construct) -> str:
    """The role CloudFormation deploys with (CDK's bootstrap execution role)."""
    synthesizer = Stack.of(scope).synthesizer
    if not isinstance(synthesizer, DefaultStackSynthesizer):
        raise TypeError("an OpenSearch Serverless store needs CDK's default stack synthesizer")
    # The synthesizer writes ${AWS::AccountId}-style placeholders for CloudFormation to fill.
    return Fn.sub(synthesizer.cloud_formation_execution_role_arn)
