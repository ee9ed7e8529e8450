"""The route table: Bedrock runtime operations by name, their REST paths and their handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import unquote

from .converse import handle_converse
from .converse_stream import handle_converse_stream
from .errors import BedrockError
from .invoke import handle_invoke, handle_invoke_stream
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
