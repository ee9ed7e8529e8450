"""The `application/vnd.amazon.eventstream` binary framing, as Bedrock's streaming answers use it.

Each message: total length and headers length (4 bytes each, big-endian), a CRC32 of those 8
bytes, the headers, the payload, then a CRC32 of everything before it. Headers here are all
strings (type 7): name length (1 byte), name, type, value length (2 bytes), value.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7


def _headers(headers: Mapping[str, str]) -> bytes:
    encoded = bytearray()
    for name, value in headers.items():
        name_bytes, value_bytes = name.encode(), value.encode()
        encoded += struct.pack("!B", len(name_bytes)) + name_bytes
        encoded += struct.pack("!BH", _STRING, len(value_bytes)) + value_bytes
    return bytes(encoded)


def message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """Frame one message."""
    header_bytes = _headers(headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + header_bytes + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event(event_type: str, payload: object) -> bytes:
    """Frame one event of `event_type` with a JSON payload."""
    return message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(),
    )


def exception(exception_type: str, text: str) -> bytes:
    """Frame an in-stream exception, e.g. `throttlingException`; botocore raises it."""
    return message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": text}).encode(),
    )
