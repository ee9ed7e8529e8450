"""The deployment's knowledge bases by name: their Bedrock ids, kind and query-embedding price.

The deployment file carries what synthesis knows (kind, description, the embedding model's
spec); the ids exist only once CloudFormation has created the knowledge bases, so they come
from the environment (GATEWAY_KNOWLEDGE_BASE_IDS), as the teams' inference profiles do.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from .catalog import ModelSpec
from .errors import ApiError
from .metering import Usage
from .routing import Target
from .teams import TeamPolicy

# Bedrock's knowledge base id (the Retrieve API's KnowledgeBaseIdentifier pattern).
_KNOWLEDGE_BASE_ID = re.compile(r"[0-9a-zA-Z]{10}")
_MAX_QUOTED = 100
# Retrieve reports no usage: a query's embedding is estimated at four bytes a token.
CHARS_PER_TOKEN = 4


class KnowledgeBaseKind(StrEnum):
    """How a knowledge base finds passages."""

    # Chunks embedded by a Bedrock embedding model, searched in a vector store.
    VECTOR = "vector"
    # An Amazon Kendra GenAI index (Kendra embeds and ranks; priced per index hour).
    KENDRA = "kendra"


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """One knowledge base the gateway may search."""

    name: str
    knowledge_base_id: str
    kind: KnowledgeBaseKind
    description: str = ""
    # The model that embeds each query (vector knowledge bases): its list price is the cost.
    embedding_model: ModelSpec | None = None

    def embedding_target(self) -> Target | None:
        """The embedding model as a call target (in region: the knowledge base calls it)."""
        if self.embedding_model is None:
            return None
        return Target(spec=self.embedding_model, invocation_id=self.embedding_model.model_id)

    def query_usage(self, query: str) -> tuple[Usage, Decimal]:
        """The estimated tokens and list price of embedding `query` (Kendra: none)."""
        target = self.embedding_target()
        if target is None:
            return Usage(), Decimal(0)
        # Bytes, not characters: four bytes of UTF-8 a token errs high for CJK and emoji, where
        # four characters would count a fraction of the tokens.
        tokens = max(1, math.ceil(len(query.encode()) / CHARS_PER_TOKEN))
        return Usage(input_tokens=tokens, estimated=True), target.token_cost(tokens, 0)

    def describe(self) -> dict[str, object]:
        """The entry GET /v1/knowledge-bases lists."""
        return {
            "id": self.name,
            "object": "knowledge_base",
            "kind": self.kind.value,
            "description": self.description,
            "embedding_model": self.embedding_model.model_id if self.embedding_model else None,
        }


@dataclass(frozen=True, slots=True)
class KnowledgeBases:
    """Every knowledge base of the deployment, by the name clients use."""

    by_name: Mapping[str, KnowledgeBase] = field(default_factory=lambda: MappingProxyType({}))

    def visible_to(self, policy: TeamPolicy | None) -> tuple[KnowledgeBase, ...]:
        """The knowledge bases a caller of `policy`'s team may use (no team: all)."""
        return tuple(
            kb for kb in self.by_name.values() if policy is None or policy.may_search(kb.name)
        )

    def get(self, name: str, policy: TeamPolicy | None) -> KnowledgeBase:
        """The knowledge base `name`: 404 when the deployment has none, 403 outside the team's."""
        quoted = name if len(name) <= _MAX_QUOTED else name[:_MAX_QUOTED] + "..."
        knowledge_base = self.by_name.get(name)
        if knowledge_base is None:
            raise ApiError(
                404,
                f"The knowledge base '{quoted}' does not exist. GET /v1/knowledge-bases lists "
                "the ones you may use.",
                type_="not_found_error",
                code="knowledge_base_not_found",
                param="knowledge_base",
            )
        if policy is not None and not policy.may_search(name):
            raise ApiError(
                403,
                f"Team '{policy.name}' may not use the knowledge base '{quoted}'. "
                "GET /v1/knowledge-bases lists the ones your team may use.",
                type_="permission_error",
                code="knowledge_base_not_allowed",
                param="knowledge_base",
            )
        return knowledge_base

    @classmethod
    def from_data(cls, entries: object, ids_json: str | None) -> KnowledgeBases:
        """Read the deployment file's `knowledge_bases` and their ids from the environment."""
        if entries is None:
            entries = {}
        if not isinstance(entries, Mapping):
            raise ValueError("'knowledge_bases' must be an object of name to knowledge base")
        ids = json.loads(ids_json) if ids_json else {}
        if not isinstance(ids, Mapping):
            raise ValueError("GATEWAY_KNOWLEDGE_BASE_IDS must be an object of name to id")
        found: dict[str, KnowledgeBase] = {}
        for name, data in entries.items():
            if not isinstance(data, Mapping):
                raise ValueError(f"knowledge base {name!r} must be an object")
            knowledge_base_id = ids.get(name)
            if not isinstance(knowledge_base_id, str) or not _KNOWLEDGE_BASE_ID.fullmatch(
                knowledge_base_id
            ):
                raise ValueError(
                    f"knowledge base {name!r} has no valid id in GATEWAY_KNOWLEDGE_BASE_IDS "
                    f"(ten letters or digits), got {knowledge_base_id!r}"
                )
            model = data.get("embedding_model")
            found[str(name)] = KnowledgeBase(
                name=str(name),
                knowledge_base_id=knowledge_base_id,
                kind=KnowledgeBaseKind(str(data.get("kind"))),
                description=str(data.get("description") or ""),
                embedding_model=ModelSpec.from_dict(model) if isinstance(model, Mapping) else None,
            )
        return cls(MappingProxyType(found))


def deployment_entry(
    kind: KnowledgeBaseKind, description: str, embedding_model: ModelSpec | None
) -> dict[str, object]:
    """A knowledge base as the deployment file carries it (the inverse of from_data's part)."""
    return {
        "kind": kind.value,
        "description": description,
        "embedding_model": embedding_model.to_dict() if embedding_model is not None else None,
    }
