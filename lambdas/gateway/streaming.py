"""Chat completions as server-sent events: ConverseStream events mapped to OpenAI chunks.

https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .chat import FINISH_REASONS
from .errors import ApiError
from .metering import RequestRecord, Usage

DONE = b"data: [DONE]\n\n"


def sse(payload: Mapping[str, Any]) -> bytes:
    """Encode one server-sent event carrying JSON."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


@dataclass(slots=True)
class ChunkMapper:
    """Turns ConverseStream events into chat.completion.chunk bodies (pure, stateful)."""

    completion_id: str
    model: str
    created: int = field(default_factory=lambda: int(time.time()))
    usage: Usage | None = None
    finish_reason: str | None = None
    # Converse content-block index -> OpenAI tool_calls index.
    _tool_indexes: dict[int, int] = field(default_factory=dict)
    text_parts: list[str] = field(default_factory=list)

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        """Return one chunk body."""
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            ],
        }

    def first(self) -> dict[str, Any]:
        """The opening chunk: the assistant role, as OpenAI sends it."""
        return self.chunk({"role": "assistant", "content": ""})

    def feed(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Map one ConverseStream event to zero or more chunks."""
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = start.get("start", {}).get("toolUse")
            if tool is None:
                return []
            index = self._tool_indexes.setdefault(
                start["contentBlockIndex"], len(self._tool_indexes)
            )
            call = {
                "index": index,
                "id": tool["toolUseId"],
                "type": "function",
                "function": {"name": tool["name"], "arguments": ""},
            }
            return [self.chunk({"tool_calls": [call]})]
        if "contentBlockDelta" in event:
            block = event["contentBlockDelta"]
            delta = block.get("delta", {})
            if "text" in delta:
                self.text_parts.append(delta["text"])
                return [self.chunk({"content": delta["text"]})] if delta["text"] else []
            if "toolUse" in delta:
                index = self._tool_indexes.setdefault(
                    block["contentBlockIndex"], len(self._tool_indexes)
                )
                arguments = delta["toolUse"].get("input", "")
                return [
                    self.chunk(
                        {"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}
                    )
                ]
            return []
        if "messageStop" in event:
            self.finish_reason = FINISH_REASONS.get(
                event["messageStop"].get("stopReason", ""), "stop"
            )
            return [self.chunk({}, self.finish_reason)]
        if "metadata" in event:
            usage = event["metadata"].get("usage", {})
            self.usage = Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))
        return []

    def usage_chunk(self) -> dict[str, Any]:
        """The final chunk of `stream_options.include_usage`: no choices, the usage."""
        usage = self.usage or Usage()
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.input_tokens + usage.output_tokens,
            },
        }


def stream_chunks(
    events: Iterator[Mapping[str, Any]],
    mapper: ChunkMapper,
    record: RequestRecord,
    *,
    include_usage: bool,
) -> Iterator[bytes]:
    """Yield the SSE bytes of a whole streamed completion; metering lands on `record`.

    A Bedrock error mid-stream becomes an `error` event (the OpenAI SDK raises it) and the
    stream still ends with [DONE]. Usage is recorded however the stream ends.
    """
    yield sse(mapper.first())
    try:
        for event in events:
            for chunk in mapper.feed(event):
                yield sse(chunk)
    except ApiError as error:
        record.stream_error_status = error.status
        record.error_code = error.code or error.type
        yield sse(error.body())
    finally:
        if mapper.usage is not None:
            record.usage = mapper.usage
    if include_usage and mapper.usage is not None:
        yield sse(mapper.usage_chunk())
    yield DONE
