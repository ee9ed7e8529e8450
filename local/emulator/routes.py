"""The route table: Bedrock runtime operations by name, their REST paths and their handlers.

Knowledge base operations (bedrock-agent-runtime's Retrieve, bedrock-agent's ingestion jobs)
have their own table: their paths name a knowledge base instead of a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import unquote

from .converse import handle_converse
from .converse_stream import handle_converse_stream
from .errors import BedrockError
from .invoke import handle_invoke, handle_invoke_stream
from .kb_handlers import (
    KnowledgeBaseHandler,
    handle_get_ingestion_job,
    handle_retrieve,
    handle_start_ingestion_job,
)
from .wire import Handler

_MODEL_PREFIX = "/model/"


@dataclass(frozen=True, slots=True)
class Operation:
    """A runtime operation: `POST /model/{modelId}/<suffix>`, served by `handler` once emulated."""

    name: str
    suffix: str
    handler: Handler | None


# To emulate another operation, give its entry a handler taking an OperationRequest.
OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {
        operation.name: operation
        for operation in (
            Operation("Converse", "converse", handle_converse),
            Operation("ConverseStream", "converse-stream", handle_converse_stream),
            Operation("InvokeModel", "invoke", handle_invoke),
            Operation(
                "InvokeModelWithResponseStream", "invoke-with-response-stream", handle_invoke_stream
            ),
        )
    }
)
_BY_SUFFIX: Mapping[str, Operation] = {
    operation.suffix: operation for operation in OPERATIONS.values()
}


def route(method: str, path: str) -> tuple[Operation, str] | None:
    """Return the operation and decoded model id for a request line, or None if none matches."""
    if method != "POST" or not path.startswith(_MODEL_PREFIX):
        return None
    # botocore percent-encodes the id (':' and '/' of ARNs too), so the first '/' ends it.
    encoded, _, suffix = path[len(_MODEL_PREFIX) :].partition("/")
    operation = _BY_SUFFIX.get(suffix)
    if operation is None or not encoded:
        return None
    return operation, unquote(encoded)


@dataclass(frozen=True, slots=True)
class KnowledgeBaseOperation:
    """A knowledge base operation: its HTTP method, its path (named groups: path parameters)."""

    name: str
    method: str
    path: re.Pattern[str]
    handler: KnowledgeBaseHandler


_INGESTION_JOBS = r"/knowledgebases/(?P<knowledgeBaseId>[^/]+)/datasources/(?P<dataSourceId>[^/]+)"
KNOWLEDGE_BASE_OPERATIONS: tuple[KnowledgeBaseOperation, ...] = (
    KnowledgeBaseOperation(
        "Retrieve",
        "POST",
        re.compile(r"/knowledgebases/(?P<knowledgeBaseId>[^/]+)/retrieve"),
        handle_retrieve,
    ),
    # The service model's requestUri ends with a slash (botocore sends it); a hand-written
    # request without it is served too.
    KnowledgeBaseOperation(
        "StartIngestionJob",
        "PUT",
        re.compile(_INGESTION_JOBS + r"/ingestionjobs/?"),
        handle_start_ingestion_job,
    ),
    KnowledgeBaseOperation(
        "GetIngestionJob",
        "GET",
        re.compile(_INGESTION_JOBS + r"/ingestionjobs/(?P<ingestionJobId>[^/]+)"),
        handle_get_ingestion_job,
    ),
)


def route_knowledge_base(
    method: str, path: str
) -> tuple[KnowledgeBaseOperation, dict[str, str]] | None:
    """Return the knowledge base operation and its decoded path parameters, or None."""
    for operation in KNOWLEDGE_BASE_OPERATIONS:
        matched = operation.path.fullmatch(path) if method == operation.method else None
        if matched is not None:
            return operation, {name: unquote(value) for name, value in matched.groupdict().items()}
    return None


def not_emulated(operation: Operation) -> BedrockError:
    """Return the error for an operation that is routed but not emulated yet."""
    return BedrockError(
        "UnknownOperationException",
        f"{operation.name} is not emulated yet: the local Bedrock emulator serves only "
        f"{', '.join(name for name, op in OPERATIONS.items() if op.handler is not None)} "
        f"(POST /model/{{modelId}}/{operation.suffix}).",
        status=404,
    )


def unknown_route(method: str, path: str) -> BedrockError:
    """Return the error for a request that names no runtime operation."""
    return BedrockError("UnknownOperationException", f"No operation matches {method} {path}.")
