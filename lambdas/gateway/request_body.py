"""Reading and decoding a request body within limits: size, nesting, number length.

Every way a body can be malformed is a 400 naming the problem, never a 500: Python's JSON
parser raises RecursionError on deep nesting and ValueError on integers of more than 4,300
digits, and accepts NaN and Infinity, none of which an OpenAI client sends.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .errors import ApiError

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit
MAX_INTEGER_DIGITS = 40
# Error messages quote at most this much of what the client sent.
MAX_QUOTED_CHARS = 120

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


def _invalid(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_json")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _invalid(f"The request body has an integer of more than {MAX_INTEGER_DIGITS} digits.")
    return int(text)


def _constant(name: str) -> float:
    raise _invalid(f"The request body has {name}, which JSON does not allow; send a number.")


def decode_json(raw: bytes) -> object:
    """Decode a JSON body, or raise a 400 that says what is wrong with it."""
    if not raw.strip():
        raise _invalid("The request body is empty; send a JSON object.")
    try:
        return json.loads(raw, parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise _invalid("The request body is nested too deeply.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        detail = str(error)[:MAX_QUOTED_CHARS]
        raise _invalid(f"The request body is not valid JSON: {detail}.") from None


async def read_body(receive: Receive) -> bytes:
    """Read the whole body, refusing more than MAX_BODY_BYTES."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "The client disconnected before sending the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(
                413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", code="request_too_large"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
