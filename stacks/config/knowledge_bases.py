"""[knowledge_bases.NAME] tables: retrieval-augmented generation over a team's documents."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, StrictBool, StrictInt, TypeAdapter, model_validator

from lambdas.gateway.catalog import Modality, ModelSpec
from lambdas.gateway.knowledge_bases import KnowledgeBaseKind
from stacks.config.base import Problem, Section
from stacks.config.patterns import form_pattern

# Each chunk: at most this many tokens (Bedrock's default chunking makes chunks of about 300,
# docs.aws.amazon.com/bedrock/latest/userguide/kb-chunking.html); hierarchical levels stop at
# 8,192 (AWS::Bedrock::DataSource), which bounds what any embedding model reads at once.
DEFAULT_CHUNK_TOKENS = 300
MAX_CHUNK_TOKENS = 8192
DEFAULT_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"

BUCKET = form_pattern(
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "an S3 bucket name (lowercase letters, digits, '.', '-')"
)
DOMAIN_ARN = form_pattern(
    r"^arn:aws[a-z-]*:es:[a-z0-9-]+:\d{12}:domain/[a-z][a-z0-9-]{2,27}$",
    "an OpenSearch Service domain ARN (arn:aws:es:REGION:ACCOUNT:domain/NAME)",
)
DOMAIN_ENDPOINT = form_pattern(
    r"^https://[A-Za-z0-9.-]+$", "the domain's https:// endpoint, without a path"
)
CLUSTER_ARN = form_pattern(
    r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[a-zA-Z0-9-]{1,63}$",
    "an Aurora cluster ARN (arn:aws:rds:REGION:ACCOUNT:cluster:NAME)",
)
SECRET_ARN = form_pattern(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[a-zA-Z0-9!/_+=.@-]{1,512}$",
    "a Secrets Manager secret ARN",
)
KENDRA_INDEX_ARN = form_pattern(
    r"^arn:aws[a-z-]*:kendra:[a-z0-9-]+:\d{12}:index/[a-zA-Z0-9][a-zA-Z0-9-]{35}$",
    "an Amazon Kendra index ARN (arn:aws:kendra:REGION:ACCOUNT:index/ID)",
)
SQL_NAME = form_pattern(r"^[a-zA-Z0-9_.-]{1,63}$", "a database, table or column name (max 63)")
INDEX_NAME = form_pattern(r"^[a-z0-9][a-z0-9._-]{0,254}$", "an index name in lowercase")
FIELD = form_pattern(r"^[A-Za-z0-9_.-]{1,63}$", "a field name: letters, digits, '_', '.', '-'")
# A knowledge base name also names Bedrock resources: "([0-9a-zA-Z][_-]?){1,100}" (no "--").
KB_NAME = form_pattern(
    r"^[a-z](-?[a-z0-9])*$", "a name of lowercase letters and digits, single '-' between (max 32)"
)


class VectorStore(StrEnum):
    """Where a vector knowledge base keeps its embeddings."""

    # Amazon S3 Vectors: a vector bucket and index the kit creates; billed per use, no idle cost.
    S3_VECTORS = "s3_vectors"
    # An OpenSearch Serverless vector collection the kit creates: billed per OCU-hour, idle too.
    OPENSEARCH_SERVERLESS = "opensearch_serverless"
    # An existing OpenSearch Service domain and index (named by ARN).
    OPENSEARCH_DOMAIN = "opensearch_domain"
    # An existing Aurora PostgreSQL (pgvector) cluster and table (named by ARN).
    AURORA = "aurora"


class Chunking(StrEnum):
    """How documents are split before embedding."""

    FIXED_SIZE = "fixed_size"
    # One chunk per document (pre-split documents).
    NONE = "none"


_STORE_KEYS: Mapping[VectorStore, frozenset[str]] = {
    VectorStore.S3_VECTORS: frozenset(),
    VectorStore.OPENSEARCH_SERVERLESS: frozenset({"standby_replicas"}),
    VectorStore.OPENSEARCH_DOMAIN: frozenset(
        {"domain_arn", "domain_endpoint", "index_name", "vector_field", "text_field"}
        | {"metadata_field"}
    ),
    VectorStore.AURORA: frozenset(
        {"cluster_arn", "secret_arn", "database", "table", "primary_key_field", "vector_field"}
        | {"text_field", "metadata_field"}
    ),
}
_REQUIRED_KEYS: Mapping[VectorStore, tuple[str, ...]] = {
    VectorStore.OPENSEARCH_DOMAIN: ("domain_arn", "domain_endpoint", "index_name"),
    # Your table's columns: Bedrock has no default names for them.
    VectorStore.AURORA: (
        "cluster_arn",
        "secret_arn",
        "database",
        "table",
        "primary_key_field",
        "vector_field",
        "text_field",
        "metadata_field",
    ),
}
_VECTOR_KEYS = frozenset(
    {"embedding_model", "dimensions", "store", "source_bucket", "source_prefix", "chunking"}
    | {"chunk_max_tokens", "chunk_overlap_percent"}
    | {key for keys in _STORE_KEYS.values() for key in keys}
)


class _KnowledgeBaseSettings(Section):
    """One [knowledge_bases.NAME] table."""

    kind: KnowledgeBaseKind = KnowledgeBaseKind.VECTOR
    description: str = Field(default="", max_length=200)
    # --- vector knowledge bases ---
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # Vector size; unset: the embedding model's default.
    dimensions: StrictInt | None = Field(default=None, ge=1, le=4096)
    store: VectorStore = VectorStore.S3_VECTORS
    # An existing bucket holding the documents; unset: the kit creates one.
    source_bucket: str | None = Field(default=None, pattern=BUCKET)
    # Only documents under this prefix (Bedrock takes one inclusion prefix).
    source_prefix: str | None = Field(default=None, min_length=1, max_length=300)
    chunking: Chunking = Chunking.FIXED_SIZE
    chunk_max_tokens: StrictInt = Field(default=DEFAULT_CHUNK_TOKENS, ge=20, le=MAX_CHUNK_TOKENS)
    chunk_overlap_percent: StrictInt = Field(default=20, ge=1, le=99)
    # OpenSearch Serverless: standby replicas in a second zone (production; twice the OCUs).
    standby_replicas: StrictBool = False
    # OpenSearch Service domain (existing).
    domain_arn: str | None = Field(default=None, pattern=DOMAIN_ARN)
    domain_endpoint: str | None = Field(default=None, pattern=DOMAIN_ENDPOINT)
    index_name: str | None = Field(default=None, pattern=INDEX_NAME)
    # Aurora PostgreSQL with pgvector (existing); the secret holds the database credentials.
    cluster_arn: str | None = Field(default=None, pattern=CLUSTER_ARN)
    secret_arn: str | None = Field(default=None, pattern=SECRET_ARN)
    database: str | None = Field(default=None, pattern=SQL_NAME)
    table: str | None = Field(default=None, pattern=SQL_NAME)
    primary_key_field: str | None = Field(default=None, pattern=FIELD)
    # Field names in an existing store (the defaults are Bedrock's own for stores it creates).
    vector_field: str | None = Field(default=None, pattern=FIELD)
    text_field: str | None = Field(default=None, pattern=FIELD)
    metadata_field: str | None = Field(default=None, pattern=FIELD)
    # --- kendra knowledge bases ---
    # An existing Amazon Kendra GenAI Enterprise index; unset: the kit creates one (billed by
    # the hour from its creation, used or not: see docs).
    kendra_index_arn: str | None = Field(default=None, pattern=KENDRA_INDEX_ARN)
    # Where `make run` finds the documents (default local/kb/NAME).
    local_folder: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _fits_its_kind(self) -> Self:
        given = set(self.model_fields_set)
        if self.kind is KnowledgeBaseKind.KENDRA:
            stray = sorted(given & _VECTOR_KEYS)
            if stray:
                raise Problem(stray[0], "only for knowledge bases of kind 'vector'")
            return self
        if "kendra_index_arn" in given:
            raise Problem("kendra_index_arn", "only for knowledge bases of kind 'kendra'")
        allowed = _STORE_KEYS[self.store]
        for store, keys in _STORE_KEYS.items():
            stray = sorted((given & keys) - allowed)
            if store is not self.store and stray:
                raise Problem(stray[0], f"only with store '{store.value}'")
        for key in _REQUIRED_KEYS.get(self.store, ()):
            if getattr(self, key) is None:
                raise Problem(key, f"required with store '{self.store.value}'")
        stray = sorted({"chunk_max_tokens", "chunk_overlap_percent"} & given)
        if self.chunking is Chunking.NONE and stray:
            raise Problem(stray[0], "only with chunking 'fixed_size'")
        return self


class KnowledgeBaseConfig(_KnowledgeBaseSettings):
    """One knowledge base: its kind, documents, embedding model and store."""

    name: str

    @property
    def bedrock_field_mapping(self) -> tuple[str, str, str]:
        """The vector, text and metadata field names in the store (Bedrock's own defaults)."""
        # The names Bedrock gives the fields of stores it creates for a knowledge base (Aurora's
        # columns are required in config instead).
        defaults = (
            "bedrock-knowledge-base-default-vector",
            "AMAZON_BEDROCK_TEXT_CHUNK",
            "AMAZON_BEDROCK_METADATA",
        )
        return (
            self.vector_field or defaults[0],
            self.text_field or defaults[1],
            self.metadata_field or defaults[2],
        )

    def embedding_spec(self, catalog: Mapping[str, ModelSpec]) -> ModelSpec:
        """The catalog entry of the embedding model, checked for knowledge-base use."""
        spec = catalog.get(self.embedding_model)
        key = f"knowledge_bases.{self.name}.embedding_model"
        if spec is None or spec.modality is not Modality.EMBEDDING:
            usable = ", ".join(sorted(m for m, s in catalog.items() if s.knowledge_base_dimensions))
            raise Problem(
                key, f"{self.embedding_model!r} is not an embedding model; use one of {usable}"
            )
        if not spec.knowledge_base_dimensions:
            raise Problem(key, f"AWS does not list {self.embedding_model} for knowledge bases")
        return spec

    def check_chunk_size(self, spec: ModelSpec) -> None:
        """Refuse fixed-size chunks longer than the embedding model reads at once."""
        if self.chunking is Chunking.FIXED_SIZE and self.chunk_max_tokens > spec.context_window:
            raise Problem(
                f"knowledge_bases.{self.name}.chunk_max_tokens",
                f"{spec.model_id} embeds at most {spec.context_window} tokens at once, so "
                f"chunks of {self.chunk_max_tokens} would be cut",
            )

    def vector_dimensions(self, spec: ModelSpec) -> int:
        """The vector size: config's, else the model's default (first listed)."""
        if self.dimensions is None:
            return spec.knowledge_base_dimensions[0]
        if self.dimensions not in spec.knowledge_base_dimensions:
            sizes = ", ".join(str(size) for size in spec.knowledge_base_dimensions)
            raise Problem(
                f"knowledge_bases.{self.name}.dimensions",
                f"{spec.model_id} embeds at {sizes} dimensions, not {self.dimensions}",
            )
        return self.dimensions


_TABLES = TypeAdapter(
    dict[Annotated[str, Field(pattern=KB_NAME, max_length=32)], _KnowledgeBaseSettings]
)


def knowledge_bases_from_tables(tables: object) -> tuple[KnowledgeBaseConfig, ...]:
    """Validate the [knowledge_bases] tables into one KnowledgeBaseConfig per name."""
    if not isinstance(tables, dict):
        raise ValueError("must be tables, one [knowledge_bases.NAME] per knowledge base")
    settings = _TABLES.validate_python(tables)
    # Only the keys the file set: the table's rules tell a given key from a default.
    return tuple(
        KnowledgeBaseConfig(name=name, **table.model_dump(exclude_unset=True))
        for name, table in settings.items()
    )
