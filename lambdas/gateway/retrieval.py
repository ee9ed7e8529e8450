"""Searching a knowledge base: the options clients send, Bedrock's Retrieve call, the passages.

Both the retrieve route and grounded chat use it. Filters are Bedrock's own RetrievalFilter
(documented by AWS, richer than any translation): the gateway checks their shape so a mistake
is a 400 naming the field, and Bedrock judges what the vector store supports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .bedrock import translate_error
from .errors import ApiError, invalid_field, invalid_request
from .knowledge_bases import KnowledgeBase, KnowledgeBaseKind
from .metering import Usage

if TYPE_CHECKING:
    from .exchange import Exchange

# Retrieve's numberOfResults bounds (bedrock-agent-runtime API reference); 5 is Bedrock's own
# default when the field is left out.
MAX_TOP_K = 100
DEFAULT_TOP_K = 5
# Retrieve's retrievalQuery.text holds at most 20,000 characters.
MAX_QUERY_CHARS = 20_000
_COMPARISONS = frozenset(
    {
        "equals",
        "notEquals",
        "greaterThan",
        "greaterThanOrEquals",
        "lessThan",
        "lessThanOrEquals",
        "in",
        "notIn",
        "startsWith",
        "listContains",
        "stringContains",
    }
)
_GROUPS = frozenset({"andAll", "orAll"})


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalars(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(map(_scalar, value))


_SCALAR = ("a string, number or boolean", _scalar)
# What each comparison compares with (Bedrock's RetrievalFilter reference and examples).
_VALUES: dict[str, tuple[str, Callable[[object], bool]]] = {
    "greaterThan": ("a number", _number),
    "greaterThanOrEquals": ("a number", _number),
    "lessThan": ("a number", _number),
    "lessThanOrEquals": ("a number", _number),
    "in": ("a non-empty list of strings, numbers or booleans", _scalars),
    "notIn": ("a non-empty list of strings, numbers or booleans", _scalars),
    "startsWith": ("a string", lambda value: isinstance(value, str)),
    "stringContains": ("a string", lambda value: isinstance(value, str)),
}
_MAX_FILTER_DEPTH = 5
_SEARCH_TYPES = {"hybrid": "HYBRID", "semantic": "SEMANTIC"}
# Metadata Bedrock adds to every chunk it returns.
CHUNK_ID_KEY = "x-amz-bedrock-kb-chunk-id"
SOURCE_URI_KEY = "x-amz-bedrock-kb-source-uri"


@dataclass(frozen=True, slots=True)
class Search:
    """What to look for: the query, how many passages, which ones (filter), how."""

    query: str
    top_k: int = DEFAULT_TOP_K
    filter: Mapping[str, Any] | None = None
    search_type: str | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """One ranked chunk of a document, with where it came from."""

    text: str
    score: float | None
    source_type: str
    source_uri: str | None
    chunk_id: str | None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self, index: int) -> dict[str, Any]:
        """The passage as the API shows it (`index` counts from 1, as citations do)."""
        return {
            "index": index,
            "text": self.text,
            "score": self.score,
            "source": {"type": self.source_type, "uri": self.source_uri},
            "chunk_id": self.chunk_id,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True, slots=True)
class Retrieved:
    """What a search found and what embedding its query cost."""

    knowledge_base: KnowledgeBase
    passages: tuple[Passage, ...]
    usage: Usage
    cost: Decimal


SEARCH_FIELDS = ("query", "top_k", "filter", "search_type")


def refuse_unknown_fields(
    body: Mapping[str, Any], *, prefix: str = "", also: tuple[str, ...] = ()
) -> None:
    """A 400 naming the first field a search object does not take (`also`: its others)."""
    known = (*also, *SEARCH_FIELDS)
    unknown = sorted(set(body) - set(known))
    if unknown:
        where = f"'{prefix.removesuffix('.')}' has unknown" if prefix else "Unknown"
        raise invalid_request(
            f"{where} fields {unknown}; known: {', '.join(known)}.",
            param=f"{prefix}{unknown[0]}",
        )


def parse_search(body: Mapping[str, Any], *, prefix: str = "", query: object = None) -> Search:
    """Read `query`, `top_k`, `filter` and `search_type` from a request object.

    `prefix` is the fields' place in the body (grounded chat: "knowledge_base."); `query`, when
    given, is the text to search with instead of body["query"].
    """
    text = body.get("query") if query is None else query
    if not isinstance(text, str) or not text.strip():
        raise invalid_field(f"{prefix}query", "a non-empty string", text)
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(
            400,
            f"'{prefix}query' is {len(text)} characters long; Bedrock searches with at most "
            f"{MAX_QUERY_CHARS}.",
            param=f"{prefix}query",
            code="query_too_long",
        )
    top_k = body.get("top_k")
    if top_k is None:
        top_k = DEFAULT_TOP_K
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise invalid_field(f"{prefix}top_k", f"an integer from 1 to {MAX_TOP_K}", top_k)
    filter_ = body.get("filter")
    if filter_ is not None:
        _check_filter(filter_, f"{prefix}filter", 0)
    search_type = body.get("search_type")
    if search_type is not None and search_type not in _SEARCH_TYPES:
        raise invalid_field(f"{prefix}search_type", "'hybrid' or 'semantic'", search_type)
    return Search(
        query=text,
        top_k=top_k,
        filter=filter_,
        search_type=_SEARCH_TYPES[search_type] if search_type is not None else None,
    )


def _check_filter(node: object, param: str, depth: int) -> None:
    """Check a RetrievalFilter's shape: one operator per object, groups of two or more."""
    if depth > _MAX_FILTER_DEPTH:
        raise ApiError(400, f"'{param}' nests filters too deeply.", param=param)
    if not isinstance(node, Mapping) or len(node) != 1:
        raise invalid_field(
            param, "an object with one operator such as equals, in, andAll or orAll", node
        )
    ((operator, operand),) = node.items()
    if operator in _GROUPS:
        if not isinstance(operand, list) or len(operand) < 2:
            raise invalid_field(f"{param}.{operator}", "a list of two or more filters", operand)
        for position, member in enumerate(operand):
            _check_filter(member, f"{param}.{operator}[{position}]", depth + 1)
        return
    if operator not in _COMPARISONS:
        known = ", ".join(sorted(_COMPARISONS | _GROUPS))
        raise ApiError(
            400,
            f"'{param}' has the unknown operator {str(operator)[:40]!r}; known: {known}.",
            param=param,
        )
    if not isinstance(operand, Mapping) or set(operand) != {"key", "value"}:
        raise invalid_field(f"{param}.{operator}", "an object with 'key' and 'value'", operand)
    key = operand["key"]
    if not isinstance(key, str) or not 1 <= len(key) <= 100:
        raise invalid_field(f"{param}.{operator}.key", "a string of 1 to 100 characters", key)
    value = operand["value"]
    expected, fits = _VALUES.get(operator, _SCALAR)
    if not fits(value):
        raise invalid_field(f"{param}.{operator}.value", expected, value)


def retrieve(exchange: Exchange, knowledge_base: KnowledgeBase, search: Search) -> Retrieved:
    """Search `knowledge_base` once (after the team's budget check) and meter the query."""
    from botocore.exceptions import BotoCoreError, ClientError

    exchange.access.admit()
    exchange.budget.require(f"knowledge base {knowledge_base.name}")
    configuration: dict[str, Any] = {"numberOfResults": search.top_k}
    if search.filter is not None:
        configuration["filter"] = search.filter
    if search.search_type is not None:
        configuration["overrideSearchType"] = search.search_type
    assert exchange.retrieval_clients is not None, "the gateway gives every request its pool"
    client = exchange.retrieval_clients.for_budget(exchange.budget)
    try:
        response = client.retrieve(
            knowledgeBaseId=knowledge_base.knowledge_base_id,
            retrievalQuery={"text": search.query},
            retrievalConfiguration={"vectorSearchConfiguration": configuration},
        )
    except (ClientError, BotoCoreError) as error:
        raise _translate(error, knowledge_base) from error
    passages = tuple(_passage(result) for result in response.get("retrievalResults", ()))
    usage, cost = knowledge_base.query_usage(search.query)
    # Metered like a model call: the query's embedding is a call to the embedding model.
    exchange.meter.add(usage, cost)
    if not passages and search.filter is None and knowledge_base.kind is KnowledgeBaseKind.VECTOR:
        # A vector search always finds the nearest chunks; none at all means none are indexed.
        raise ApiError(
            409,
            f"The knowledge base '{knowledge_base.name}' has no indexed documents yet: the "
            f"platform team ingests them with `make ingest KB={knowledge_base.name}`.",
            code="knowledge_base_empty",
            param="knowledge_base",
        )
    return Retrieved(knowledge_base, passages, usage, cost)


def _translate(error: Exception, knowledge_base: KnowledgeBase) -> ApiError:
    """A Retrieve failure as clients should see it."""
    from botocore.exceptions import ClientError

    subject = f"knowledge base '{knowledge_base.name}'"
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    if code in ("DependencyFailedException", "BadGatewayException"):
        # The store, its key or the knowledge base's role failed Bedrock: the deployment's
        # fault; Bedrock's text can name the role and account, so it stays in the logs.
        _log_dependency_failure(subject, error)
        return ApiError(
            502,
            f"Bedrock could not search {subject}: its vector store or role failed ({code}).",
            type_="api_error",
            code="knowledge_base_unavailable",
        )
    if code == "ResourceNotFoundException":
        # The name is configured, so the deployment is at fault, not the request.
        return ApiError(
            502,
            f"Bedrock has no knowledge base behind {subject} (id "
            f"{knowledge_base.knowledge_base_id}): the deployment needs attention.",
            type_="api_error",
            code="knowledge_base_unavailable",
        )
    return translate_error(error, knowledge_base.name, subject=subject)


def _log_dependency_failure(subject: str, error: Exception) -> None:
    import logging

    logging.getLogger(__name__).error("Retrieve failed for %s: %s", subject, error)


def _passage(result: Mapping[str, Any]) -> Passage:
    content = result.get("content") or {}
    location = result.get("location") or {}
    source_type = str(location.get("type") or "")
    metadata = dict(result.get("metadata") or {})
    return Passage(
        text=str(content.get("text") or ""),
        score=result.get("score"),
        source_type=source_type,
        source_uri=_location_uri(location) or _text(metadata.get(SOURCE_URI_KEY)),
        chunk_id=_text(metadata.get(CHUNK_ID_KEY)),
        metadata=metadata,
    )


def _location_uri(location: Mapping[str, Any]) -> str | None:
    """The URI or URL of a result's location, whatever kind of source it is."""
    for name, value in location.items():
        if name != "type" and isinstance(value, Mapping):
            found = value.get("uri") or value.get("url")
            if isinstance(found, str):
                return found
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
