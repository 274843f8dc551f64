"""State shared by every worker process of one host, so that the host behaves as one gateway
(DESIGN §10): which worker runs an input that must run once per host (``HostLease``), how far
such an input got (``progress``), and the caches and rate-limit counters of ``dedupe`` and
``rate_limit_resources`` and of the APIs' ``rateLimit`` (``cache_add``/``cache_get``/
``cache_set``/``cache_delete``, ``rate_take``), and the streaming connections open per client
identity (``streaming_open``/``streaming_close``).

Leases are ``flock`` locks on files under ``<data_dir>/host/``: the kernel releases a lock the
moment its process dies, however it died, so another worker can take the input over at once.

Caches, counters and progress live in one SQLite file, ``<data_dir>/host/state.sqlite3`` (WAL,
``synchronous=NORMAL``: a commit is not fsynced, so a host that loses power may forget the last
writes, e.g. dedupe keys or a ``generate`` batch count; a crashed process loses nothing). Every operation is one short write
transaction taken with ``BEGIN IMMEDIATE`` (or one read), so it is atomic across the host's
processes and counts are exact. Each process opens its own connection on first use and never
uses one that crossed a ``fork``: a fork through ``os.fork`` closes the parent's connections
first, and a connection whose process id is not ours is set aside unused (sqlite.org,
"How to corrupt", §2.6).

Times are wall-clock (``time.time()``) because the file outlives processes and reboots; a clock
stepped back makes a rate window restart early rather than last forever.

NOTE: under gevent a SQLite call blocks the worker's event loop for its duration (tens of µs),
hence one statement per transaction and expired rows purged in small batches now and then, not on
every call. Waiting for another process's write lock is not done in SQLite's busy handler (it
would block the loop for up to a second under contention) but in ``_retry_busy``, whose
short sleeps let the worker's other greenlets run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import re
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

STATE_FILE = "state.sqlite3"
BUSY_TIMEOUT_S = 5.0
"""How long an operation waits for another process's write transaction before failing."""
RETRY_MIN_S = 0.0001
RETRY_MAX_S = 0.0005
"""Bounds of the random sleep between attempts to take a lock (``_retry_busy``)."""
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
T = TypeVar("T")
PURGE_EVERY_S = 10.0
"""How often each process deletes expired cache entries and finished rate windows."""
PURGE_BATCH = 500
"""Rows deleted per purge, so one purge never holds the event loop for long; a full batch
brings the next purge forward to the next call."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cache (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
    " expires REAL, PRIMARY KEY (ns, key)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS cache_expires ON cache (expires) WHERE expires IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS rate (name TEXT PRIMARY KEY, resets REAL NOT NULL, used INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS streaming (identity TEXT NOT NULL, pid INTEGER NOT NULL, run TEXT NOT NULL,"
    " open INTEGER NOT NULL, PRIMARY KEY (identity, pid)) WITHOUT ROWID",
)
_STREAMING_ROWS = "SELECT pid, run, open FROM streaming WHERE identity = ?"
_STREAMING_FORGET = "DELETE FROM streaming WHERE identity = ? AND pid = ?"
_STREAMING_OPEN = (
    "INSERT INTO streaming (identity, pid, run, open) VALUES (?, ?, ?, 1)"
    " ON CONFLICT (identity, pid) DO UPDATE SET open = streaming.open + 1, run = excluded.run"
)
_STREAMING_CLOSE = "UPDATE streaming SET open = open - 1 WHERE identity = ? AND pid = ?"
_STREAMING_EMPTY = "DELETE FROM streaming WHERE identity = ? AND pid = ? AND open <= 0"

# Bento's cache ``Add``: insert, or replace an entry that has expired; a live entry stays.
_CACHE_ADD = (
    "INSERT INTO cache (ns, key, value, expires) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
    " WHERE cache.expires IS NOT NULL AND cache.expires <= ?"
)
_CACHE_SET = (
    "INSERT INTO cache (ns, key, value, expires) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
)
_CACHE_GET = "SELECT value FROM cache WHERE ns = ? AND key = ? AND (expires IS NULL OR expires > ?)"
_CACHE_DELETE = "DELETE FROM cache WHERE ns = ? AND key = ?"
# A fixed window: a call after ``resets`` (or before the window began: the clock went back)
# opens a new window; within one, ``used`` counts calls and stops one past ``count``.
# NOTE: ``:now`` is read before the write lock is taken, so a caller may arrive with a time
# slightly before the window another process just opened; only a clock more than
# ``CLOCK_STEP_S`` behind the window's start counts as the clock having been set back.
CLOCK_STEP_S = 1.0
_RATE_TAKE = (
    "INSERT INTO rate (name, resets, used) VALUES (:name, :now + :interval, 1)"
    " ON CONFLICT (name) DO UPDATE SET"
    " resets = CASE WHEN :now >= rate.resets OR :now < rate.resets - :interval - :step THEN :now + :interval"
    " ELSE rate.resets END,"
    " used = CASE WHEN :now >= rate.resets OR :now < rate.resets - :interval - :step THEN 1"
    " ELSE MIN(rate.used + 1, :count + 1) END"
    " RETURNING resets, used"
)
_RATE_PEEK = "SELECT used, resets FROM rate WHERE name = ? AND resets > ?"
_PURGE_CACHE = (
    "DELETE FROM cache WHERE (ns, key) IN (SELECT ns, key FROM cache WHERE expires IS NOT NULL AND expires <= ? LIMIT ?)"
)
_PURGE_RATE = "DELETE FROM rate WHERE name IN (SELECT name FROM rate WHERE resets <= ? LIMIT ?)"


_PROGRESS = "_progress"
"""The cache holding how far once-per-host inputs got (``set_progress``)."""


class HostStateError(Exception):
    """The host's state file could not be read or written (SQLite's error in the message)."""


def _safe_name(name: str) -> str:
    """A file name for ``name``: readable where it can be, unique by its hash."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"


class HostLease:
    """An exclusive, non-blocking claim on ``name`` among the processes of this host."""

    def __init__(self, directory: str, name: str) -> None:
        self.name = name
        self.path = os.path.join(directory, _safe_name(name) + ".lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if no other process holds it; never blocks."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def gateway_run_id() -> str:
    """Names this run of the gateway: the same in every worker of one gunicorn master (and in
    the workers it forks to replace dead ones), new when the gateway restarts. The master's pid
    with its start time (a pid alone may be reused)."""
    ppid = os.getppid()
    try:
        with open(f"/proc/{ppid}/stat") as f:
            started = f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "0"
    return f"{ppid}.{started}"


_LIVE: weakref.WeakSet[HostState] = weakref.WeakSet()
_INHERITED: list[sqlite3.Connection] = []
"""Connections another process opened (they reached us through a fork that bypassed
``os.register_at_fork``): kept referenced so they are never used nor closed here."""


def _close_before_fork() -> None:
    for state in list(_LIVE):
        state.close()


os.register_at_fork(before=_close_before_fork)


class HostState:
    """Per-host shared state under ``<data_dir>/host/`` (see module doc)."""

    def __init__(self, data_dir: str) -> None:
        self.directory = os.path.join(data_dir, "host")
        os.makedirs(self.directory, exist_ok=True)
        self.path = os.path.join(self.directory, STATE_FILE)
        self.run_id = gateway_run_id()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._next_purge = 0.0
        _LIVE.add(self)

    # -- leases and progress -------------------------------------------------------------------

    def lease(self, name: str) -> HostLease:
        return HostLease(self.directory, name)

    def progress(self, name: str) -> int:
        """The last value ``set_progress`` stored for ``name`` on this host (0 when none)."""
        stored = self.cache_get(_PROGRESS, name)
        return int(stored) if stored else 0

    def set_progress(self, name: str, value: int) -> None:
        """Store ``value`` for ``name`` (it survives the process that wrote it)."""
        self.cache_set(_PROGRESS, name, str(int(value)).encode())

    # -- caches --------------------------------------------------------------------------------

    def cache_add(self, cache: str, key: str, value: bytes = b"", ttl: float | None = None) -> bool:
        """Store ``key`` in ``cache`` unless it is there and has not expired (Bento's cache
        ``Add``): True when stored, False when the key exists. ``ttl`` in seconds; None or 0 keeps
        the entry until it is deleted."""
        now = time.time()
        changed, _ = self._write(now, _CACHE_ADD, (cache, key, value, _expires(now, ttl), now))
        return changed == 1

    def cache_get(self, cache: str, key: str) -> bytes | None:
        """The value stored for ``key`` in ``cache``, or None when there is none or it expired."""
        conn = self._connection()
        try:
            row = _retry_busy(lambda: conn.execute(_CACHE_GET, (cache, key, time.time())).fetchone())
        except sqlite3.Error as exc:
            raise HostStateError(f"host state read failed: {exc}") from exc
        return None if row is None else bytes(row[0])

    def cache_set(self, cache: str, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` for ``key`` in ``cache``, replacing any entry (``ttl`` as in
        ``cache_add``)."""
        now = time.time()
        self._write(now, _CACHE_SET, (cache, key, value, _expires(now, ttl)))

    def cache_delete(self, cache: str, key: str) -> None:
        """Forget ``key`` in ``cache`` (nothing happens when it is not there)."""
        self._write(time.time(), _CACHE_DELETE, (cache, key))

    # -- rate limits ---------------------------------------------------------------------------

    def rate_take(self, name: str, count: int, interval: float) -> float:
        """One call against the limit ``name``: at most ``count`` calls per fixed window of
        ``interval`` seconds, counted over every process of the host. 0.0 when the call may go
        ahead (it is counted), else the seconds until the window resets (the call is not
        counted). A window opens with the first call after the previous one ended."""
        if count <= 0 or interval <= 0:
            raise ValueError("count and interval must be positive")
        now = time.time()
        params = {"name": name, "now": now, "interval": float(interval), "count": int(count), "step": CLOCK_STEP_S}
        _, rows = self._write(now, _RATE_TAKE, params)
        resets, used = rows[0]
        # ``now`` was read before the lock: the window may have opened a moment "after" it.
        return 0.0 if used <= count else min(max(resets - now, 1e-6), float(interval))

    def rate_peek(self, name: str) -> tuple[int, float] | None:
        """``(calls counted, wall-clock reset time)`` of the open window of ``name``, without
        counting a call; None when no window is open. ``calls`` may be one past the limit."""
        conn = self._connection()
        try:
            row = _retry_busy(lambda: conn.execute(_RATE_PEEK, (name, time.time())).fetchone())
        except sqlite3.Error as exc:
            raise HostStateError(f"host state read failed: {exc}") from exc
        return None if row is None else (int(row[0]), float(row[1]))

    # -- streaming connections -----------------------------------------------------------------

    def streaming_open(self, identity: str, limit: int) -> bool:
        """Count one more streaming connection (SSE, WebSocket, long-poll GET) of ``identity``
        on this host unless it already has ``limit`` open: True when counted (the caller calls
        ``streaming_close`` when it ends), False when refused.

        Each process keeps its own row per identity; rows of a process that died (SIGKILL, a
        crash: it never closed them) or of an earlier run of the gateway are dropped here, so
        a dead worker's connections stop counting the moment it is gone."""
        if limit <= 0:
            raise ValueError("limit must be positive")
        me = os.getpid()

        def open_one(conn: sqlite3.Connection) -> bool:
            total = 0
            for pid, run, count in conn.execute(_STREAMING_ROWS, (identity,)).fetchall():
                if pid != me and (run != self.run_id or not _alive(pid)):
                    conn.execute(_STREAMING_FORGET, (identity, pid))
                    continue
                total += count
            if total >= limit:
                return False
            conn.execute(_STREAMING_OPEN, (identity, me, self.run_id))
            return True

        return self._transact(open_one)

    def streaming_close(self, identity: str) -> None:
        """One streaming connection of ``identity`` counted by this process has ended."""
        me = os.getpid()

        def close_one(conn: sqlite3.Connection) -> None:
            conn.execute(_STREAMING_CLOSE, (identity, me))
            conn.execute(_STREAMING_EMPTY, (identity, me))

        self._transact(close_one)

    # -- the connection ------------------------------------------------------------------------

    def close(self) -> None:
        """Close this process's connection (the next operation opens a new one); leases are
        released by their holders."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._pid == os.getpid():
            conn.close()
        else:
            _INHERITED.append(conn)

    def _connection(self) -> sqlite3.Connection:
        """This process's connection, opened on first use and after a fork."""
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self.close()
        try:
            self._conn = _open(self.path)
        except sqlite3.Error as exc:
            raise HostStateError(f"cannot open {self.path}: {exc}") from exc
        self._pid = os.getpid()
        return self._conn

    def _write(self, now: float, sql: str, params: tuple[object, ...] | dict[str, object]) -> tuple[int, list[Any]]:
        """Run ``sql`` in a write transaction of its own, purging expired rows first when due:
        the rows it changed and the rows it returned (``RETURNING``)."""
        conn = self._connection()
        try:
            if now >= self._next_purge:
                with _transaction(conn):
                    deleted = conn.execute(_PURGE_CACHE, (now, PURGE_BATCH)).rowcount
                    conn.execute(_PURGE_RATE, (now, PURGE_BATCH))
                self._next_purge = now if deleted >= PURGE_BATCH else now + PURGE_EVERY_S
            with _transaction(conn):
                cur = conn.execute(sql, params)
                rows = cur.fetchall()
                changed = cur.rowcount
        except sqlite3.Error as exc:
            raise HostStateError(f"host state write failed: {exc}") from exc
        return changed, rows


    def _transact(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(conn)`` inside one write transaction (several statements, atomic across the
        host's processes)."""
        conn = self._connection()
        try:
            with _transaction(conn):
                return work(conn)
        except sqlite3.Error as exc:
            raise HostStateError(f"host state write failed: {exc}") from exc


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error)."""
    _begin_immediate(conn)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Take the write lock, waiting while another process holds it (``_retry_busy``)."""
    _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))


def _retry_busy(attempt: Callable[[], T]) -> T:
    """``attempt()``, again while SQLite answers "busy" (another process holds the lock it
    needs), for up to ``BUSY_TIMEOUT_S``.

    PERF: SQLite's own busy handler (``busy_timeout``) sleeps 1, 2, 5, 10 ... 100 ms between
    attempts; with several processes writing all the time a waiting process oversleeps every
    release and can starve for a second or more (measured with bench/host_state.py). Short
    randomised sleeps take the lock soon after it is released. ``time.sleep`` is gevent's in a
    worker, so the wait lets the worker's other greenlets run (no transaction is open then).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = RETRY_MIN_S
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in _BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(random.uniform(0.0, delay))
        delay = min(delay * 2, RETRY_MAX_S)


def _expires(now: float, ttl: float | None) -> float | None:
    return now + ttl if ttl else None


def _open(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), with the file in WAL mode
    and the tables created (every process does it; the first one does the work). SQLite's busy
    handler waits while the file is being set up, and is then turned off (``_retry_busy``
    retries instead)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        # NOTE: switching a new file to WAL can answer "locked" at once, without the busy
        # handler, while another process is doing the same (several workers start together).
        _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=NORMAL")
        with _transaction(conn):
            for statement in _SCHEMA:
                conn.execute(statement)
        conn.execute("PRAGMA busy_timeout=0")
    except BaseException:
        conn.close()
        raise
    return conn
