"""The route table: Bedrock runtime operations by name, their REST paths and their handlers.

Knowledge base operations (bedrock-agent-runtime's Retrieve, bedrock-agent's ingestion jobs)
have their own table: their paths name a knowledge base instead of a model. So does
ApplyGuardrail, whose path names a guardrail and its version, and so do sagemaker-runtime's
InvokeEndpoint operations, whose paths name a SageMaker endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic
from urllib.parse import unquote

from .converse import handle_converse
from .converse_stream import handle_converse_stream
from .errors import BedrockError
from .guardrail_apply import handle_apply_guardrail
from .guardrails import GuardrailStore
from .invoke import handle_invoke, handle_invoke_stream
from .kb_handlers import handle_get_ingestion_job, handle_retrieve, handle_start_ingestion_job
from .kb_store import KnowledgeBaseStore
from .sagemaker import SageMakerHandler, handle_invoke_endpoint, handle_invoke_endpoint_stream
from .wire import Handler, OperationRequest, Reply, StoreRequest, StoreT

_MODEL_PREFIX = "/model/"
# A model operation's handler: the request, and the guardrails a guardrailConfig may name.
RuntimeHandler = Callable[[OperationRequest, GuardrailStore], Reply]


@dataclass(frozen=True, slots=True)
class Operation:
    """A runtime operation: `POST /model/{modelId}/<suffix>`, served by `handler` once emulated."""

    name: str
    suffix: str
    handler: RuntimeHandler | None


def _unguarded(handler: Handler) -> RuntimeHandler:
    """Adapt a handler that takes no guardrailConfig (InvokeModel's guardrail headers)."""

    def serve(request: OperationRequest, _guardrails: GuardrailStore) -> Reply:
        return handler(request)

    return serve


# To emulate another operation, give its entry a handler taking an OperationRequest (and the
# guardrails). Emulator's choice: InvokeModel's guardrail headers are accepted and ignored.
OPERATIONS: Mapping[str, Operation] = MappingProxyType(
    {
        operation.name: operation
        for operation in (
            Operation("Converse", "converse", handle_converse),
            Operation("ConverseStream", "converse-stream", handle_converse_stream),
            Operation("InvokeModel", "invoke", _unguarded(handle_invoke)),
            Operation(
                "InvokeModelWithResponseStream",
                "invoke-with-response-stream",
                _unguarded(handle_invoke_stream),
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
class StoreOperation(Generic[StoreT]):
    """An operation on a stored resource: its HTTP method, its path (named groups: parameters)."""

    name: str
    method: str
    path: re.Pattern[str]
    handler: Callable[[StoreRequest[StoreT]], Reply]


def route_store(
    operations: Sequence[StoreOperation[StoreT]], method: str, path: str
) -> tuple[StoreOperation[StoreT], dict[str, str]] | None:
    """Return the operation of `operations` serving `path` and its decoded parameters, or None."""
    for operation in operations:
        matched = operation.path.fullmatch(path) if method == operation.method else None
        if matched is not None:
            return operation, {name: unquote(value) for name, value in matched.groupdict().items()}
    return None


_INGESTION_JOBS = r"/knowledgebases/(?P<knowledgeBaseId>[^/]+)/datasources/(?P<dataSourceId>[^/]+)"
KNOWLEDGE_BASE_OPERATIONS: tuple[StoreOperation[KnowledgeBaseStore], ...] = (
    StoreOperation(
        "Retrieve",
        "POST",
        re.compile(r"/knowledgebases/(?P<knowledgeBaseId>[^/]+)/retrieve"),
        handle_retrieve,
    ),
    # The service model's requestUri ends with a slash (botocore sends it); a hand-written
    # request without it is served too.
    StoreOperation(
        "StartIngestionJob",
        "PUT",
        re.compile(_INGESTION_JOBS + r"/ingestionjobs/?"),
        handle_start_ingestion_job,
    ),
    StoreOperation(
        "GetIngestionJob",
        "GET",
        re.compile(_INGESTION_JOBS + r"/ingestionjobs/(?P<ingestionJobId>[^/]+)"),
        handle_get_ingestion_job,
    ),
)


# The identifier may be empty (the service model's pattern allows it): Bedrock then finds no
# guardrail, and so does the emulator.
GUARDRAIL_OPERATIONS: tuple[StoreOperation[GuardrailStore], ...] = (
    StoreOperation(
        "ApplyGuardrail",
        "POST",
        re.compile(
            r"/guardrail/(?P<guardrailIdentifier>[^/]*)/version/(?P<guardrailVersion>[^/]*)/apply"
        ),
        handle_apply_guardrail,
    ),
)


@dataclass(frozen=True, slots=True)
class SageMakerOperation:
    """A sagemaker-runtime operation: `POST /endpoints/{EndpointName}/<suffix>`."""

    name: str
    suffix: str
    handler: SageMakerHandler


_ENDPOINT_PREFIX = "/endpoints/"
SAGEMAKER_OPERATIONS: Mapping[str, SageMakerOperation] = MappingProxyType(
    {
        operation.name: operation
        for operation in (
            SageMakerOperation("InvokeEndpoint", "invocations", handle_invoke_endpoint),
            SageMakerOperation(
                "InvokeEndpointWithResponseStream",
                "invocations-response-stream",
                handle_invoke_endpoint_stream,
            ),
        )
    }
)
_SAGEMAKER_BY_SUFFIX: Mapping[str, SageMakerOperation] = {
    operation.suffix: operation for operation in SAGEMAKER_OPERATIONS.values()
}


def route_sagemaker(method: str, path: str) -> tuple[SageMakerOperation, str] | None:
    """Return the sagemaker-runtime operation and decoded endpoint name, or None."""
    if method != "POST" or not path.startswith(_ENDPOINT_PREFIX):
        return None
    encoded, _, suffix = path[len(_ENDPOINT_PREFIX) :].partition("/")
    operation = _SAGEMAKER_BY_SUFFIX.get(suffix)
    if operation is None or not encoded:
        return None
    return operation, unquote(encoded)


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
