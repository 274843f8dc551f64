"""Broker readers lent to GETs, per topic and worker process.

A GET reads its user's messages from the user's committed offset, so it needs a reader it can
seek, but only while it runs. Lending readers from a small pool keeps the number of open readers
(Kafka consumers: connections and buffers each) near the number of GETs running at once, not
the number of users seen recently.
"""

from __future__ import annotations

from collections import deque

from streams.brokers.base import Broker, Reader

IDLE_READERS = 4
"""Readers of a topic kept open between GETs; more are closed when returned."""


class ReaderPool:
    def __init__(self, broker: Broker, topic: str, idle: int = IDLE_READERS) -> None:
        self.broker = broker
        self.topic = topic
        self.idle = idle
        self._free: deque[Reader] = deque()

    def borrow(self, start: dict[int, int]) -> Reader:
        """A reader positioned at ``start`` (next offsets per partition)."""
        while self._free:
            reader = self._free.pop()
            try:
                reader.seek(start)
                return reader
            except Exception:  # noqa: BLE001 - a broken idle reader is replaced
                reader.close()
        return self.broker.reader(self.topic, start)

    def give_back(self, reader: Reader) -> None:
        if len(self._free) < self.idle:
            self._free.append(reader)
        else:
            reader.close()

    def close(self) -> None:
        while self._free:
            self._free.pop().close()
