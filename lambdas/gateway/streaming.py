"""Chat completions as server-sent events: ConverseStream events mapped to OpenAI chunks.

https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .chat import FINISH_REASONS
from .errors import ApiError
from .events import DONE, sse
from .metering import Usage

CHARS_PER_TOKEN = 4


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

    def usage_chunk(self, usage: Usage) -> dict[str, Any]:
        """The final chunk of `stream_options.include_usage`: no choices, the usage."""
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

    def usage_or_estimate(self, prompt_chars: int) -> Usage:
        """What Bedrock reported, or, when the stream ended before it did, an estimate."""
        if self.usage is not None:
            return self.usage
        # About four characters a token; marked as an estimate in the log line.
        written = sum(len(part) for part in self.text_parts)
        return Usage(
            input_tokens=math.ceil(prompt_chars / CHARS_PER_TOKEN),
            output_tokens=math.ceil(written / CHARS_PER_TOKEN),
            estimated=True,
        )


StreamEnd = Callable[[Usage, ApiError | None], None]


def stream_chunks(
    events: Iterator[Mapping[str, Any]],
    mapper: ChunkMapper,
    *,
    include_usage: bool,
    prompt_chars: int,
    on_end: StreamEnd,
) -> Iterator[bytes]:
    """Yield the SSE bytes of a whole streamed completion, ending well however it ends.

    Any error after the first byte becomes an `error` event (the OpenAI SDK raises it), and
    the stream still ends with [DONE]. `on_end` gets the usage (reported or estimated) and the
    error, exactly once, even when the consumer stops early.
    """
    error: ApiError | None = None
    try:
        yield sse(mapper.first())
        try:
            for event in events:
                for chunk in mapper.feed(event):
                    yield sse(chunk)
        except ApiError as failure:
            error = failure
        except Exception:
            logging.getLogger(__name__).exception("stream mapping failed")
            error = ApiError(
                502, "The answer stream failed.", type_="api_error", code="stream_failed"
            )
        if error is not None:
            yield sse(error.body())
        if include_usage:
            yield sse(mapper.usage_chunk(mapper.usage_or_estimate(prompt_chars)))
        yield DONE
    finally:
        on_end(mapper.usage_or_estimate(prompt_chars), error)
