"""WebSocket receive cost: unmasking throughput and whole-message reads; prints numbers, asserts nothing.

    python bench/ws_frames.py [--mb 10]

* unmasking a payload: gevent-websocket's per-byte loop vs ``handlers.server.frames.unmask``
  (64 KiB blocks XORed as Python ints), in MB/s;
* reading one masked 1 MiB text message from an in-memory stream through gevent-websocket's
  ``WebSocket.receive`` (unmask + pure-Python UTF-8 check) vs ``GatewayWebSocket.receive``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from geventwebsocket.websocket import Header, WebSocket  # noqa: E402

from handlers.server.connection import GatewayWebSocket  # noqa: E402
from handlers.server.frames import unmask  # noqa: E402

MASK = b"\x37\xfa\x21\x3d"


def rate(mb: float, fn) -> float:
    started = time.perf_counter()
    fn()
    return mb / (time.perf_counter() - started)


def masked_text_frame(size: int) -> bytes:
    payload = b"a" * size
    head = bytes([0x81, 0xFF]) + size.to_bytes(8, "big") + MASK
    return head + unmask(payload, MASK)


class Stream:
    def __init__(self, data: bytes) -> None:
        self.read = io.BytesIO(data).read
        self.write = lambda data: None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=10)
    args = parser.parse_args()
    size = int(args.mb * 1024 * 1024)
    payload = os.urandom(size)
    header = Header(length=size)
    header.mask = MASK
    print(f"unmask {args.mb:g} MB: gevent-websocket {rate(args.mb, lambda: header.unmask_payload(payload)):.1f} MB/s, "
          f"blocks {rate(args.mb, lambda: unmask(payload, MASK)):.1f} MB/s")

    frame = masked_text_frame(1024 * 1024)
    handler = SimpleNamespace(server=SimpleNamespace(application=None))
    old = WebSocket({}, Stream(frame), handler)
    new = GatewayWebSocket({}, Stream(frame), handler, max_message_bytes=2 * 1024 * 1024, frames_per_second=10)
    print(f"receive a 1 MiB text message: gevent-websocket {rate(1, old.receive):.1f} MB/s, "
          f"GatewayWebSocket {rate(1, new.receive):.1f} MB/s")


if __name__ == "__main__":
    main()
