"""The container behind a local SageMaker endpoint: an OpenAI-style messages API, as LMI serves it.

It answers deterministically: the model's name and an excerpt of the last user message. A
buffered answer is a chat.completion; a streamed one is chat.completion.chunk objects, one JSON
object a line (LMI's jsonlines), without usage.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .tokens import count_tokens, truncate_to_tokens

# Characters of the last user message quoted in the answer, and per streamed chunk.
EXCERPT_CHARS = 60
CHUNK_CHARS = 12
# LMI's finish reasons: the model ended its answer, or max_tokens cut it.
FINISHED = "eos_token"
TRUNCATED = "length"


class Refused(Exception):
    """The container's 4xx answer: SageMaker reports it as a ModelError."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> str:
        """Return the error body the container sends (shaped like LMI's; emulator's choice)."""
        return json.dumps(
            {"code": self.status, "type": "BadRequestException", "message": self.message}, indent=2
        )


@dataclass(frozen=True, slots=True)
class ChatCall:
    """A validated request: the messages as (role, content) and the token limit, if any."""

    messages: tuple[tuple[str, str], ...]
    max_tokens: int | None


@dataclass(frozen=True, slots=True)
class Answer:
    """The text a call gets, its finish reason and its token counts."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def parse_chat(raw: bytes) -> ChatCall:
    """Check a request body as the container does; raise Refused for anything else."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Refused(f"The request body is not JSON: {error}.") from None
    if not isinstance(body, dict):
        raise Refused("The request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Refused("'messages' must be a non-empty list.")
    parsed: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(role, str) or not isinstance(content, str):
            raise Refused(f"messages[{index}] needs a string 'role' and a string 'content'.")
        parsed.append((role, content))
    _check_parameters(body)
    max_tokens = body.get("max_tokens")
    return ChatCall(tuple(parsed), max_tokens)


def _check_parameters(body: Mapping[str, Any]) -> None:
    """Refuse sampling parameters of the wrong type; their values do not change the answer."""
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise Refused("'max_tokens' must be a positive integer.")
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise Refused(f"'{name}' must be a number.")
    stop = body.get("stop")
    if stop is not None and not (
        isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise Refused("'stop' must be a string or a list of strings.")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise Refused("'stream' must be a boolean.")


def answer(call: ChatCall, model_name: str) -> Answer:
    """Return the deterministic answer of model `model_name`, cut to max_tokens if given."""
    said = next((content for role, content in reversed(call.messages) if role == "user"), "")
    excerpt = " ".join(said.split())
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[:EXCERPT_CHARS].rstrip() + "..."
    text = f'[emulated {model_name} on SageMaker] You said: "{excerpt}".'
    if call.max_tokens is None:
        completion_tokens, cut = count_tokens(text), False
    else:
        text, completion_tokens, cut = truncate_to_tokens(text, call.max_tokens)
    prompt_tokens = sum(count_tokens(content) for _, content in call.messages)
    return Answer(text, TRUNCATED if cut else FINISHED, prompt_tokens, completion_tokens)


def _identity() -> tuple[str, int]:
    return f"chatcmpl-{uuid.uuid4().hex}", int(time.time())


def completion(result: Answer) -> dict[str, Any]:
    """Return the chat.completion object of a buffered answer."""
    completion_id, created = _identity()
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text},
                "logprobs": None,
                "finish_reason": result.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "total_tokens": result.prompt_tokens + result.completion_tokens,
        },
    }


def chunk_lines(result: Answer) -> list[bytes]:
    """Return the answer as chat.completion.chunk JSON lines; the last has the finish reason."""
    completion_id, created = _identity()
    text = result.text
    pieces = [text[start : start + CHUNK_CHARS] for start in range(0, len(text), CHUNK_CHARS)]
    pieces = pieces or [""]  # an empty answer still ends with a finish reason
    lines: list[bytes] = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        # Emulator's choice: the role comes with the first delta only, as OpenAI's streams do.
        delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
        chunk = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": result.finish_reason if last else None,
                }
            ],
        }
        # json.dumps escapes non-ASCII by default, as LMI's Python server does.
        lines.append(json.dumps(chunk, separators=(",", ":")).encode() + b"\n")
    return lines


def payload_parts(lines: Sequence[bytes]) -> tuple[bytes, ...]:
    """Cut JSON lines into PayloadPart bytes: a line per part, but one line split in two.

    Real streams cut where the network does, so clients must join parts before splitting lines:
    the first part carries the first line and half of the second (half of the only line).
    """
    if not lines:
        return ()
    if len(lines) == 1:
        half = len(lines[0]) // 2
        return lines[0][:half], lines[0][half:]
    half = len(lines[1]) // 2
    return (lines[0] + lines[1][:half], lines[1][half:], *lines[2:])
