"""Serving an ``http_server`` output fed from inside the instance (no broker in between).

Used when the input is ``http_server``, ``generate`` or another in-process input. Delivery is per
worker process: a message pushed on one worker reaches the clients attached to that worker (put a
broker between the streams when clients and producers may land on different workers).

A write is acknowledged once the message reached every attached stream client (queued) or a
waiting GET took it; with no client at all it waits up to the output's ``timeout`` for a GET, as
Bento's ``http_server`` output does, and fails after that.
"""

from __future__ import annotations

import itertools
import time
from collections import deque

import gevent.queue

from streams.engine.components import OutputError
from streams.engine.delivery import Delivery, Subscription
from streams.message import Message


class LocalHub:
    def __init__(self, client_queue: int, write_timeout: float) -> None:
        self.client_queue = client_queue
        self.write_timeout = write_timeout
        self._subs: set[Subscription] = set()
        self._handoff: gevent.queue.Channel = gevent.queue.Channel()
        self._returned: deque[Delivery] = deque()
        self._ids = itertools.count()
        self._closed = False

    def write(self, batch: list[Message]) -> None:
        for msg in batch:
            self._write_one(msg)

    def _write_one(self, msg: Message) -> None:
        eid = f"0-{next(self._ids)}"
        for sub in list(self._subs):
            sub.offer(Delivery(msg.content, dict(msg.metadata), eid))
        if self._subs:
            # Stream clients got it; a GET waiting right now gets it too.
            if self._handoff.getters:
                self._handoff.put_nowait(self._pull_delivery(msg, eid))
            return
        try:
            self._handoff.put(self._pull_delivery(msg, eid), timeout=self.write_timeout)
        except gevent.queue.Full:
            raise OutputError("no client took the message within the output timeout") from None

    def _pull_delivery(self, msg: Message, eid: str) -> Delivery:
        delivery = Delivery(msg.content, dict(msg.metadata), eid)
        delivery._on_nack = lambda: self._returned.append(Delivery(msg.content, dict(msg.metadata), eid))
        return delivery

    def pull(self, timeout: float) -> Delivery | None:
        if self._returned:
            return self._returned.popleft()
        deadline = time.monotonic() + timeout
        try:
            return self._handoff.get(timeout=max(0.0, deadline - time.monotonic()))
        except gevent.queue.Empty:
            return None

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        """In-process streams keep no history: ``Last-Event-ID`` cannot replay anything."""
        sub = Subscription(self.client_queue, on_close=self._subs.discard)
        if self._closed:
            sub.close("stream closed")
        else:
            self._subs.add(sub)
        return sub

    @property
    def clients(self) -> int:
        return len(self._subs)

    def close(self) -> None:
        self._closed = True
        for sub in list(self._subs):
            sub.close("stream closed")
