"""Real clients for end-to-end tests: an SSE reader and a WebSocket reader, and a raw SSE socket.

The readers run in a greenlet (tests/conftest.py patches gevent), collecting parsed events into a
list, so a test can start many clients, push messages, and then wait for what arrived. The raw
socket (``open_sse_socket`` / ``read_until``) is for tests that must control the connection
itself: close it at a chosen moment, or hold thousands without a greenlet each.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event
import requests
import websocket  # websocket-client


@dataclass
class Event:
    id: str | None
    data: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SSEClient:
    """Reads ``text/event-stream`` from a URL until closed or ``max_events`` arrived."""

    url: str
    last_event_id: str | None = None
    max_events: int | None = None
    events: list[Event] = field(default_factory=list)
    comments: int = 0
    opened: gevent.event.Event = field(default_factory=lambda: gevent.event.Event())
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    _greenlet: Any = None
    _response: Any = None

    def start(self) -> SSEClient:
        self._greenlet = gevent.spawn(self._run)
        return self

    def _run(self) -> None:
        headers = {"Accept": "text/event-stream", **self.headers}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        with requests.get(self.url, headers=headers, stream=True, timeout=(5, 120)) as resp:
            self._response = resp
            self.status = resp.status_code
            self.opened.set()
            if resp.status_code != 200:
                return
            event_id, data = None, []
            for raw in resp.iter_lines(chunk_size=None, delimiter=b"\n"):
                line = raw.rstrip(b"\r")
                if not line:
                    if data:
                        self.events.append(Event(event_id, b"\n".join(data)))
                        if self.max_events and len(self.events) >= self.max_events:
                            return
                    event_id, data = None, []
                elif line.startswith(b":"):
                    self.comments += 1
                elif line.startswith(b"id:"):
                    event_id = line[3:].strip().decode()
                elif line.startswith(b"data:"):
                    data.append(line[5:].lstrip(b" ") if line[5:6] == b" " else line[5:])

    def wait(self, count: int, timeout: float) -> list[Event]:
        with gevent.Timeout(timeout, False):
            while len(self.events) < count and not self._greenlet.dead:
                gevent.sleep(0.05)
        return self.events

    def close(self) -> None:
        # Killing the reader unwinds its ``with`` block, which closes the response from the
        # greenlet that owns it (closing it from here would race the read in progress).
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=5)


@dataclass
class WSReader:
    """Connects to a WebSocket URL and collects text frames."""

    url: str
    frames: list[str] = field(default_factory=list)
    opened: gevent.event.Event = field(default_factory=lambda: gevent.event.Event())
    headers: dict[str, str] = field(default_factory=dict)
    _ws: Any = None
    _greenlet: Any = None

    def start(self) -> WSReader:
        header = [f"{name}: {value}" for name, value in self.headers.items()]
        self._ws = websocket.create_connection(self.url, timeout=120, header=header)
        self.opened.set()
        self._greenlet = gevent.spawn(self._run)
        return self

    def _run(self) -> None:
        try:
            while True:
                frame = self._ws.recv()
                if frame == "" or frame is None:
                    return
                self.frames.append(frame if isinstance(frame, str) else frame.decode())
        except (websocket.WebSocketException, OSError):
            return

    def wait(self, count: int, timeout: float) -> list[str]:
        with gevent.Timeout(timeout, False):
            while len(self.frames) < count and not self._greenlet.dead:
                gevent.sleep(0.05)
        return self.frames

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:
            pass
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=5)


def held_steady(what: str, check: Any, bound: float, settle: float, poll: float = 0.1) -> float:
    """Poll ``check`` until it has held without a break for ``settle`` seconds (every worker
    answered alike, not just the one a request happened to reach); returns the seconds until it
    first held, and fails beyond ``bound``."""
    started = time.monotonic()
    first = held_since = None
    while True:
        now = time.monotonic()
        if check():
            first = now if first is None else first
            held_since = now if held_since is None else held_since
            if now - held_since >= settle:
                return first - started
        else:
            held_since = None
        assert now - started < bound + settle, f"not within {bound}s: {what}"
        time.sleep(poll)


def open_sse_socket(port: int, user: str) -> socket.socket:
    """A plain socket that has sent the seed's SSE GET for ``user`` (nothing read yet)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"GET /stream-demo/get-event?user={user} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    return sock


def read_until(sock: socket.socket, marker: bytes, deadline_s: float = 60.0) -> bytes:
    """Read ``sock`` until ``marker`` has arrived; fails if the server closes first."""
    data = b""
    deadline = time.monotonic() + deadline_s
    while marker not in data:
        assert time.monotonic() < deadline, data
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the stream: {data!r}"
        data += chunk
    return data
