"""Chat completions as server-sent events: ConverseStream events mapped to OpenAI chunks.

https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .chat import FINISH_REASONS, answer_text
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
    # The tool whose input is the answer (structured output through a forced tool): its input
    # streams as the message content, and calling it ends the answer normally.
    answer_tool: str | None = None
    # The content block of the answer tool's (first) call; text before it is not the answer.
    _answer_block: int | None = None
    # With an answer tool, text is held until it is known whether the tool is called.
    _held_text: list[str] = field(default_factory=list)
    # Grounded chat: extension fields of the opening chunk (the citations, known before the
    # answer), and the query's embedding tokens the usage chunk adds.
    opening: Mapping[str, Any] = field(default_factory=dict)
    retrieval_tokens: int | None = None

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
        return {**self.chunk({"role": "assistant", "content": ""}), **self.opening}

    def feed(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Map one ConverseStream event to zero or more chunks."""
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = start.get("start", {}).get("toolUse")
            if tool is None:
                return []
            if self.answer_tool is not None and tool.get("name") == self.answer_tool:
                if self._answer_block is None:
                    self._answer_block = start["contentBlockIndex"]
                    self._held_text.clear()  # the call is the answer, not the words before it
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
                if self.answer_tool is not None:
                    if self._answer_block is None:
                        self._held_text.append(delta["text"])
                    return []
                self.text_parts.append(delta["text"])
                return [self.chunk({"content": delta["text"]})] if delta["text"] else []
            if "toolUse" in delta and self.answer_tool is not None:
                if block["contentBlockIndex"] != self._answer_block:
                    return []  # a second call of the answer tool: the first one answered
                text = delta["toolUse"].get("input", "")
                self.text_parts.append(text)
                return [self.chunk({"content": text})] if text else []
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
            chunks = []
            if self._held_text:
                # No answer-tool call: the model answered in words (JSON, if it complied).
                text = answer_text("".join(self._held_text))
                self._held_text.clear()
                self.text_parts.append(text)
                chunks.append(self.chunk({"content": text}))
            answered = self._answer_block is not None and not self._tool_indexes
            if answered and self.finish_reason == "tool_calls":
                self.finish_reason = "stop"  # the answer tool's call is the answer
            return [*chunks, self.chunk({}, self.finish_reason)]
        if "metadata" in event:
            usage = event["metadata"].get("usage", {})
            self.usage = Usage(int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))
        return []

    def usage_chunk(self, usage: Usage) -> dict[str, Any]:
        """The final chunk of `stream_options.include_usage`: no choices, the usage."""
        counts = {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
        }
        if self.retrieval_tokens is not None:
            counts["retrieval_tokens"] = self.retrieval_tokens
            counts["total_tokens"] += self.retrieval_tokens
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": counts,
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


def as_stream_events(response: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """A whole Converse answer as the ConverseStream events that would have carried it."""
    message = response.get("output", {}).get("message", {})
    yield {"messageStart": {"role": message.get("role", "assistant")}}
    for index, block in enumerate(message.get("content", [])):
        if "text" in block:
            yield {
                "contentBlockDelta": {"contentBlockIndex": index, "delta": {"text": block["text"]}}
            }
        elif "toolUse" in block:
            tool = block["toolUse"]
            start = {"toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"]}}
            yield {"contentBlockStart": {"contentBlockIndex": index, "start": start}}
            arguments = json.dumps(tool.get("input", {}), separators=(",", ":"))
            delta = {"toolUse": {"input": arguments}}
            yield {"contentBlockDelta": {"contentBlockIndex": index, "delta": delta}}
        yield {"contentBlockStop": {"contentBlockIndex": index}}
    yield {"messageStop": {"stopReason": response.get("stopReason", "end_turn")}}
    yield {"metadata": {"usage": response.get("usage", {}), "metrics": response.get("metrics", {})}}


StreamEnd = Callable[[Usage, ApiError | None], None]


class StreamChunks:
    """The SSE bytes of a whole streamed completion, ending well however it ends.

    Any error after the first byte becomes an `error` event (the OpenAI SDK raises it), and
    the stream still ends with [DONE]. `on_end` gets the usage (reported or estimated) and the
    error exactly once: at the end, when the consumer stops early, or on `close` even if no
    byte was ever asked for (an opened model stream is billed whether or not it is read).
    A stream still running when `remaining()` reaches zero is cut with a timeout error: the
    function's own time limit would otherwise end it with no answer, no log line and no charge.
    """

    def __init__(
        self,
        events: Iterator[Mapping[str, Any]],
        mapper: ChunkMapper,
        *,
        include_usage: bool,
        prompt_chars: int,
        on_end: StreamEnd,
        remaining: Callable[[], float] = lambda: math.inf,
    ) -> None:
        self._events = events
        self._mapper = mapper
        self._include_usage = include_usage
        self._prompt_chars = prompt_chars
        self._on_end: StreamEnd | None = on_end
        self._remaining = remaining
        self._error: ApiError | None = None
        self._chunks: Generator[bytes] = self._produce()

    def __iter__(self) -> StreamChunks:
        """The stream is its own iterator."""
        return self

    def __next__(self) -> bytes:
        """The next SSE event's bytes."""
        return next(self._chunks)

    def close(self) -> None:
        """Stop: close the model's stream and report the usage, if not done yet."""
        self._chunks.close()
        self._end()

    def _end(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end(self._mapper.usage_or_estimate(self._prompt_chars), self._error)

    def _produce(self) -> Generator[bytes]:
        mapper = self._mapper
        try:
            yield sse(mapper.first())
            try:
                for event in self._events:
                    for chunk in mapper.feed(event):
                        yield sse(chunk)
                    if self._remaining() <= 0 and "metadata" not in event:
                        raise ApiError(
                            504,
                            "The answer was cut: it outlasted the gateway's time limit for one "
                            "streamed completion.",
                            type_="timeout_error",
                            code="stream_timeout",
                        )
            except ApiError as failure:
                self._error = failure
            except Exception:
                logging.getLogger(__name__).exception("stream mapping failed")
                self._error = ApiError(
                    502, "The answer stream failed.", type_="api_error", code="stream_failed"
                )
            if self._error is not None:
                yield sse(self._error.body())
            if self._include_usage:
                yield sse(mapper.usage_chunk(mapper.usage_or_estimate(self._prompt_chars)))
            yield DONE
        finally:
            self._end()
