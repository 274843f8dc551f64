"""Long-lived HTTP streams of a subscription: Server-Sent Events or newline-delimited messages.

The body is a generator the WSGI server drains chunk by chunk. Each message is acknowledged when
the generator is resumed after yielding it (the server wrote it); a generator closed while a
message is in flight hands it back. Heartbeat comments go out whenever nothing was sent for a
while, which both keeps proxies from timing out the connection and detects dead clients.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from streams.engine.delivery import Subscription
from streams.engine.instance import StreamInstance

log = logging.getLogger("streams.http")

SSE_RETRY_MS = 2000


def sse_event(event_id: str, content: bytes) -> bytes:
    """One SSE event; a multi-line payload becomes several ``data:`` lines, as the spec requires."""
    lines = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    data = b"".join(b"data: " + line + b"\n" for line in lines)
    return b"id: " + event_id.encode() + b"\n" + data + b"\n"


def ndjson_line(content: bytes) -> bytes:
    return content.replace(b"\n", b" ") + b"\n"


def subscription_body(
    subscription: Subscription, instance: StreamInstance, *, sse: bool, heartbeat: float
) -> Iterator[bytes]:
    """Yield the stream's chunks until the client leaves or the subscription is closed."""
    delivery = None
    try:
        # An opening chunk makes the server send the headers now, so clients see the stream open
        # before the first message (and EventSource learns the reconnect delay).
        yield (b"retry: %d\n\n" % SSE_RETRY_MS) if sse else b""
        while True:
            delivery = subscription.get(heartbeat)
            if delivery is None:
                if subscription.closed_reason:
                    log.info("stream closed: %s", subscription.closed_reason)
                    return
                yield b": keepalive\n\n" if sse else b"\n"
                continue
            yield sse_event(delivery.event_id, delivery.content) if sse else ndjson_line(delivery.content)
            delivery.ack()
            delivery = None
    finally:
        if delivery is not None:
            delivery.nack()
        subscription.close()
        instance.release()
