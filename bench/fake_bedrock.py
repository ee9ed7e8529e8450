"""A bedrock-runtime stand-in that answers Converse in tens of microseconds, for benchmarks only.

A benchmark's backend must answer faster than the overhead it measures; the project's emulator
validates every request like Bedrock and costs about a millisecond, which dilutes any ratio.
This server does nothing but answer `POST /model/{id}/converse` with one pre-encoded Converse
response on keep-alive HTTP/1.1 connections, and, for a team's budget, DynamoDB's GetItem (no
item yet) and UpdateItem (the totals after the charge) the same way (anything else: a 404 in
Bedrock's error shape).
Run it in its own process: `python bench/fake_bedrock.py` prints the port it listens on.
"""

from __future__ import annotations

import asyncio
import json
import sys

CONVERSE_ANSWER = json.dumps(
    {
        "output": {
            "message": {"role": "assistant", "content": [{"text": "Hello! How can I help?"}]}
        },
        "stopReason": "end_turn",
        "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
        "metrics": {"latencyMs": 1},
    },
    separators=(",", ":"),
).encode()
NOT_FOUND = b'{"message":"The fake endpoint answers Converse only."}'


def _response(status: str, body: bytes, error_type: str | None = None) -> bytes:
    head = [
        f"HTTP/1.1 {status}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000",
    ]
    if error_type:
        head.append(f"x-amzn-ErrorType: {error_type}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


CONVERSE_RESPONSE = _response("200 OK", CONVERSE_ANSWER)
# DynamoDB's JSON protocol: the operation is in X-Amz-Target, the answer a JSON object.
GET_ITEM_RESPONSE = _response("200 OK", b"{}")
UPDATE_ITEM_RESPONSE = _response(
    "200 OK",
    json.dumps(
        {
            "Attributes": {
                "input_tokens": {"N": "5"},
                "output_tokens": {"N": "7"},
                "cost_usd": {"N": "0.0000014"},
                "requests": {"N": "1"},
            }
        },
        separators=(",", ":"),
    ).encode(),
)
NOT_FOUND_RESPONSE = _response("404 Not Found", NOT_FOUND, "ResourceNotFoundException")


class FakeBedrockProtocol(asyncio.Protocol):
    """Parses just enough HTTP/1.1 (head, Content-Length body) to answer each request."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to answer on."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        """Answer every complete request in the buffer."""
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self._buffer) < end + 4 + length:
                return
            del self._buffer[: end + 4 + length]
            request_line, _, headers = head.partition("\r\n")
            answer = NOT_FOUND_RESPONSE
            if "/converse " in request_line:
                answer = CONVERSE_RESPONSE
            elif "DynamoDB_20120810.GetItem" in headers:
                answer = GET_ITEM_RESPONSE
            elif "DynamoDB_20120810.UpdateItem" in headers:
                answer = UPDATE_ITEM_RESPONSE
            assert self._transport is not None
            self._transport.write(answer)


async def serve(port: int = 0) -> None:
    """Listen on loopback, print the port, serve until killed."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FakeBedrockProtocol, "127.0.0.1", port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
