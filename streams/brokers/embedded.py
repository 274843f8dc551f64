"""The embedded broker: a durable single-machine log in one SQLite file, shared by processes.

``STREAMS_KAFKA_BROKERS=embedded`` (the default) makes every gunicorn worker on the host open the
same database (``<data_dir>/embedded-broker.sqlite3``, WAL mode), so a record produced by one
worker is read by the others, and consumer-group offsets and partition leases are shared the way a
Kafka cluster shares them. It keeps the promises of DESIGN §4 on one machine; it is for trying
things out and for fast tests, not for a fleet of gateway hosts.

How it stays cheap under gevent:

* Writes (produce, commits, leases) run on one dedicated OS thread per process with its own
  connection. sqlite releases the GIL while it works, so an fsync or a wait for another process's
  write lock never blocks the event loop. Everything queued while a write is in flight (records,
  offset commits, heartbeats) goes into the next transaction, each job in its own savepoint
  (group commit: one fsync for many callers), which is where the throughput comes from.
* Reads run on the event loop with a second connection; in WAL mode readers never wait for
  writers and each read is one indexed range query on ``(topic, partition, offset)``.
* Waiting for records does not spin: a waiting reader registers the offsets it wants, and one
  poller greenlet per process checks ``PRAGMA data_version`` every ``poll_interval`` seconds, only
  while someone waits, re-reading the tiny ``heads`` table when another connection has committed.
  Produces from the same process wake readers directly.

Durability: ``produce`` returns after the transaction holding the record commits. With the default
``synchronous="FULL"`` the WAL is fsynced on every commit (a 200 survives power loss); ``"NORMAL"``
survives a crash of the process but not of the machine, and is faster.

Retention: by default everything is kept forever (the file grows; delete the data directory to
start over). ``max_records_per_partition`` keeps only the newest N records of each partition;
older offsets are deleted when newer ones are written, and readers positioned before the oldest
kept offset skip forward to it (so a reader that falls that far behind loses records).

Consumer groups: each ``GroupConsumer`` is a member with a random id. Members heartbeat every
``lease_seconds / 3`` from a greenlet; a partition belongs to the member holding an unexpired
lease on it. Partitions are spread evenly over live members; a member that must give a partition
to a newcomer stops fetching from it and lets go once everything it fetched is committed, so a
record is processed by one member at a time. A commit for a partition the member no longer holds
is refused with ``BrokerError`` (as Kafka refuses it). Lease time is wall-clock time, shared by
the processes of one host; a member whose event loop stalls longer than the lease loses its
partitions.

Failures of SQLite (disk full, a damaged file) are raised as ``BrokerError``.
When a process dies its leases expire after ``lease_seconds`` and other members take the
partitions over, re-reading from the committed offset (at-least-once).
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import struct
import time
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from itertools import count
from typing import Any, TypeVar

import gevent
import gevent.event
import gevent.lock
import gevent.monkey
import gevent.queue
from gevent.threadpool import ThreadPool

from streams.brokers.base import (
    Broker,
    BrokerError,
    GroupConsumer,
    Position,
    Reader,
    Record,
)
from streams.brokers.group import GroupTimeouts
from streams.brokers.positions import matches

log = logging.getLogger(__name__)

T = TypeVar("T")

DB_FILENAME = "embedded-broker.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    topic TEXT PRIMARY KEY,
    partitions INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS heads (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    start_offset INTEGER NOT NULL DEFAULT 0,
    next_offset INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    headers BLOB,
    timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, offset)
);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, partition)
);
CREATE TABLE IF NOT EXISTS members (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    member TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (grp, topic, member)
);
CREATE TABLE IF NOT EXISTS leases (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    member TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (grp, topic, partition)
);
"""

# Connections left behind by a fork. Closing one in the child could checkpoint or delete the WAL
# under the parent's feet, and letting the GC close it does the same, so they are kept forever.
_FORK_ORPHANS: list[Any] = []

# The write thread is a real OS thread: it must sleep with the unpatched time.sleep.
_thread_sleep = gevent.monkey.get_original("time", "sleep")
_BUSY_TIMEOUT_MS = 2000
_WRITE_DEADLINE_S = 30.0
_WAL_SIZE_LIMIT = 64 * 1024 * 1024
_MAX_BATCH = 512


def encode_headers(headers: Iterable[tuple[str, bytes]]) -> bytes | None:
    """Length-prefixed pairs; ``None`` when there are none (most records)."""
    parts: list[bytes] = []
    for name, value in headers:
        raw_name = name.encode("utf-8")
        raw_value = bytes(value)
        parts.append(struct.pack(">II", len(raw_name), len(raw_value)))
        parts.append(raw_name)
        parts.append(raw_value)
    return b"".join(parts) if parts else None


def decode_headers(raw: bytes | None) -> tuple[tuple[str, bytes], ...]:
    if not raw:
        return ()
    out: list[tuple[str, bytes]] = []
    pos = 0
    while pos < len(raw):
        name_len, value_len = struct.unpack_from(">II", raw, pos)
        pos += 8
        name = raw[pos : pos + name_len].decode("utf-8")
        pos += name_len
        out.append((name, raw[pos : pos + value_len]))
        pos += value_len
    return tuple(out)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _open(path: str, synchronous: str, busy_timeout_ms: int = _BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection whose later statements wait ``busy_timeout_ms`` for a lock.

    Its setup always waits the full ``_BUSY_TIMEOUT_MS``: these pragmas read the schema, which
    needs a lock for a moment while another process checkpoints or closes the file, and a caller
    that retries its own transactions (busy timeout 0) does not retry its setup."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA synchronous={synchronous}")
    # After a checkpoint, cut the WAL file back instead of keeping its largest size forever.
    conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    return conn


@dataclass
class _PendingProduce:
    topic: str
    partition: int
    key: bytes | None
    value: bytes
    headers: bytes | None
    timestamp_ms: int
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


@dataclass
class _WriteJob:
    fn: Callable[[sqlite3.Connection], Any]
    result: gevent.event.AsyncResult = field(default_factory=gevent.event.AsyncResult)


def _in_savepoint(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T | Exception:
    """Run ``fn`` so that its failure undoes only its own writes, not the rest of the batch."""
    conn.execute("SAVEPOINT job")
    try:
        result = fn(conn)
    except Exception as exc:  # noqa: BLE001 -- handed to the job's caller
        conn.execute("ROLLBACK TO job")
        conn.execute("RELEASE job")
        return exc
    conn.execute("RELEASE job")
    return result


def _write_batch(
    conn: sqlite3.Connection, produces: list[_PendingProduce], jobs: list[_WriteJob], keep: int | None
) -> tuple[list[int] | Exception, list[Any]]:
    """One transaction's work: the queued records, then each queued job in its own savepoint."""
    offsets = _in_savepoint(conn, partial(_insert_batch, batch=produces, keep=keep)) if produces else []
    return offsets, [_in_savepoint(conn, job.fn) for job in jobs]


class _Waiter:
    """A reader waiting until some partition ``p`` of a topic ``t`` holds offset ``wants[t][p]``.

    The condition is on state, not on a change, so it cannot miss a record that was committed
    between the reader's last query and its registration."""

    __slots__ = ("event", "wants")

    def __init__(self, wants: dict[str, dict[int, int]]) -> None:
        self.wants = wants
        self.event = gevent.event.Event()

    def check(self, topic: str, heads: dict[int, int]) -> None:
        for partition, want in self.wants.get(topic, {}).items():
            if heads.get(partition, 0) > want:
                self.event.set()
                return


class _ProcessState:
    """Everything that must not cross a fork: connections, the write thread, greenlets."""

    def __init__(self, broker: EmbeddedBroker) -> None:
        self.pid = os.getpid()
        self.broker = broker
        self.pool = ThreadPool(1)
        self.write_conn: sqlite3.Connection | None = None  # used only on the pool's thread
        self.read_conn = _open(broker.path, broker.synchronous)
        self.queue: gevent.queue.Queue[_PendingProduce | _WriteJob] = gevent.queue.Queue()
        self.writer = gevent.spawn(self._writer_loop)
        self.heads: dict[str, dict[int, int]] = {}
        self.waiters: dict[str, set[_Waiter]] = {}
        self.poller: gevent.Greenlet | None = None
        self.partition_counts: dict[str, int] = {}

    # -- writes (on the write thread) ---------------------------------------------------------

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a write transaction on the write thread and return its result; the
        calling greenlet waits, the event loop does not. ``fn`` shares the transaction (and its
        fsync) with whatever else was queued meanwhile, inside its own savepoint. SQLite errors
        come back as ``BrokerError``."""
        job = _WriteJob(fn)
        self.queue.put(job)
        try:
            return job.result.get()
        except sqlite3.Error as exc:
            raise BrokerError(f"embedded broker write failed: {exc}") from exc

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One read on the event loop (short: every query is an index lookup or range)."""
        try:
            return self.read_conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise BrokerError(f"embedded broker read failed: {exc}") from exc

    def _write_in_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self.write_conn is None:
            # PERF: no busy_timeout here. SQLite's busy handler backs off to sleeps of 25-100 ms,
            # so with several processes writing all the time a waiting writer oversleeps; a short
            # randomised retry takes the lock soon after it is released.
            self.write_conn = _open(self.broker.path, self.broker.synchronous, busy_timeout_ms=0)
        conn = self.write_conn
        deadline = time.monotonic() + _WRITE_DEADLINE_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc) and time.monotonic() < deadline:
                    _thread_sleep(random.uniform(0.0002, 0.002))
                    continue
                raise
            try:
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _writer_loop(self) -> None:
        """Group commit: everything queued while the previous transaction ran goes into the next."""
        while True:
            pending = [self.queue.get()]
            while len(pending) < _MAX_BATCH:
                try:
                    pending.append(self.queue.get_nowait())
                except gevent.queue.Empty:
                    break
            produces = [p for p in pending if isinstance(p, _PendingProduce)]
            jobs = [p for p in pending if isinstance(p, _WriteJob)]
            batch = partial(_write_batch, produces=produces, jobs=jobs, keep=self.broker.max_records_per_partition)
            try:
                offsets, outcomes = self.pool.apply(self._write_in_thread, (batch,))
            except Exception as exc:  # noqa: BLE001 -- every waiting caller hears about it
                log.error("embedded broker: write of %d records and %d jobs failed: %s", len(produces), len(jobs), exc)
                offsets, outcomes = exc, [exc] * len(jobs)
            except BaseException:
                # Killed by ``close`` mid-transaction: the callers of what it had taken off the
                # queue would wait for ever (``write`` has no timeout).
                for item in pending:
                    item.result.set_exception(BrokerError("broker closed"))
                raise
            for job, outcome in zip(jobs, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    job.result.set_exception(outcome)
                else:
                    job.result.set(outcome)
            if isinstance(offsets, Exception):
                for item in produces:
                    item.result.set_exception(BrokerError(f"produce failed: {offsets}"))
                continue
            touched: dict[str, dict[int, int]] = {}
            for item, offset in zip(produces, offsets, strict=True):
                touched.setdefault(item.topic, {})[item.partition] = offset + 1
                item.result.set(Position(item.topic, item.partition, offset))
            for topic, heads in touched.items():
                self.advance_heads(topic, heads)

    # -- waiting for records -------------------------------------------------------------------

    def advance_heads(self, topic: str, heads: dict[int, int]) -> None:
        known = self.heads.setdefault(topic, {})
        for partition, nxt in heads.items():
            if nxt > known.get(partition, 0):
                known[partition] = nxt
        for waiter in self.waiters.get(topic, ()):
            waiter.check(topic, known)

    def wait(self, wants: dict[str, dict[int, int]], timeout: float) -> None:
        """Block this greenlet until some wanted offset exists, or ``timeout``."""
        if timeout <= 0 or not wants:
            gevent.sleep(max(timeout, 0))
            return
        waiter = _Waiter({t: dict(w) for t, w in wants.items()})
        for topic in waiter.wants:
            self.waiters.setdefault(topic, set()).add(waiter)
        try:
            for topic in waiter.wants:
                waiter.check(topic, self.heads.get(topic, {}))
            if self.poller is None or self.poller.dead:
                self.poller = gevent.spawn(self._poll_loop)
            waiter.event.wait(timeout)
        finally:
            for topic in waiter.wants:
                group = self.waiters.get(topic)
                if group is not None:
                    group.discard(waiter)
                    if not group:
                        del self.waiters[topic]

    def _poll_loop(self) -> None:
        try:
            self._poll()
        except sqlite3.Error:  # the next waiter starts a new poller
            log.exception("embedded broker: watching for new records failed")

    def _poll(self) -> None:
        interval = self.broker.poll_interval
        last_version: int | None = None
        last_topics: set[str] = set()
        while self.waiters:
            version = self.read_conn.execute("PRAGMA data_version").fetchone()[0]
            topics = set(self.waiters)
            # A topic that started waiting since the last refresh may have missed a change that
            # the data_version already accounted for, so it is refreshed once regardless.
            if version != last_version or not topics <= last_topics:
                last_version, last_topics = version, topics
                self._refresh_heads(sorted(topics))
            gevent.sleep(interval)

    def _refresh_heads(self, topics: list[str]) -> None:
        marks = ",".join("?" * len(topics))
        rows = self.read_conn.execute(
            f"SELECT topic, partition, next_offset FROM heads WHERE topic IN ({marks})", topics
        ).fetchall()
        by_topic: dict[str, dict[int, int]] = {}
        for topic, partition, nxt in rows:
            by_topic.setdefault(topic, {})[partition] = nxt
        for topic, heads in by_topic.items():
            self.advance_heads(topic, heads)

    def close(self) -> None:
        self.writer.kill(block=False)
        if self.poller is not None:
            self.poller.kill(block=False)
        while True:
            try:
                item = self.queue.get_nowait()
            except gevent.queue.Empty:
                break
            item.result.set_exception(BrokerError("broker closed"))
        conn = self.write_conn
        self.write_conn = None
        if conn is not None:
            try:
                self.pool.apply(conn.close)
            except Exception:  # closing is best effort
                log.exception("embedded broker: closing the write connection failed")
        self.pool.kill()
        self.read_conn.close()


def _insert_batch(conn: sqlite3.Connection, batch: list[_PendingProduce], keep: int | None) -> list[int]:
    """Assign offsets and insert; runs inside the write transaction."""
    next_offsets: dict[tuple[str, int], int] = {}
    offsets: list[int] = []
    rows = []
    for item in batch:
        tp = (item.topic, item.partition)
        nxt = next_offsets.get(tp)
        if nxt is None:
            row = conn.execute(
                "SELECT next_offset FROM heads WHERE topic=? AND partition=?", tp
            ).fetchone()
            if row is None:
                raise BrokerError(f"unknown partition {item.topic}/{item.partition}")
            nxt = row[0]
        offsets.append(nxt)
        rows.append((item.topic, item.partition, nxt, item.key, item.value, item.headers, item.timestamp_ms))
        next_offsets[tp] = nxt + 1
    conn.executemany(
        "INSERT INTO records (topic, partition, offset, key, value, headers, timestamp_ms) VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    for (topic, partition), nxt in next_offsets.items():
        if keep is None:
            conn.execute("UPDATE heads SET next_offset=? WHERE topic=? AND partition=?", (nxt, topic, partition))
        else:
            start = max(0, nxt - keep)
            conn.execute(
                "DELETE FROM records WHERE topic=? AND partition=? AND offset<?", (topic, partition, start)
            )
            conn.execute(
                "UPDATE heads SET next_offset=?, start_offset=max(start_offset, ?) WHERE topic=? AND partition=?",
                (nxt, start, topic, partition),
            )
    return offsets


def _create_topic(conn: sqlite3.Connection, topic: str, partitions: int) -> int:
    row = conn.execute("SELECT partitions FROM topics WHERE topic=?", (topic,)).fetchone()
    if row is not None:
        return int(row[0])
    conn.execute(
        "INSERT INTO topics (topic, partitions, created_ms) VALUES (?,?,?)", (topic, partitions, int(time.time() * 1000))
    )
    conn.executemany(
        "INSERT OR IGNORE INTO heads (topic, partition) VALUES (?,?)", [(topic, p) for p in range(partitions)]
    )
    return partitions


def _prepare_database(path: str, synchronous: str) -> None:
    """Switch the file to WAL and create the tables; every process does it, the first one wins.
    journal_mode cannot change inside a transaction, hence not via ``write``."""
    conn = _open(path, synchronous)
    try:
        deadline = time.monotonic() + _WRITE_DEADLINE_S
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise BrokerError(f"cannot switch {path} to WAL (journal_mode is {mode})")
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if not (_is_busy(exc) and time.monotonic() < deadline):
                    raise
    finally:
        conn.close()


def _upsert_offsets(conn: sqlite3.Connection, group: str, topic: str, offsets: dict[int, int]) -> None:
    conn.executemany(
        "INSERT INTO group_offsets (grp, topic, partition, next_offset) VALUES (?,?,?,?) "
        "ON CONFLICT (grp, topic, partition) DO UPDATE SET next_offset=excluded.next_offset",
        [(group, topic, int(p), int(o)) for p, o in offsets.items()],
    )


class EmbeddedBroker(Broker):
    """The embedded log. Safe to create before a fork: nothing is opened until first use, and each
    process opens its own connections."""

    def __init__(
        self,
        data_dir: str,
        *,
        default_partitions: int = 1,
        lease_seconds: float = 10.0,
        poll_interval: float = 0.025,
        max_records_per_partition: int | None = None,
        synchronous: str = "FULL",
    ) -> None:
        if default_partitions < 1:
            raise ValueError("default_partitions must be at least 1")
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        self.data_dir = os.path.abspath(data_dir)
        self.path = os.path.join(self.data_dir, DB_FILENAME)
        self.default_partitions = default_partitions
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.max_records_per_partition = max_records_per_partition
        self.synchronous = synchronous.upper()
        self._state: _ProcessState | None = None
        # Held across a yield, so a gevent lock; one per process, in case a fork happened while
        # another greenlet held it.
        self._init_lock = (os.getpid(), gevent.lock.Semaphore())
        self._round_robin = count()
        self._closed = False
        self._consumers: weakref.WeakSet[EmbeddedGroupConsumer] = weakref.WeakSet()

    # -- per-process state ---------------------------------------------------------------------

    def _local(self) -> _ProcessState:
        state = self._state
        if state is not None and state.pid == os.getpid():
            return state
        if self._closed:
            raise BrokerError("broker closed")
        if self._init_lock[0] != os.getpid():
            self._init_lock = (os.getpid(), gevent.lock.Semaphore())
        with self._init_lock[1]:
            state = self._state
            if state is not None and state.pid == os.getpid():
                return state
            if state is not None:
                _FORK_ORPHANS.append(state)
                self._state = None
            try:
                os.makedirs(self.data_dir, exist_ok=True)
                # Off the event loop: another process may hold the lock while creating tables.
                gevent.get_hub().threadpool.apply(_prepare_database, (self.path, self.synchronous))
                state = _ProcessState(self)
            except (OSError, sqlite3.Error) as exc:
                raise BrokerError(f"cannot open the embedded broker at {self.path}: {exc}") from exc
            self._state = state
            return state

    # -- topics --------------------------------------------------------------------------------

    def create_topic(self, topic: str, partitions: int | None = None) -> int:
        """Create ``topic`` with ``partitions`` (default: ``default_partitions``) unless it exists;
        returns its partition count. Partition counts never change once created."""
        state = self._local()
        if topic in state.partition_counts:
            return state.partition_counts[topic]
        if not topic:
            raise BrokerError("empty topic name")
        n = partitions or self.default_partitions
        rows = state.query("SELECT partitions FROM topics WHERE topic=?", (topic,))
        row = rows[0] if rows else None
        got = int(row[0]) if row is not None else state.write(lambda conn: _create_topic(conn, topic, n))
        state.partition_counts[topic] = got
        return got

    def partitions(self, topic: str) -> list[int]:
        return list(range(self.create_topic(topic)))

    def ensure_topic(self, topic: str, partitions: int, *, compacted: bool = False) -> None:
        self.create_topic(topic, partitions)

    def beginning_offsets(self, topic: str) -> dict[int, int]:
        return self._heads(topic, "start_offset")

    def end_offsets(self, topic: str) -> dict[int, int]:
        heads = self._heads(topic, "next_offset")
        self._local().advance_heads(topic, heads)
        return heads

    def _heads(self, topic: str, column: str) -> dict[int, int]:
        self.create_topic(topic)
        rows = self._local().query(
            f"SELECT partition, {column} FROM heads WHERE topic=? ORDER BY partition", (topic,)
        )
        return {p: o for p, o in rows}

    # -- produce -------------------------------------------------------------------------------

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] = (),
        partition: int | None = None,
        timeout: float = 10.0,
    ) -> Position:
        """Queue the record for the next write transaction and wait until it has committed."""
        n = self.create_topic(topic)
        if partition is None:
            partition = (zlib.crc32(key) if key is not None else next(self._round_robin)) % n
        elif not 0 <= partition < n:
            raise BrokerError(f"topic {topic!r} has no partition {partition} (it has {n})")
        item = _PendingProduce(
            topic,
            partition,
            None if key is None else bytes(key),
            bytes(value),
            encode_headers(headers),
            time.time_ns() // 1_000_000,
        )
        self._local().queue.put(item)
        try:
            return item.result.get(timeout=timeout)
        except gevent.Timeout:
            # NOTE: the record may still be written later; like Kafka, a timeout is ambiguous.
            raise BrokerError(f"produce to {topic!r} not acknowledged within {timeout}s") from None

    # -- reading -------------------------------------------------------------------------------

    def read_range(self, topic: str, partition: int, start: int, limit: int) -> list[Record]:
        """Up to ``limit`` records of one partition from offset ``start``; one indexed query."""
        rows = self._local().query(
            "SELECT offset, key, value, headers, timestamp_ms FROM records "
            "WHERE topic=? AND partition=? AND offset>=? ORDER BY offset LIMIT ?",
            (topic, partition, start, limit),
        )
        return [
            Record(topic, partition, off, value, key, decode_headers(hdrs), ts)
            for off, key, value, hdrs, ts in rows
        ]

    def wait_for(self, wants: dict[str, dict[int, int]], timeout: float) -> None:
        """Block until some partition ``p`` of a topic ``t`` holds offset ``wants[t][p]``, or
        ``timeout``; sleeps the whole timeout when ``wants`` is empty."""
        self._local().wait(wants, timeout)

    def reader(self, topic: str, start: dict[int, int]) -> Reader:
        return EmbeddedReader(self, topic, start)

    def group_consumer(
        self, group: str, topics: list[str], start_from_oldest: bool = True, timeouts: GroupTimeouts | None = None
    ) -> GroupConsumer:
        # NOTE: ``timeouts`` are Kafka group-membership settings; the embedded groups do not use them.
        consumer = EmbeddedGroupConsumer(self, group, topics, start_from_oldest)
        self._consumers.add(consumer)
        return consumer

    # -- group offsets -------------------------------------------------------------------------

    def committed(self, group: str, topic: str) -> dict[int, int]:
        rows = self._local().query(
            "SELECT partition, next_offset FROM group_offsets WHERE grp=? AND topic=?", (group, topic)
        )
        return {p: o for p, o in rows}

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        if offsets:
            self._local().write(lambda conn: _upsert_offsets(conn, group, topic, offsets))

    def compare_and_commit(
        self, group: str, topic: str, expected: dict[int, int | None], new: dict[int, int]
    ) -> bool:
        """Read, compare and write in one write transaction (``BEGIN IMMEDIATE``): SQLite lets
        one writer at a time into the file, so of the host's workers racing for a record one
        sees the old position and moves it, the others see the moved one and lose."""
        if not new:
            return True

        def cas(conn: sqlite3.Connection) -> bool:
            rows = conn.execute(
                "SELECT partition, next_offset FROM group_offsets WHERE grp=? AND topic=?", (group, topic)
            ).fetchall()
            if not matches({p: o for p, o in rows}, expected):
                return False
            _upsert_offsets(conn, group, topic, new)
            return True

        return self._local().write(cas)

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a write transaction (used by the group consumer)."""
        return self._local().write(fn)

    def close(self) -> None:
        """Close this process's group consumers (leaving their groups), then the connections."""
        for consumer in list(self._consumers):
            if consumer.pid == os.getpid():
                consumer.close()
        state = self._state
        self._closed = True
        self._state = None
        if state is not None and state.pid == os.getpid():
            state.close()


class EmbeddedReader(Reader):
    """Reads partitions of one topic from explicit offsets; partitions absent from ``start``
    begin at the current end (only records produced from now on)."""

    def __init__(self, broker: EmbeddedBroker, topic: str, start: dict[int, int]) -> None:
        self._broker = broker
        self._topic = topic
        ends = broker.end_offsets(topic)
        self._positions = {p: int(start.get(p, ends[p])) for p in ends}
        self._next_first = 0

    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]:
        deadline = time.monotonic() + timeout
        while True:
            records = self._read(max_records)
            if records or not self._positions:
                return records
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._broker.wait_for({self._topic: self._positions}, remaining)

    def _read(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        parts = sorted(self._positions)
        if not parts:  # closed
            return out
        # Rotate the first partition so a busy partition cannot starve the others.
        first = self._next_first % len(parts)
        self._next_first += 1
        for p in parts[first:] + parts[:first]:
            if len(out) >= max_records:
                break
            got = self._broker.read_range(self._topic, p, self._positions[p], max_records - len(out))
            if got:
                out.extend(got)
                self._positions[p] = got[-1].offset + 1
            else:
                self._skip_deleted(p)
        return out

    def _skip_deleted(self, partition: int) -> None:
        if self._broker.max_records_per_partition is None:
            return
        start = self._broker.beginning_offsets(self._topic).get(partition, 0)
        self._positions[partition] = max(self._positions[partition], start)

    def seek(self, offsets: dict[int, int]) -> None:
        for p, o in offsets.items():
            if p not in self._positions:
                raise BrokerError(f"topic {self._topic!r} has no partition {p}")
            self._positions[p] = int(o)

    def positions(self) -> dict[int, int]:
        return dict(self._positions)

    def close(self) -> None:
        self._positions = {}


class EmbeddedGroupConsumer(GroupConsumer):
    """A member of a consumer group; see the module docstring for how partitions are shared."""

    def __init__(self, broker: EmbeddedBroker, group: str, topics: list[str], start_from_oldest: bool) -> None:
        self._broker = broker
        self._group = group
        self._topics = list(dict.fromkeys(topics))
        self._oldest = start_from_oldest
        self.pid = os.getpid()
        self.member_id = f"{self.pid}-{uuid.uuid4().hex[:12]}"
        self._positions: dict[tuple[str, int], int] = {}
        self._committed: dict[tuple[str, int], int] = {}
        self._lock = gevent.lock.RLock()
        self._closed = False
        self._rotation = 0
        self._revoking: set[tuple[str, int]] = set()
        for topic in self._topics:
            broker.create_topic(topic)
        self._rebalance()
        self._heartbeat = gevent.spawn(self._heartbeat_loop)

    # -- membership ----------------------------------------------------------------------------

    def assignment(self) -> set[tuple[str, int]]:
        """The (topic, partition) pairs this member currently holds."""
        return set(self._positions)

    def paused(self) -> set[tuple[str, int]]:
        """Held partitions being handed over to another member: not fetched from until what was
        fetched is committed, then released at the next heartbeat."""
        return set(self._revoking)

    def _heartbeat_loop(self) -> None:
        interval = self._broker.lease_seconds / 3
        while not self._closed:
            gevent.sleep(interval)
            try:
                self._rebalance()
            except Exception:  # keep beating; the next round retries
                log.exception("embedded broker: heartbeat of %s in group %s failed", self.member_id, self._group)

    def _rebalance(self) -> None:
        with self._lock:
            if self._closed:
                return
            known = set(self._positions)
            releasable = {tp for tp, pos in self._positions.items() if self._committed.get(tp, pos) >= pos}
            held, revoking = self._broker.write(lambda conn: self._rebalance_txn(conn, known, releasable))
            for tp in list(self._positions):
                if tp not in held:
                    del self._positions[tp]
                    self._committed.pop(tp, None)
            for tp, start in held.items():
                if tp not in self._positions:
                    self._positions[tp] = start
                    self._committed[tp] = start
            # Partitions another member should get but that still have uncommitted records: stop
            # fetching from them so they drain, and give them away at a later heartbeat.
            self._revoking = revoking

    def _rebalance_txn(
        self, conn: sqlite3.Connection, known: set[tuple[str, int]], releasable: set[tuple[str, int]]
    ) -> tuple[dict[tuple[str, int], int], set[tuple[str, int]]]:
        """Renew this member, release extra partitions, take free ones (runs inside the write
        transaction). Returns what it holds, with the start offset of newly taken partitions,
        and the extra partitions it could not release yet."""
        now = time.time()
        expires = now + self._broker.lease_seconds
        group, me = self._group, self.member_id
        conn.execute("DELETE FROM members WHERE grp=? AND expires<?", (group, now))
        conn.executemany(
            "INSERT INTO members (grp, topic, member, expires) VALUES (?,?,?,?) "
            "ON CONFLICT (grp, topic, member) DO UPDATE SET expires=excluded.expires",
            [(group, t, me, expires) for t in self._topics],
        )
        # A lease row naming this member was never taken over (taking over rewrites the member),
        # so it is still ours even if a late heartbeat let it expire.
        conn.execute("UPDATE leases SET expires=? WHERE grp=? AND member=?", (expires, group, me))
        held: dict[tuple[str, int], int] = {}
        revoking: set[tuple[str, int]] = set()
        for topic in self._topics:
            n_parts = conn.execute("SELECT partitions FROM topics WHERE topic=?", (topic,)).fetchone()[0]
            live = [r[0] for r in conn.execute(
                "SELECT member FROM members WHERE grp=? AND topic=? ORDER BY member", (group, topic)
            )]
            index = live.index(me)
            share = n_parts // len(live) + (1 if index < n_parts % len(live) else 0)
            mine = [r[0] for r in conn.execute(
                "SELECT partition FROM leases WHERE grp=? AND topic=? AND member=? ORDER BY partition",
                (group, topic, me),
            )]
            extra = len(mine) - share
            for p in reversed(list(mine)):
                if extra <= 0:
                    break
                if (topic, p) in releasable:
                    conn.execute("DELETE FROM leases WHERE grp=? AND topic=? AND partition=?", (group, topic, p))
                    mine.remove(p)
                else:
                    revoking.add((topic, p))
                extra -= 1
            if len(mine) < share:
                taken = {r[0] for r in conn.execute(
                    "SELECT partition FROM leases WHERE grp=? AND topic=? AND expires>=?", (group, topic, now)
                )}
                for p in range(n_parts):
                    if len(mine) >= share:
                        break
                    if p not in taken:
                        conn.execute(
                            "INSERT OR REPLACE INTO leases (grp, topic, partition, member, expires) VALUES (?,?,?,?,?)",
                            (group, topic, p, me, expires),
                        )
                        mine.append(p)
            for p in mine:
                held[(topic, p)] = -1 if (topic, p) in known else self._start_offset(conn, topic, p)
        return held, revoking

    def _start_offset(self, conn: sqlite3.Connection, topic: str, partition: int) -> int:
        row = conn.execute(
            "SELECT next_offset FROM group_offsets WHERE grp=? AND topic=? AND partition=?",
            (self._group, topic, partition),
        ).fetchone()
        start, nxt = conn.execute(
            "SELECT start_offset, next_offset FROM heads WHERE topic=? AND partition=?", (topic, partition)
        ).fetchone()
        if row is not None:
            return max(int(row[0]), start)
        if self._oldest:
            return int(start)
        # Starting from the newest: record where, so a member that takes over after a crash
        # resumes here instead of skipping what was produced in between.
        _upsert_offsets(conn, self._group, topic, {partition: nxt})
        return int(nxt)

    # -- consuming -----------------------------------------------------------------------------

    def fetch(self, timeout: float, max_records: int = 500) -> list[Record]:
        deadline = time.monotonic() + timeout
        while not self._closed:
            records = self._read(max_records)
            if records:
                return records
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            # Wake up at least once per heartbeat to notice newly assigned partitions.
            chunk = min(remaining, self._broker.lease_seconds / 3)
            wants: dict[str, dict[int, int]] = {}
            for (topic, p), pos in self._positions.items():
                if (topic, p) not in self._revoking:
                    wants.setdefault(topic, {})[p] = pos
            self._broker.wait_for(wants, chunk)
        return []

    def _read(self, max_records: int) -> list[Record]:
        with self._lock:
            out: list[Record] = []
            pairs = sorted(tp for tp in self._positions if tp not in self._revoking)
            if not pairs:
                return out
            first = self._rotation % len(pairs)
            self._rotation += 1
            for tp in pairs[first:] + pairs[:first]:
                if len(out) >= max_records:
                    break
                got = self._broker.read_range(tp[0], tp[1], self._positions[tp], max_records - len(out))
                if got:
                    out.extend(got)
                    self._positions[tp] = got[-1].offset + 1
            return out

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Commit next-offsets; raises ``BrokerError`` naming the partitions this member no longer
        holds (their records go to the new owner, at-least-once), after committing the rest."""
        if not offsets:
            return
        group, me = self._group, self.member_id

        def txn(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            lost = []
            for (topic, p), off in offsets.items():
                row = conn.execute(
                    "SELECT member FROM leases WHERE grp=? AND topic=? AND partition=?", (group, topic, p)
                ).fetchone()
                if row is None or row[0] != me:
                    lost.append((topic, p))
                    continue
                _upsert_offsets(conn, group, topic, {p: off})
            return lost

        lost = self._broker.write(txn)
        for tp, off in offsets.items():
            if tp not in lost and tp in self._committed:
                self._committed[tp] = max(self._committed[tp], int(off))
        if lost:
            raise BrokerError(f"group {group!r}: partitions no longer assigned to this member: {sorted(lost)}")

    def close(self) -> None:
        """Leave the group: give up leases at once so others need not wait for them to expire."""
        if self._closed:
            return
        self._closed = True
        self._heartbeat.kill(block=False)
        group, me = self._group, self.member_id

        def txn(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM leases WHERE grp=? AND member=?", (group, me))
            conn.execute("DELETE FROM members WHERE grp=? AND member=?", (group, me))

        try:
            self._broker.write(txn)
        except Exception:  # the leases expire on their own
            log.exception("embedded broker: leaving group %s failed", group)
        self._positions.clear()
