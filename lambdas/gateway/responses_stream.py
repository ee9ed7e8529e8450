"""A streamed chat completion's SSE chunks re-emitted as the Responses API's streaming events.

https://platform.openai.com/docs/api-reference/responses-streaming
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Mapping
from typing import Any

from .responses_api import (
    finished,
    function_call_item,
    grounding_fields,
    message_id,
    output_text,
    response_usage,
)


class ResponseEvents:
    """The Responses events of one streamed chat completion, ending well however it ends.

    The chat stream's error event becomes an `error` event and `response.failed`; otherwise
    the stream ends with `response.completed` (or `response.incomplete`), usage included.
    `close` closes the chat stream too: its end is what meters and charges the request.
    """

    def __init__(self, chunks: Iterator[bytes], base: Mapping[str, Any]) -> None:
        self._chunks = chunks
        self._events: Generator[bytes] = self._produce(_Translator(base))

    def __iter__(self) -> ResponseEvents:
        """The stream is its own iterator."""
        return self

    def __next__(self) -> bytes:
        """The next SSE event's bytes."""
        return next(self._events)

    def close(self) -> None:
        """Stop, and close the chat stream (which reports the usage), if not done yet."""
        self._events.close()
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def _produce(self, translator: _Translator) -> Generator[bytes]:
        try:
            for payload in _chat_payloads(self._chunks):
                for event in translator.feed(payload):
                    yield _sse(event)
        except Exception:
            logging.getLogger(__name__).exception("responses stream mapping failed")
            translator.fail({"message": "The answer stream failed.", "code": "stream_failed"})
        for event in translator.finish():
            yield _sse(event)


def _chat_payloads(chunks: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    """The JSON of each `data:` event of a chat stream ([DONE] has none)."""
    pending = b""
    # Read to the very end, past [DONE]: the chat stream meters the request as it ends.
    for chunk in chunks:
        pending += chunk
        *blocks, pending = pending.split(b"\n\n")
        for block in blocks:
            data = block.removeprefix(b"data: ")
            if data != block and data != b"[DONE]":
                yield json.loads(data)


def _sse(event: Mapping[str, Any]) -> bytes:
    data = json.dumps(event, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


class _Translator:
    """Chat chunk bodies in, Responses events out (pure, stateful)."""

    def __init__(self, base: Mapping[str, Any]) -> None:
        self._base = base
        self._sequence = 0
        self._model: str | None = None
        # Output items by output_index; the open one (if any) is the last.
        self._items: list[dict[str, Any]] = []
        self._open = False
        self._messages = 0
        self._text: list[str] = []
        # Chat tool_calls index -> output_index of its function_call item.
        self._calls: dict[int, int] = {}
        self._finish_reason: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._error: Mapping[str, Any] | None = None
        # Grounded answers: the citations the first chat chunk carries.
        self._grounding: dict[str, Any] = {}

    def feed(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The events of one chat chunk (the first one also opens the response)."""
        events: list[dict[str, Any]] = []
        if self._model is None:
            self._model = str(payload.get("model") or self._base["model"])
            self._grounding = grounding_fields(payload)
            events += [
                self._event("response.created", response=self._response("in_progress")),
                self._event("response.in_progress", response=self._response("in_progress")),
            ]
        if "error" in payload:
            self.fail(payload["error"])
            return events
        if payload.get("usage"):
            self._usage = payload["usage"]
        for choice in payload.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                events += self._text_delta(delta["content"])
            for call in delta.get("tool_calls") or []:
                events += self._call_delta(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def fail(self, error: Mapping[str, Any]) -> None:
        """Remember the error that ends the stream (the first one counts)."""
        self._error = self._error or error

    def finish(self) -> list[dict[str, Any]]:
        """The closing events: the open item's, then the response's last lifecycle event."""
        events = self.feed({}) if self._model is None else []
        status, incomplete = finished(self._finish_reason)
        if self._error is not None:
            events += self._close("incomplete")
            error = {
                "code": self._error.get("code") or "server_error",
                "message": self._error.get("message") or "The answer stream failed.",
            }
            failed = {**self._response("failed"), "error": error}
            return [
                *events,
                self._event("error", param=self._error.get("param"), **error),
                self._event("response.failed", response=failed),
            ]
        events += self._close("incomplete" if incomplete else "completed")
        final = {**self._response(status), "incomplete_details": incomplete}
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return [*events, self._event(kind, response=final)]

    def _text_delta(self, text: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        if not (self._open and self._items[-1]["type"] == "message"):
            events += self._close("completed")
            item = {
                "type": "message",
                "id": message_id(self._base, self._messages),
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            self._messages += 1
            events += self._add(item)
            events.append(
                self._event("response.content_part.added", **self._at(0), part=output_text(""))
            )
        self._text.append(text)
        events.append(
            self._event("response.output_text.delta", **self._at(0), delta=text, logprobs=[])
        )
        return events

    def _call_delta(self, call: Mapping[str, Any]) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        index = int(call.get("index", 0))
        function = call.get("function") or {}
        if call.get("id") is not None:
            events += self._close("completed")
            self._calls[index] = len(self._items)
            events += self._add(
                function_call_item(call["id"], function.get("name", ""), "", "in_progress")
            )
        arguments = function.get("arguments") or ""
        position = self._calls.get(index)
        if arguments and position is not None:
            item = self._items[position]
            item["arguments"] += arguments
            events.append(
                self._event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=position,
                    delta=arguments,
                )
            )
        return events

    def _add(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        self._items.append(item)
        self._open = True
        added = {**item, "content": []} if item["type"] == "message" else dict(item)
        return [
            self._event("response.output_item.added", output_index=len(self._items) - 1, item=added)
        ]

    def _close(self, status: str) -> list[dict[str, Any]]:
        """The events that finish the open item, if any."""
        if not self._open:
            return []
        self._open = False
        item = self._items[-1]
        item["status"] = status
        index = len(self._items) - 1
        events: list[dict[str, Any]] = []
        if item["type"] == "message":
            text, self._text = "".join(self._text), []
            part = output_text(text)
            item["content"] = [part]
            events += [
                self._event("response.output_text.done", **self._at(0), text=text, logprobs=[]),
                self._event("response.content_part.done", **self._at(0), part=part),
            ]
        else:
            events.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        events.append(self._event("response.output_item.done", output_index=index, item=item))
        return events

    def _at(self, content_index: int) -> dict[str, Any]:
        """Where a content event of the open message item applies."""
        return {
            "item_id": self._items[-1]["id"],
            "output_index": len(self._items) - 1,
            "content_index": content_index,
        }

    def _response(self, status: str) -> dict[str, Any]:
        done = [dict(item) for item in self._items[: len(self._items) - int(self._open)]]
        return {
            **self._base,
            "model": self._model,
            "status": status,
            "output": done if status != "in_progress" else [],
            "usage": response_usage(self._usage) if self._usage is not None else None,
            **self._grounding,
        }

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event
