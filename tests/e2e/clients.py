"""Real clients for end-to-end tests: an SSE reader and a WebSocket reader.

Both run in a greenlet (tests/conftest.py patches gevent), collecting parsed events into a
list, so a test can start many clients, push messages, and then wait for what arrived.
"""

from __future__ import annotations

import json
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
