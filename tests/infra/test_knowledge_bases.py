"""Knowledge bases as code: each store's resources, least-privilege roles, the gateway's reach.

One config with every kind of knowledge base is synthesized once, under the three nag packs
(synthesis fails on an unacknowledged finding) and cfn-lint.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from local.cfn import render
from stacks.components.knowledge_bases import knowledge_base_output_names
from stacks.config import parse_config
from tests.infra.cfn import as_list, policy_statements
from tests.infra.conftest import Synthesized, synthesize

NOVA = "amazon.nova-micro-v1:0"
DOMAIN = "arn:aws:es:us-east-1:123456789012:domain/catalog"
CLUSTER = "arn:aws:rds:us-east-1:123456789012:cluster:orders"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-kb-AbCdEf"
KENDRA = "arn:aws:kendra:us-east-1:123456789012:index/0123abcd-4567-89ab-cdef-0123456789ab"
CONFIG: dict[str, Any] = {
    "deployment": {"region": "us-east-1"},
    "models": {"enabled": [NOVA]},
    "network": {"availability_zones": ["us-east-1a", "us-east-1b"]},
    "api": {
        "teams": {
            "support": {
                "throttle_rate_limit": 5,
                "throttle_burst_limit": 10,
                "knowledge_bases": ["handbook"],
            },
            "sales": {"throttle_rate_limit": 5, "throttle_burst_limit": 10},
        },
    },
    "knowledge_bases": {
        "handbook": {"description": "Employee handbook"},
        "search": {
            "store": "opensearch_serverless",
            "embedding_model": "cohere.embed-multilingual-v3",
            "standby_replicas": True,
            "chunking": "none",
        },
        "catalog": {
            "store": "opensearch_domain",
            "domain_arn": DOMAIN,
            "domain_endpoint": "https://search-catalog.us-east-1.es.amazonaws.com",
            "index_name": "products",
            "dimensions": 512,
        },
        "orders": {
            "store": "aurora",
            "cluster_arn": CLUSTER,
            "secret_arn": SECRET,
            "database": "kb",
            "table": "bedrock_kb.orders",
            "primary_key_field": "id",
            "vector_field": "embedding",
            "text_field": "chunks",
            "metadata_field": "metadata",
            "source_bucket": "orders-documents",
            "source_prefix": "exports/",
        },
        "wiki": {"kind": "kendra", "kendra_index_arn": KENDRA},
        "intranet": {"kind": "kendra"},
    },
}
IGNORED = ["W3005", "W3010"]


@pytest.fixture(scope="module")
def kit() -> Synthesized:
    """Every kind of knowledge base, synthesized with the three nag packs."""
    return synthesize(parse_config(CONFIG, source="kb.toml", env_name="kb"))


def _resources(kit: Synthesized, kind: str) -> dict[str, Any]:
    return dict(kit.stateful.find_resources(kind))


def _knowledge_base(kit: Synthesized, name: str) -> dict[str, Any]:
    for resource in _resources(kit, "AWS::Bedrock::KnowledgeBase").values():
        if resource["Properties"]["Name"] == f"bedrock-kit-kb-{name}":
            return dict(resource["Properties"])
    raise AssertionError(f"no knowledge base {name}")


def _role_statements(kit: Synthesized, name: str) -> list[dict[str, Any]]:
    """The statements of knowledge base `name`'s service role (rendered)."""
    template = kit.stateful.to_json()
    role_arn = _knowledge_base(kit, name)["RoleArn"]["Fn::GetAtt"][0]
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if {"Ref": role_arn} in resource["Properties"]["Roles"]:
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    return render(found)  # type: ignore[no-any-return]


def test_every_template_passes_cfn_lint(kit: Synthesized) -> None:
    for template in kit.templates():
        problems = lint(json.dumps(template.to_json()), config=ManualArgs(ignore_checks=IGNORED))
        assert not problems, [str(p) for p in problems]


def test_s3_vectors_store_is_an_encrypted_bucket_and_an_index_of_the_models_size(
    kit: Synthesized,
) -> None:
    (bucket,) = _resources(kit, "AWS::S3Vectors::VectorBucket").values()
    assert bucket["Properties"]["EncryptionConfiguration"]["SseType"] == "aws:kms"
    (index,) = _resources(kit, "AWS::S3Vectors::Index").values()
    properties = index["Properties"]
    # Titan Text Embeddings V2's default size; Bedrock's text and metadata never filterable.
    assert properties["Dimension"] == 1024
    assert properties["DataType"] == "float32"
    assert properties["MetadataConfiguration"]["NonFilterableMetadataKeys"] == [
        "AMAZON_BEDROCK_TEXT",
        "AMAZON_BEDROCK_METADATA",
    ]
    handbook = _knowledge_base(kit, "handbook")
    assert handbook["StorageConfiguration"]["Type"] == "S3_VECTORS"
    vector = handbook["KnowledgeBaseConfiguration"]["VectorKnowledgeBaseConfiguration"]
    assert render(vector["EmbeddingModelArn"]).endswith(
        "::foundation-model/amazon.titan-embed-text-v2:0"
    )


def test_serverless_collection_is_private_to_bedrock_and_encrypted_with_the_kits_key(
    kit: Synthesized,
) -> None:
    (collection,) = _resources(kit, "AWS::OpenSearchServerless::Collection").values()
    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    assert collection["Properties"]["StandbyReplicas"] == "ENABLED"
    policies = {
        p["Properties"]["Type"]: render(p["Properties"]["Policy"])
        for p in _resources(kit, "AWS::OpenSearchServerless::SecurityPolicy").values()
    }
    network = json.loads(policies["network"])
    assert network[0]["AllowFromPublic"] is False
    assert network[0]["SourceServices"] == ["bedrock.amazonaws.com"]
    assert '"AWSOwnedKey":false' in policies["encryption"]
    (index,) = _resources(kit, "AWS::OpenSearchServerless::Index").values()
    assert index["Properties"]["IndexName"] == "bedrock-knowledge-base-default-index-1024"
    vector = index["Properties"]["Mappings"]["Properties"]["bedrock-knowledge-base-default-vector"]
    assert vector["Dimension"] == 1024
    assert vector["Method"]["Engine"] == "faiss"
    search = _knowledge_base(kit, "search")
    assert search["StorageConfiguration"]["Type"] == "OPENSEARCH_SERVERLESS"
    # The knowledge base's role may use only its own collection.
    statements = _role_statements(kit, "search")
    (aoss,) = [s for s in statements if s["Action"] == "aoss:APIAccessAll"]
    assert aoss["Resource"].startswith("${") and "Collection" in aoss["Resource"]


def test_existing_stores_are_named_and_reached_with_only_their_own_permissions(
    kit: Synthesized,
) -> None:
    catalog = _knowledge_base(kit, "catalog")["StorageConfiguration"]
    assert catalog["OpensearchManagedClusterConfiguration"]["DomainArn"] == DOMAIN
    domain = {a for s in _role_statements(kit, "catalog") for a in as_list(s["Action"])}
    assert {"es:ESHttpGet", "es:DescribeDomain"} <= domain
    by_sid = {s["Sid"]: s for s in _role_statements(kit, "catalog")}
    # OpenSearch authorizes by path: the index and its documents, _search and _bulk under it.
    assert by_sid["UseItsDomainIndex"]["Resource"] == [f"{DOMAIN}/products", f"{DOMAIN}/products/*"]
    orders = _knowledge_base(kit, "orders")["StorageConfiguration"]["RdsConfiguration"]
    assert orders["ResourceArn"] == CLUSTER
    assert orders["CredentialsSecretArn"] == SECRET
    by_sid = {s["Sid"]: s for s in _role_statements(kit, "orders")}
    assert by_sid["ReadItsDatabaseSecret"]["Resource"] == SECRET
    # An existing documents bucket, read under its prefix only, in this account only.
    reads = by_sid["ReadItsDocuments"]
    assert reads["Resource"].endswith(":s3:::orders-documents/exports/*")
    assert reads["Condition"] == {"StringEquals": {"aws:ResourceAccount": "${AWS::AccountId}"}}


def test_a_kendra_index_the_kit_creates_is_genai_encrypted_and_its_role_writes_only_logs(
    kit: Synthesized,
) -> None:
    (index,) = _resources(kit, "AWS::Kendra::Index").values()
    properties = index["Properties"]
    assert properties["Edition"] == "GEN_AI_ENTERPRISE_EDITION"
    assert "KnowledgeBasesKey" in json.dumps(properties["ServerSideEncryptionConfiguration"])
    intranet = _knowledge_base(kit, "intranet")
    arn = intranet["KnowledgeBaseConfiguration"]["KendraKnowledgeBaseConfiguration"]
    assert "KendraIndex" in json.dumps(arn["KendraIndexArn"])
    role_id = properties["RoleArn"]["Fn::GetAtt"][0]
    (role,) = [r for k, r in _resources(kit, "AWS::IAM::Role").items() if k == role_id]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "kendra.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    actions = {
        a
        for policy in _resources(kit, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in as_list(s["Action"])
    }
    assert actions == {
        "cloudwatch:PutMetricData",
        "logs:DescribeLogGroups",
        "logs:CreateLogGroup",
        "logs:DescribeLogStreams",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_kendra_knowledge_base_has_no_store_and_reads_only_its_index(kit: Synthesized) -> None:
    wiki = _knowledge_base(kit, "wiki")
    assert "StorageConfiguration" not in wiki
    assert wiki["KnowledgeBaseConfiguration"] == {
        "Type": "KENDRA",
        "KendraKnowledgeBaseConfiguration": {"KendraIndexArn": KENDRA},
    }
    statements = _role_statements(kit, "wiki")
    assert [(sorted(s["Action"]), s["Resource"]) for s in statements] == [
        (["kendra:DescribeIndex", "kendra:Retrieve"], KENDRA)
    ]


@pytest.mark.parametrize("name", ["handbook", "search", "catalog", "orders"])
def test_each_role_invokes_only_its_own_embedding_model(kit: Synthesized, name: str) -> None:
    invoked = [
        s["Resource"] for s in _role_statements(kit, name) if "bedrock:InvokeModel" in s["Action"]
    ]
    model = CONFIG["knowledge_bases"][name].get("embedding_model", "amazon.titan-embed-text-v2:0")
    assert invoked == [
        f"arn:${{AWS::Partition}}:bedrock:${{AWS::Region}}::foundation-model/{model}"
    ]


def test_service_roles_trust_bedrock_for_this_accounts_knowledge_bases_only(
    kit: Synthesized,
) -> None:
    roles = [
        r
        for r in _resources(kit, "AWS::IAM::Role").values()
        if "bedrock.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(roles) == 6
    for role in roles:
        (trust,) = render(role["Properties"]["AssumeRolePolicyDocument"]["Statement"])
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"},
            "ArnLike": {
                "aws:SourceArn": "arn:${AWS::Partition}:bedrock:${AWS::Region}:"
                "${AWS::AccountId}:knowledge-base/*"
            },
        }


def test_created_documents_bucket_is_encrypted_versioned_logged_and_tls_only(
    kit: Synthesized,
) -> None:
    buckets = [
        b["Properties"]
        for path, b in _resources(kit, "AWS::S3::Bucket").items()
        if "Documents" in path
    ]
    assert len(buckets) == 3  # handbook, search, catalog (orders names its own)
    for bucket in buckets:
        encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
        assert "LoggingConfiguration" in bucket
    policies = json.dumps(
        [p["Properties"] for p in _resources(kit, "AWS::S3::BucketPolicy").values()]
    )
    assert '"aws:SecureTransport": "false"' in policies


def test_data_sources_chunk_as_configured_and_start_syncing_after_deploy(
    kit: Synthesized,
) -> None:
    sources = {
        render(s["Properties"]["Name"]): s["Properties"]
        for s in _resources(kit, "AWS::Bedrock::DataSource").values()
    }
    # Named after their chunking: new settings are a new data source, not a name clash.
    assert set(sources) == {
        "bedrock-kit-kb-handbook-fixed-300-20",
        "bedrock-kit-kb-search-whole",
        "bedrock-kit-kb-catalog-fixed-300-20",
        "bedrock-kit-kb-orders-fixed-300-20",
    }
    handbook = sources["bedrock-kit-kb-handbook-fixed-300-20"]["VectorIngestionConfiguration"]
    assert handbook["ChunkingConfiguration"] == {
        "ChunkingStrategy": "FIXED_SIZE",
        "FixedSizeChunkingConfiguration": {"MaxTokens": 300, "OverlapPercentage": 20},
    }
    search = sources["bedrock-kit-kb-search-whole"]["VectorIngestionConfiguration"]
    assert search["ChunkingConfiguration"] == {"ChunkingStrategy": "NONE"}
    orders = sources["bedrock-kit-kb-orders-fixed-300-20"]["DataSourceConfiguration"]
    assert orders["S3Configuration"]["InclusionPrefixes"] == ["exports/"]
    syncs = [
        json.dumps(r["Properties"])
        for r in kit.stateful.find_resources("Custom::AWS").values()
        if "startIngestionJob" in json.dumps(r["Properties"])
    ]
    assert len(syncs) == 4
    # The sync function may start ingestion jobs of these knowledge bases and nothing else.
    starts = [
        s
        for s in policy_statements(kit.stateful.to_json())
        if "bedrock:StartIngestionJob" in as_list(s["Action"])
    ]
    assert len(starts) == 4
    assert all(set(as_list(s["Action"])) == {"bedrock:StartIngestionJob"} for s in starts)
    assert all("KnowledgeBaseArn" in json.dumps(s["Resource"]) for s in starts)


def test_gateway_may_retrieve_from_exactly_the_knowledge_bases_and_knows_their_ids(
    kit: Synthesized,
) -> None:
    service = kit.service.to_json()
    retrieves = [
        s for s in policy_statements(service) if "bedrock:Retrieve" in as_list(s["Action"])
    ]
    (statement,) = retrieves
    assert statement["Action"] == "bedrock:Retrieve"
    assert len(statement["Resource"]) == 6
    assert all("KnowledgeBaseArn" in json.dumps(arn) for arn in statement["Resource"])
    assert not any(
        "bedrock:RetrieveAndGenerate" in as_list(s["Action"]) for s in policy_statements(service)
    )
    functions = [
        f["Properties"]["Environment"]["Variables"]
        for f in kit.service.find_resources("AWS::Lambda::Function").values()
        if "VpcConfig" in f["Properties"]
    ]
    assert len(functions) == 2
    for variables in functions:
        ids = render(variables["GATEWAY_KNOWLEDGE_BASE_IDS"])
        for name in CONFIG["knowledge_bases"]:
            assert f'"{name}":"${{Import:' in ids


def test_agent_runtime_endpoint_admits_retrieve_on_the_knowledge_bases_for_this_account(
    kit: Synthesized,
) -> None:
    endpoints = [
        e["Properties"]
        for e in kit.network.find_resources("AWS::EC2::VPCEndpoint").values()
        if "bedrock-agent-runtime" in json.dumps(e["Properties"]["ServiceName"])
    ]
    (endpoint,) = endpoints
    assert endpoint["PrivateDnsEnabled"] is True
    (statement,) = render(endpoint["PolicyDocument"]["Statement"])
    assert statement["Action"] == "bedrock:Retrieve"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "${AWS::AccountId}"}}
    assert len(statement["Resource"]) == 6


def test_the_routing_document_carries_each_knowledge_base_and_the_teams_lists(
    kit: Synthesized,
) -> None:
    document = json.loads(kit.config.gateway_routing_json())
    assert set(document["knowledge_bases"]) == set(CONFIG["knowledge_bases"])
    assert document["knowledge_bases"]["wiki"]["embedding_model"] is None
    handbook = document["knowledge_bases"]["handbook"]
    assert handbook["embedding_model"]["id"] == "amazon.titan-embed-text-v2:0"
    assert document["teams"]["support"]["knowledge_bases"] == ["handbook"]
    assert document["teams"]["sales"]["knowledge_bases"] is None


def test_an_environment_without_knowledge_bases_has_none_of_their_resources(
    prod: Synthesized,
) -> None:
    if prod.config.knowledge_bases:
        pytest.skip("prod declares knowledge bases")
    assert prod.stateful.find_resources("AWS::Bedrock::KnowledgeBase") == {}
    endpoints = json.dumps(prod.network.find_resources("AWS::EC2::VPCEndpoint"))
    assert "bedrock-agent-runtime" not in endpoints


def test_outputs_have_exact_keys_make_ingest_reads(kit: Synthesized) -> None:
    outputs = kit.stateful.to_json()["Outputs"]
    for name in ("handbook", "search", "catalog", "orders"):
        for key in knowledge_base_output_names(name):
            assert key in outputs, key
    assert "KnowledgeBasewikiId" in outputs
    assert "KnowledgeBasewikiDataSourceId" not in outputs  # Kendra syncs itself


def test_names_that_look_alike_and_long_names_still_synthesize_distinct_resources() -> None:
    # "handbook-id" once collided with handbook's id output; "handbook-2" with "handbook2";
    # a 20-character environment with a 32-character name overflows S3 Vectors' 63 characters
    # and OpenSearch Serverless's 32, and two long names once shared a truncated name.
    long_a, long_b = (
        "engineering-documentation-a" + "x" * 5,
        "engineering-documentation-b" + "x" * 5,
    )
    names = ["handbook", "handbook-id", "handbook-2", "handbook2", long_a, long_b]
    config = parse_config(
        {
            "deployment": {"region": "us-east-1"},
            "models": {"enabled": [NOVA]},
            "network": {"availability_zones": ["us-east-1a", "us-east-1b"]},
            "knowledge_bases": {
                **{name: {} for name in names},
                "serverless-" + "y" * 21: {"store": "opensearch_serverless"},
                "serverless-" + "z" * 21: {"store": "opensearch_serverless"},
            },
        },
        source="names.toml",
        env_name="customer-support-eu1",
    )
    synthesized = synthesize(config)
    buckets = [
        b["Properties"]["VectorBucketName"]
        for b in synthesized.stateful.find_resources("AWS::S3Vectors::VectorBucket").values()
    ]
    assert len(set(buckets)) == len(names) and all(3 <= len(b) <= 63 for b in buckets)
    collections = [
        c["Properties"]["Name"]
        for c in synthesized.stateful.find_resources(
            "AWS::OpenSearchServerless::Collection"
        ).values()
    ]
    assert len(set(collections)) == 2 and all(len(c) <= 32 for c in collections)
    outputs = synthesized.stateful.to_json()["Outputs"]
    keys = [key for name in names for key in knowledge_base_output_names(name)]
    assert len(set(keys)) == len(keys) and set(keys) <= set(outputs)
