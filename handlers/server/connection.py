"""``GatewayWebSocket``: gevent-websocket's socket with the gateway's receiving side.

Sending (``send``, ``send_frame``, ``close``) is gevent-websocket's. Receiving is ours, built on
``handlers.server.frames``: each frame's header is read and judged (frame rate, message size,
sequence) before its payload is read, so an oversize frame is refused without being buffered;
payloads are unmasked a block at a time and text is checked as UTF-8 by the codec, not byte by
byte in Python. A refusal closes the connection with the code the rule names (1009 too big,
1008 too many frames, 1002 protocol error, 1007 bad UTF-8) and ``receive`` returns None, the
same as when the client closes.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from typing import Any

from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.websocket import MSG_ALREADY_CLOSED, WebSocket

from handlers.server.frames import (
    CLOSE_INVALID_DATA,
    CLOSE_PROTOCOL_ERROR,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameError,
    FrameHeader,
    FrameRate,
    MessageAssembler,
    header_size,
    parse_header,
    unmask,
)

log = logging.getLogger("streams.http")


class GatewayWebSocket(WebSocket):
    """A server-side WebSocket whose client frames are held to the connection's limits."""

    closed: bool
    # gevent-websocket's attributes, cleared (None) once closed
    raw_read: Any
    raw_write: Any
    stream: Any
    environ: Any

    def __init__(
        self,
        environ: dict[str, Any],
        stream: Any,
        handler: Any,
        *,
        max_message_bytes: int,
        frames_per_second: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(environ, stream, handler)
        self.assembler = MessageAssembler(max_message_bytes)
        self.rate = FrameRate(frames_per_second, clock)
        self.refused: FrameError | None = None
        """Why the gateway closed the connection, when it did (None: the client closed)."""
        self.clock = clock
        self.last_heard = clock()
        """When the client's last frame began (a pong, a ping or a message): ``pong_wait`` is
        measured from it."""

    def receive(self) -> str | bytes | None:
        """The next message (``str`` for text, ``bytes`` for binary), or None once closed."""
        if self.closed:
            raise WebSocketError(MSG_ALREADY_CLOSED)
        try:
            return self.read_message()
        except FrameError as exc:
            self._refuse(exc)
        except UnicodeError:  # from a close frame's reason
            self._refuse(FrameError(CLOSE_INVALID_DATA, "close reason is not valid UTF-8"))
        except ProtocolError as exc:  # from a close frame's code
            self._refuse(FrameError(CLOSE_PROTOCOL_ERROR, str(exc) or "protocol error"))
        except OSError:  # the peer went away (WebSocketError is an OSError too)
            self.closed = True
        return None

    def read_message(self) -> str | bytes | None:
        while True:
            header = self._read_header()
            self.last_heard = self.clock()
            self.rate.take()
            self.assembler.admit(header)
            payload = self._read_exact(header.length)
            if header.mask:
                payload = unmask(payload, header.mask)
            if header.opcode == OP_PING:
                self.handle_ping(header, payload)
            elif header.opcode == OP_PONG:
                continue
            elif header.opcode == OP_CLOSE:
                self.handle_close(header, payload)
                return None
            else:
                message = self.assembler.feed(header, payload)
                if message is not None:
                    return message.data

    def _read_header(self) -> FrameHeader:
        start = self._read_exact(2)
        rest = self._read_exact(header_size(start) - 2)
        return parse_header(start + rest)

    def _read_exact(self, size: int) -> bytes:
        if size == 0:
            return b""
        data = self.raw_read(size)
        if len(data) != size:
            raise WebSocketError("connection closed in the middle of a frame")
        return bytes(data)

    def close(self, code: int = 1000, message: bytes | str = b"") -> None:
        """Send a close frame carrying ``code`` and the reason (RFC 6455 §5.5.1), once.

        The socket itself is the handler's to close."""
        if self.closed:
            return
        reason = message.encode("utf-8") if isinstance(message, str) else bytes(message or b"")
        try:
            self.send_frame(struct.pack("!H", code) + reason[:123], OP_CLOSE)
        except OSError:  # the peer is gone; the connection ends either way
            pass
        finally:
            self.closed = True
            self.stream = self.raw_write = self.raw_read = self.environ = None

    def _refuse(self, error: FrameError) -> None:
        self.refused = error
        log.info("websocket closed by the gateway (%s): %s", error.code, error.reason)
        self.close(error.code, error.reason)
