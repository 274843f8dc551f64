"""The keys log: API keys shared by every worker and every gateway host on one broker.

Keys live in the topic ``KEYS_TOPIC`` (one partition, compacted on Kafka so the last record of
each key is kept; on the embedded broker, the host's log), the same way per-user positions are
shared: every process follows the log into a ``KeyTable`` from the start, in a greenlet of its
own, so a key written on one worker or host is known on every other one as soon as the record
is read (milliseconds; a revoked key is refused everywhere well within a second).

A worker that writes a key applies its own record at once, so its reply means "in force here".
A key this process does not know makes it read up to the log's end before answering (a key made
a moment ago elsewhere); such reads are shared (one at a time per process, ``_read_to_end``), so
a flood of guessed keys costs one end-offset query per round, not one per request. Records hold the session under the key's hash; the
plain key is never written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent
import gevent.event
import gevent.lock

from streams.auth.key_table import KeyTable, encode
from streams.auth.sessions import KeySession
from streams.brokers.base import Broker, BrokerError, Reader

log = logging.getLogger("streams.auth")

KEYS_TOPIC = "_streams.keys"
READY_TIMEOUT_S = 10.0
"""How long a request waits for this process's first read of the whole log."""
SYNC_TIMEOUT_S = 2.0
RETRY_S = 1.0


class KeyStore:
    """This process's view of the keys log (see module doc)."""

    def __init__(self, broker: Callable[[], Broker]) -> None:
        self.table = KeyTable()
        self._broker = broker
        self._follower: gevent.Greenlet | None = None
        self._reader: Reader | None = None
        self._caught_up = gevent.event.Event()
        self._sync_lock = gevent.lock.Semaphore()
        self._sync_began = float("-inf")
        self._closed = False

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, key_hash: str) -> KeySession | None:
        """The session of ``key_hash``, or None; ``BrokerError`` when the log cannot be read."""
        self._ready()
        session = self.table.get(key_hash)
        if session is None:
            self._read_to_end()
            session = self.table.get(key_hash)
        return session

    def hashes(self) -> list[str]:
        self._ready()
        self._read_to_end()
        return self.table.hashes()

    def _ready(self) -> None:
        if self._follower is None or self._follower.dead:
            if self._closed:
                raise BrokerError("the key store is closed")
            self._follower = gevent.spawn(self._follow)
        if not self._caught_up.wait(READY_TIMEOUT_S):
            raise BrokerError(f"the keys log {KEYS_TOPIC!r} could not be read within {READY_TIMEOUT_S:g}s")

    def _read_to_end(self) -> None:
        """Wait until the table holds every record written before this call. Callers arriving
        while a read is under way share the next one: one at a time per process, each covering
        everyone who asked before it began, however many requests name unknown keys."""
        asked = time.monotonic()
        with self._sync_lock:
            if self._sync_began >= asked:
                return  # a read that began after this caller asked has just finished
            self._sync_began = time.monotonic()
            end = self._broker().end_offsets(KEYS_TOPIC).get(0, 0)
            deadline = time.monotonic() + SYNC_TIMEOUT_S
            while self.table.read_to < end and time.monotonic() < deadline:
                gevent.sleep(0.005)

    def _follow(self) -> None:
        """Read the log from where the table stands, forever (reopened after a broker error)."""
        while not self._closed:
            try:
                broker = self._broker()
                broker.ensure_topic(KEYS_TOPIC, 1, compacted=True)
                end = broker.end_offsets(KEYS_TOPIC).get(0, 0)
                self._reader = broker.reader(KEYS_TOPIC, {0: self.table.read_to})
                while not self._closed:
                    if self.table.read_to >= end:
                        self._caught_up.set()
                    for record in self._reader.fetch(1.0):
                        self.table.apply_record(record.key, record.value, record.offset)
            except BrokerError as exc:
                log.warning("keys log %s: %s; retrying in %gs", KEYS_TOPIC, exc, RETRY_S)
            finally:
                self._close_reader()
            gevent.sleep(RETRY_S)

    # -- writing -----------------------------------------------------------------------------

    def put(self, key_hash: str, session: KeySession) -> None:
        """Store ``session`` for ``key_hash`` (acknowledged by the broker, in force here at once)."""
        self._write(key_hash, session)

    def delete(self, key_hash: str) -> None:
        self._write(key_hash, None)

    def _write(self, key_hash: str, session: KeySession | None) -> None:
        self._ready()
        at = self._broker().produce(KEYS_TOPIC, encode(session), key=key_hash.encode("ascii"), partition=0)
        self.table.apply(key_hash, session, at.offset)

    def close(self) -> None:
        self._closed = True
        if self._follower is not None:
            self._follower.kill(block=False)
        self._close_reader()

    def _close_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                reader.close()
            except Exception:
                log.exception("closing the keys log reader failed")
