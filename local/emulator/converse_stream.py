"""ConverseStream as the emulator serves it: the Converse answer, cut into stream events.

Validation is Converse's; the events are the ones botocore parses from `response["stream"]`:
messageStart, contentBlockStart (tool use), contentBlockDelta, contentBlockStop, messageStop
and metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lambdas.gateway.catalog import Capability

from .converse import answer
from .converse_request import ConverseCall, parse_converse
from .errors import validation
from .eventstream import CONTENT_TYPE
from .wire import OperationRequest, Reply

# Characters per text delta: small enough that a client sees many chunks.
TEXT_CHUNK_CHARS = 12
JSON_CHUNK_CHARS = 8


def _pieces(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def stream_events(call: ConverseCall) -> list[tuple[str, dict[str, Any]]]:
    """Return (event type, payload) pairs for a validated call, in stream order."""
    response = answer(call)
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(response["output"]["message"]["content"]):
        if "toolUse" in block:
            tool = block["toolUse"]
            events.append(
                (
                    "contentBlockStart",
                    {
                        "contentBlockIndex": index,
                        "start": {
                            "toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}
                        },
                    },
                )
            )
            arguments = json.dumps(tool["input"], separators=(",", ":"))
            events.extend(
                (
                    "contentBlockDelta",
                    {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}},
                )
                for piece in _pieces(arguments, JSON_CHUNK_CHARS)
            )
        else:
            events.extend(
                ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
                for piece in _pieces(block["text"], TEXT_CHUNK_CHARS)
            )
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": response["stopReason"]}))
    events.append(("metadata", {"usage": response["usage"], "metrics": response["metrics"]}))
    return events


@dataclass(frozen=True, slots=True)
class StreamReply(Reply):
    """A 200 answer whose body is a sequence of event-stream events, sent as they come."""

    events: tuple[tuple[str, dict[str, Any]], ...] = ()


def handle_converse_stream(request: OperationRequest) -> StreamReply:
    """Serve `POST /model/{modelId}/converse-stream`: Converse's checks, then the events."""
    call = parse_converse(request)
    body = request.body if isinstance(request.body, dict) else {}
    if not call.spec.supports(Capability.STREAMING):
        # Llama 4, for one, answers Converse but not ConverseStream.
        raise validation("The model is unsupported for streaming.")
    if "toolConfig" in body and not call.spec.supports(Capability.STREAMING_TOOL_USE):
        raise validation("This model doesn't support tool use in streaming mode.")
    return StreamReply(200, b"", content_type=CONTENT_TYPE, events=tuple(stream_events(call)))
