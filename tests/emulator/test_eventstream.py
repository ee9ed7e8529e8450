"""The emulator's event-stream framing is read by botocore's own parser."""

from __future__ import annotations

from botocore.eventstream import EventStreamBuffer

from local.emulator.eventstream import event, exception


def test_events_decode_with_botocore_headers_payload_and_checksums_intact() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hé"}}))
    buffer.add_data(exception("throttlingException", "slow down"))
    first, second = list(buffer)
    assert first.headers[":event-type"] == "contentBlockDelta"
    assert first.headers[":message-type"] == "event"
    assert first.payload == '{"contentBlockIndex":0,"delta":{"text":"Hé"}}'.encode()
    assert second.headers[":message-type"] == "exception"
    assert second.headers[":exception-type"] == "throttlingException"


def test_messages_split_across_reads_still_decode() -> None:
    data = event("messageStop", {"stopReason": "end_turn"})
    buffer = EventStreamBuffer()
    buffer.add_data(data[:7])
    assert list(buffer) == []
    buffer.add_data(data[7:])
    (message,) = list(buffer)
    assert message.headers[":event-type"] == "messageStop"
