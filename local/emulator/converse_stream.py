"""ConverseStream as the emulator serves it: the Converse answer, cut into stream events.

Validation is Converse's; the events are the ones botocore parses from `response["stream"]`:
messageStart, contentBlockStart (tool use), contentBlockDelta, contentBlockStop, messageStop
and metadata (with the guardrail's trace when one was asked for).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.gateway.catalog import Capability

from .converse import answer
from .converse_request import ConverseCall, parse_converse
from .errors import validation
from .eventstream import CONTENT_TYPE
from .guardrail_converse import INTERVENED, guard, guardrail_use
from .guardrails import GuardrailStore
from .wire import OperationRequest, Reply

# Characters per text delta: small enough that a client sees many chunks.
TEXT_CHUNK_CHARS = 12
JSON_CHUNK_CHARS = 8


def _pieces(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def stream_events(call: ConverseCall) -> list[tuple[str, dict[str, Any]]]:
    """Return (event type, payload) pairs for a validated call, in stream order."""
    return response_events(answer(call))


def response_events(
    response: Mapping[str, Any], cut: tuple[int, int] | None = None, *, whole_text: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """Return the events that stream a Converse response body, its trace in the metadata.

    `cut` (content block index, text offset) ends the stream after the chunk holding that
    offset, with stopReason guardrail_intervened: an async guardrail stopping the answer.
    `whole_text` sends each text in one delta.
    """
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    stop_reason = response["stopReason"]
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
            text = block["text"]
            pieces = [text] if whole_text else list(_pieces(text, TEXT_CHUNK_CHARS))
            if cut is not None and cut[0] == index:
                # The client has seen every chunk up to the one where the blocked text ends.
                pieces = pieces[: (cut[1] - 1) // TEXT_CHUNK_CHARS + 1]
                stop_reason = INTERVENED
            events.extend(
                ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
                for piece in pieces
            )
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        if cut is not None and cut[0] == index:
            break
    events.append(("messageStop", {"stopReason": stop_reason}))
    metadata = {"usage": response["usage"], "metrics": response["metrics"]}
    if "trace" in response:
        metadata["trace"] = response["trace"]
    events.append(("metadata", metadata))
    return events


def guarded_events(
    request: OperationRequest, call: ConverseCall, guardrails: GuardrailStore
) -> list[tuple[str, dict[str, Any]]]:
    """Return the events of a call, through the guardrail its guardrailConfig names if any."""
    use = guardrail_use(request.body, guardrails, streaming=True)
    if use is None:
        return stream_events(call)
    guarded = guard(use, call, request.body, answer)
    if not use.asynchronous or guarded.model_response is None:
        # sync (and a blocked input in either mode): the guardrail's verdict is streamed.
        # Emulator's choice: blocked messaging, which no model generates, comes in one delta.
        blocked = guarded.response["stopReason"] == INTERVENED
        return response_events(guarded.response, whole_text=blocked)
    # async: the model's chunks go out as they come, unmasked (Bedrock cannot mask in async
    # mode), until the chunk where blocked text appears; the trace still reports everything.
    streamed = dict(guarded.model_response)
    if "trace" in guarded.response:
        streamed["trace"] = guarded.response["trace"]
    return response_events(streamed, guarded.block_end)


@dataclass(frozen=True, slots=True)
class StreamReply(Reply):
    """A 200 answer whose body is a sequence of event-stream events, sent as they come."""

    events: tuple[tuple[str, dict[str, Any]], ...] = ()


def handle_converse_stream(request: OperationRequest, guardrails: GuardrailStore) -> StreamReply:
    """Serve `POST /model/{modelId}/converse-stream`: Converse's checks, then the events.

    A guardrail that cannot be found is an error before the stream starts.
    """
    call = parse_converse(request)
    body = request.body if isinstance(request.body, dict) else {}
    if not call.spec.supports(Capability.STREAMING):
        # Llama 4, for one, answers Converse but not ConverseStream.
        raise validation("The model is unsupported for streaming.")
    if "toolConfig" in body and not call.spec.supports(Capability.STREAMING_TOOL_USE):
        raise validation("This model doesn't support tool use in streaming mode.")
    events = guarded_events(request, call, guardrails)
    return StreamReply(200, b"", content_type=CONTENT_TYPE, events=tuple(events))
