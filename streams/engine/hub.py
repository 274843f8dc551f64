"""Serving an ``http_server`` output fed by a broker topic (the seed's ``out`` stream).

The instance does NOT join its consumer group: every worker process (and host) must be able to
serve the user, so the group is only a place to keep offsets (DESIGN §7).

* ``pull`` (REST GET): under a per-instance lock, re-read the group's committed offsets; read the
  backlog up to the topic's end (with a reader borrowed from the worker's pool for the topic),
  then, caught up, wait on the topic's shared feed (no reader of its own: a thousand waiting GETs
  are not a thousand Kafka consumers); skip messages the processors delete, commit the next
  offset of the first surviving record *before* returning it (all its messages: a record the
  processors split is one batch), so a next GET on any worker starts after it; ``nack`` puts the
  commit back if nobody moved it since. Sequential GETs: in order, none twice, none skipped.
  Every such commit is a compare-and-set (``Broker.compare_and_commit``): of two GETs on two
  workers or hosts claiming one record at once, one wins; the other re-reads from the new
  position and keeps waiting (and, until its deadline, re-checks the position now and then: the
  winner's client may go away and hand the record back). Concurrent GETs: none twice either.
  Closing the hub wakes waiting GETs at once (they get None).
* ``subscribe`` (SSE/WS): broadcast. While at least one client is attached, the instance listens
  to the worker's ``TopicFeed`` of each topic from the user's committed offsets on (shared by
  every user's instance: catch-up scans, then one live reader) and offers every surviving
  message to every attached client (and to a waiting GET). Offsets are committed in batches to
  the lowest position every attached client acknowledged. A client resuming with
  ``Last-Event-ID`` first catches up with a private reader (at most ``CATCH_UP_SLOTS`` of them
  per worker at once; more wait for a slot), then merges into the instance's feed at a point
  where nothing can be missed or repeated.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.lock

from streams.bloblang.filters import FieldFilter
from streams.brokers.base import Reader, Record
from streams.contracts import DeletionCheck
from streams.engine.delivery import Delivery, Subscription
from streams.engine.feed import TopicFeed
from streams.engine.ledger import BroadcastLedger, GetClaim
from streams.engine.logs import StreamLog
from streams.engine.readers import ReaderPool
from streams.engine.records import event_id, parse_event_id, record_to_message
from streams.engine.services import BrokerServices
from streams.message import Message

Key = tuple[str, int]
Process = Callable[[Message], list[Message]]

RECHECK_S = 0.5
"""How often a GET that lost a claim re-reads the user's position while it waits: the winner's
client may go away and hand the record back, and the position then moves back under the feed."""


class _Lost:
    """A GET's claim lost to another GET's: read again from the group's new position."""


LOST = _Lost()


class _GetWait:
    """A GET caught up with the topics' ends, waiting on their feeds for its next record."""

    __slots__ = ("gets", "result")

    def __init__(self, gets: dict[str, GetClaim]) -> None:
        self.gets = gets
        self.result: gevent.event.AsyncResult = gevent.event.AsyncResult()


def _at(record: Record) -> dict[str, Any]:
    """Where a record sits, as log fields."""
    return {"topic": record.topic, "partition": record.partition, "offset": record.offset}


class BrokerHub:
    def __init__(
        self,
        services: BrokerServices,
        group: str,
        topics: list[str],
        start_from_oldest: bool,
        process: Process,
        log: StreamLog,
        client_queue: int,
        commit_period: float = 1.0,
        on_read: Callable[[Record], None] | None = None,
        deletes: DeletionCheck | None = None,
    ) -> None:
        """``on_read``: told of every record this hub reads from its topics, before processing
        (the stream's "received" count, see ``read_tally.py``; one callable for every hub of a
        stream). ``deletes``: says which messages ``process`` would surely delete
        (``Processor.deletion_check``); such records skip it. PERF: a topic shared by a
        thousand users' hubs is filtered by each of them, and the check is a field read and a
        comparison where processing is a copy and a mapping run. When it is a ``FieldFilter``
        it is also the hub's ``route``: the topic's feed then offers the hub only the records
        it may keep (``streams.engine.listeners``)."""
        self.services = services
        self.broker = services.lookups
        self.group = group
        self.topics = topics
        self.start_from_oldest = start_from_oldest
        self.process = process
        self.log = log
        self.client_queue = client_queue
        self.commit_period = max(0.05, commit_period)
        self._deletes = deletes
        self.route = deletes if isinstance(deletes, FieldFilter) else None
        self.read_hook = on_read
        # PERF: the two locks are made at their first use: a user's hub that only feeds stream
        # clients never pulls, and one whose clients were handed nothing never commits.
        self._pull_lock: gevent.lock.Semaphore | None = None
        self._subs: set[Subscription] = set()
        # PERF: a dict (64 bytes empty; a set is 216): most clients never catch up on their own.
        self._catching_up: dict[Subscription, None] = {}
        self._waiters: list[Subscription] = []
        self._ledger = BroadcastLedger()
        self._multi_partition = False  # one topic of several partitions: ids list them all
        self._listening = False  # to the feeds of its topics
        self._slots = services.catch_up_slots
        self._starter: gevent.Greenlet | None = None
        self._committer: gevent.Greenlet | None = None
        self._commit_lock: gevent.lock.Semaphore | None = None
        self._closed = False
        self._get_wait: _GetWait | None = None  # the GET waiting on the feeds (one: _pull_lock)

    # -- positions -------------------------------------------------------------------------

    def start_offsets(self, topic: str) -> dict[int, int]:
        """The group's committed next-offsets, oldest/newest for partitions never committed."""
        return self._fill(topic, self.broker.committed(self.group, topic))

    def _fill(self, topic: str, committed: dict[int, int]) -> dict[int, int]:
        """``committed`` with the partitions never committed at the oldest/newest offset."""
        committed = dict(committed)
        parts = self.broker.partitions(topic)
        missing = [p for p in parts if p not in committed]
        if missing:
            edge = self.broker.beginning_offsets(topic) if self.start_from_oldest else self.broker.end_offsets(topic)
            for p in missing:
                committed[p] = edge.get(p, 0)
        return committed

    def pin_start(self) -> None:
        """With ``start_from_oldest: false``, record "now" as the user's position on first use,
        so messages arriving between two GETs are kept for them instead of skipped."""
        if self.start_from_oldest:
            return
        for topic in self.topics:
            committed = self.broker.committed(self.group, topic)
            parts = self.broker.partitions(topic)
            missing = [p for p in parts if p not in committed]
            if missing:
                ends = self.broker.end_offsets(topic)
                # NOTE: only where still uncommitted: a GET elsewhere may have claimed meanwhile.
                self.broker.compare_and_commit(
                    self.group, topic, {p: None for p in missing}, {p: ends.get(p, 0) for p in missing}
                )

    def _pool(self, topic: str) -> ReaderPool:
        return self.services.readers(topic)

    def _process_record(self, record: Record, shared: Message | None = None) -> list[Message]:
        """The messages of one record for this user's clients; ``shared``: the record as a
        message already (from the feed, shared with other hubs: processed as a copy).

        NOTE: a message a processor failed on is never delivered (unlike Bento, which passes it
        on flagged): the failing processor is typically the filter that decides whose message it
        is, so delivering it could hand one user's message to every user (promise 3).
        A routed hub's feed already counted the record it feeds (its ``read_hook``, called
        once per record for the stream by ``streams.engine.listeners``).
        """
        if self.read_hook is not None and not (shared is not None and self.route is not None):
            self.read_hook(record)
        msg = shared if shared is not None else record_to_message(record)
        if self._deletes is not None and self._deletes.deletes(msg):
            return []  # NOTE: may parse the shared message: its copies then share the value
        try:
            out = self.process(msg.copy() if shared is not None else msg)
        except Exception:
            self.log.exception("processing failed; record skipped", **_at(record))
            return []
        failed = [m for m in out if m.error is not None]
        if failed:
            self.log.warning(f"processing failed; record not delivered: {failed[0].error}", **_at(record))
            return [m for m in out if m.error is None]
        return out

    def _delivery(
        self,
        msg: Message,
        record: Record,
        on_ack: Callable[[], None] | None = None,
        on_nack: Callable[[], None] | None = None,
        positions: dict[int, int] | None = None,
    ) -> Delivery:
        """``positions`` (next offsets per partition, for a topic of several partitions): what
        the client has had when it gets this record, carried in the event id for resuming."""
        through = {p: o - 1 for p, o in positions.items()} if positions else None
        eid = event_id(record.partition, record.offset, through)
        return Delivery(msg.content, dict(msg.metadata), eid, on_ack, on_nack)

    # -- pull ------------------------------------------------------------------------------

    def pull(self, timeout: float) -> Delivery | None:
        """The user's next message (see module doc), or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        lock = self._pull_lock
        if lock is None:
            lock = self._pull_lock = gevent.lock.Semaphore()
        if not lock.acquire(timeout=timeout):
            return None
        try:
            if self._closed:
                return None
            if self._subs or self._catching_up:
                return self._pull_broadcast(deadline)
            return self._pull_committed(deadline)
        finally:
            lock.release()

    def _pull_committed(self, deadline: float) -> Delivery | None:
        """Read from the group's position until a claim wins or ``deadline`` passes."""
        recheck = False
        while True:
            got = self._pull_from_committed(deadline, recheck)
            if not isinstance(got, _Lost):
                return got
            recheck = True

    def _pull_from_committed(self, deadline: float, recheck: bool) -> Delivery | _Lost | None:
        """Read the backlog (if any) with borrowed readers, then wait on the topics' feeds."""
        committed = {t: self.broker.committed(self.group, t) for t in self.topics}
        starts = {t: self._fill(t, committed[t]) for t in self.topics}
        heads = {t: self.broker.end_offsets(t) for t in self.topics}
        gets = {t: GetClaim(t, starts[t], committed[t]) for t in self.topics}
        positions = {t: dict(starts[t]) for t in self.topics}
        for topic in self.topics:
            if any(starts[topic].get(p, 0) < o for p, o in heads[topic].items()):
                found = self._read_backlog(gets[topic], heads[topic], positions, deadline)
                if found is not None:
                    return found
        if self._closed or time.monotonic() >= deadline:
            self._commit_all_skipped(gets)
            return None
        if self._subs or self._catching_up:
            # A stream client attached meanwhile: its feed now serves GETs too.
            self._commit_all_skipped(gets)
            return self._pull_broadcast(deadline)
        return self._wait_live(gets, positions, heads, deadline, recheck)

    def _read_backlog(
        self, get: GetClaim, head: dict[int, int], positions: dict[str, dict[int, int]], deadline: float
    ) -> Delivery | _Lost | None:
        """Read ``get``'s topic up to ``head`` with a reader borrowed from the worker's pool; the
        first surviving record is claimed. ``positions`` learns where the reading stopped."""
        topic = get.topic
        reader = self._pool(topic).borrow(positions[topic])
        try:
            found: Delivery | _Lost | None = None
            while found is None and not self._closed:
                remaining = deadline - time.monotonic()
                at = reader.positions()
                if remaining <= 0 or all(at.get(p, 0) >= o for p, o in head.items()):
                    break
                # NOTE: short waits, so a closing hub wakes its GETs at once.
                for record in reader.fetch(timeout=min(remaining, 0.2), max_records=100):
                    out = self._process_record(record)
                    if out:
                        found = self._claim(get, record, out)
                        break
                    get.skip(record.partition, record.offset)
            positions[topic] = reader.positions()
        except BaseException:
            # A reader that failed (or was interrupted mid-fetch) is not lent to the next GET.
            reader.close()
            raise
        self._pool(topic).give_back(reader)
        return found

    def _wait_live(
        self,
        gets: dict[str, GetClaim],
        positions: dict[str, dict[int, int]],
        heads: dict[str, dict[int, int]],
        deadline: float,
        recheck: bool = False,
    ) -> Delivery | _Lost | None:
        """Caught up with the topics' ends: wait on their shared feeds (no reader of its own) for
        the next surviving record, and claim it. With ``recheck`` (this GET lost a claim), look
        at the group's position every ``RECHECK_S``: if it moved, read again from there."""
        waiting = _GetWait(gets)
        self._get_wait = waiting
        try:
            if not self._listening:
                self._start_feeding(positions, heads)
            got = None
            while not waiting.result.ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready = waiting.result.wait(timeout=min(left, RECHECK_S) if recheck else left)
                if ready is None and recheck and not waiting.result.ready() and self._position_moved(gets):
                    return LOST
            if waiting.result.ready():
                got = waiting.result.get(block=False)
        finally:
            self._get_wait = None
            if not waiting.result.ready():
                self._skip_unoffered(gets)  # while the feeds still say where they are
            if not self._needs_feed():
                self._stop_feeding()
        if got is None:
            self._commit_all_skipped(gets)
            return None
        record, out = got
        return self._claim(gets[record.topic], record, out)

    def _position_moved(self, gets: dict[str, GetClaim]) -> bool:
        """Whether the group's position differs from what the GET read. A record the feed hands
        the GET meanwhile is not lost when the GET then starts again: it is not claimed, so the
        new reading finds it in the backlog."""
        return any(self.broker.committed(self.group, t) != get.committed for t, get in gets.items())

    def _commit_all_skipped(self, gets: dict[str, GetClaim]) -> None:
        for get in gets.values():
            self._commit_skipped(get)

    def _claim(self, get: GetClaim, record: Record, batch: list[Message]) -> Delivery | _Lost:
        """Commit past ``record`` before handing out its messages (all of them: Bento answers a
        GET of a batch with a multipart body), so no other GET can return it; LOST when another
        GET (any worker, any host) moved the position first."""
        move, claimed = get.claim(record.partition, record.offset)
        if not self.broker.compare_and_commit(self.group, record.topic, move.expected, move.new):
            self.log.info("another GET claimed first; reading again from the new position", **_at(record))
            return LOST

        def rollback() -> None:
            try:
                back = claimed.rollback()
                if self.broker.compare_and_commit(self.group, record.topic, back.expected, back.new):
                    self.log.info("client went away; message handed back", **_at(record))
                else:
                    self.log.warning("client went away after the position moved on; message not handed back", **_at(record))
            except Exception:
                self.log.exception("could not hand a message back", **_at(record))

        delivery = self._delivery(batch[0], record, on_nack=rollback)
        delivery.parts = tuple(m.content for m in batch)
        return delivery

    def _commit_skipped(self, get: GetClaim) -> None:
        """Messages the processors deleted count as delivered: move past them if nobody else
        moved the position meanwhile."""
        for move in get.skipped_moves():
            self.broker.compare_and_commit(self.group, get.topic, move.expected, move.new)

    def _pull_broadcast(self, deadline: float) -> Delivery | None:
        waiter = Subscription(1)
        self._waiters.append(waiter)
        try:
            return waiter.get(max(0.0, deadline - time.monotonic()))
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            waiter.close()

    # -- subscribe -------------------------------------------------------------------------

    def subscribe(self, last_event_id: str | None = None) -> Subscription:
        sub = Subscription(self.client_queue, on_close=self._detach)
        resume = parse_event_id(last_event_id)
        if resume is None:
            self._subs.add(sub)
            self._ensure_broadcast()
        else:
            sub.ledger.catching_up({})  # no say in commits until its reader is placed
            self._catching_up[sub] = None
            self._ensure_broadcast()
            gevent.spawn(self._catch_up, sub, resume)
        return sub

    def _detach(self, sub: Subscription) -> None:
        # NOTE: may run inside the broadcast loop (slow client cut off): never yield here.
        if sub in self._subs or sub in self._catching_up:
            self._subs.discard(sub)
            self._catching_up.pop(sub, None)
            if not self._closed:  # close() committed already
                self._sync_offered()  # before the feeds go: their positions count for the commit
                gevent.spawn(self._commit_broadcast, sub)
        if not self._needs_feed():
            self._stop_feeding()

    def _committing(self) -> gevent.lock.Semaphore:
        """The lock one commit at a time holds (made at its first use; never yields)."""
        lock = self._commit_lock
        if lock is None:
            lock = self._commit_lock = gevent.lock.Semaphore()
        return lock

    def _ensure_broadcast(self) -> None:
        """Start feeding stream clients, in the background: ``subscribe`` returns at once (the
        client gets its response head) while the user's offsets are looked up, which can take a
        while when thousands of users connect at once. Never yields."""
        if self._listening or self._closed or self._starter is not None:
            return
        self._starter = gevent.spawn(self._start_broadcast)

    def _start_broadcast(self) -> None:
        """Listen to each topic's feed from the user's committed offsets on."""
        try:
            while not self._listening and self._active():
                # A commit under way (the last client left a moment ago) lands first: the new
                # feed starts after what that client was handed, not before. Before the lock
                # is made, no commit ever was under way.
                with self._commit_lock or contextlib.nullcontext():
                    starts = {topic: self.start_offsets(topic) for topic in self.topics}
                heads = {topic: self.broker.end_offsets(topic) for topic in self.topics}
                if self._listening or not self._active():
                    continue
                self._start_feeding(starts, heads)
        except Exception:
            self.log.exception("stream reader could not start")
            for sub in list(self._subs | self._catching_up.keys()):
                sub.close("stream reader failed")
        finally:
            # NOTE: no yield since the loop's last check: a subscribe from now on starts anew.
            self._starter = None

    def _start_feeding(self, starts: dict[str, dict[int, int]], heads: dict[str, dict[int, int]]) -> None:
        """Never yields, so every topic's position is set before any record is fed."""
        self._ledger.start({(t, p): o for t, start in starts.items() for p, o in start.items()})
        self._multi_partition = len(self.topics) == 1 and len(self._ledger.offered) > 1
        self._listening = True
        for topic, start in starts.items():
            self._feed(topic).listen(self, start, heads[topic])

    def _feed(self, topic: str) -> TopicFeed:
        return self.services.feed(topic)

    def _stop_feeding(self) -> None:
        """No client left: leave the feeds. Never yields (called from ``_detach``)."""
        if self._listening:
            self._listening = False
            for topic in self.topics:
                self._feed(topic).leave(self)

    def _active(self) -> bool:
        return not self._closed and bool(self._subs or self._catching_up)

    def _needs_feed(self) -> bool:
        """Stream clients, or a GET waiting on the feeds."""
        return self._active() or (not self._closed and self._get_wait is not None)

    def feed(self, topic: str, record: Record, message: Message) -> None:
        """One record from the topic's feed (in its greenlet, in offset order per partition)."""
        if not self._listening:
            return
        self._handle(topic, record, message)

    def _handle(self, topic: str, record: Record, message: Message) -> None:
        key = (topic, record.partition)
        if not self._ledger.wants(key, record.offset):
            return  # a shared reader started below this hub's position
        out = self._process_record(record, message)
        # NOTE: from here to the position update nothing yields, so a merging catch-up client
        # sees a consistent "offered up to" position.
        for msg in out:
            self._offer_all(msg, record, key)
        self._ledger.offered_through(key, record.offset)
        waiting = self._get_wait
        if waiting is not None and not waiting.result.ready():
            if out:
                waiting.result.set((record, out))  # the GET claims it in its own greenlet
            else:
                waiting.gets[topic].skip(record.partition, record.offset)

    def feed_failed(self, topic: str) -> None:
        """The reader feeding this hub failed: clients reconnect (with Last-Event-ID) and
        resume."""
        self._stop_feeding()
        if self._get_wait is not None:
            self._get_wait.result.set(None)
        # NOTE: the clients still catching up too: with no feed to merge into they would read
        # privately for ever, each holding a catch-up slot.
        for sub in list(self._subs | self._catching_up.keys()):
            sub.close("stream reader failed")

    def _sync_offered(self) -> None:
        """A routed hub is offered only the records it may keep (``streams.engine.listeners``):
        its position moves up to its feeds' readers, past the records they did not offer it.
        Never yields."""
        if self.route is None or not self._listening:
            return
        for topic in self.topics:
            for p, o in self._feed(topic).position_of(self).items():
                key = (topic, p)
                if o > self._ledger.offered.get(key, 0):
                    self._ledger.offered_through(key, o - 1)

    def _skip_unoffered(self, gets: dict[str, GetClaim]) -> None:
        """A GET that waited in vain (no record it keeps came): the records its routed hub's
        feeds passed without offering them are ones it deletes, like those it was offered and
        deleted. NOTE: not after a record came: a later one of another partition may have
        come too, unclaimed, and must not be skipped. Never yields."""
        if self.route is None or not self._listening:
            return
        for topic, get in gets.items():
            for p, o in self._feed(topic).position_of(self).items():
                get.skip(p, o - 1)

    def _offer_all(self, msg: Message, record: Record, key: Key) -> None:
        if self._multi_partition:
            self._sync_offered()
        positions = {p: o for (_, p), o in self._ledger.offered.items()} if self._multi_partition else None
        for sub in list(self._subs):
            if not sub.ledger.wants(key, record.offset):
                continue
            sub.offer(self._sub_delivery(sub, msg, record, key, positions), key, record.offset)
        while self._waiters:
            waiter = self._waiters.pop(0)
            if waiter.offer(self._delivery(msg, record)):
                break

    def _sub_delivery(
        self, sub: Subscription, msg: Message, record: Record, key: Key, positions: dict[int, int] | None
    ) -> Delivery:
        """A message for a stream client; its ack counts towards the broadcast commit."""

        def on_ack() -> None:
            sub.ledger.acked(key, record.offset)
            self._ledger.acked()
            self._commit_soon()

        return self._delivery(msg, record, on_ack=on_ack, positions=positions)

    def _catch_up(self, sub: Subscription, resume: dict[int, int]) -> None:
        """Replay from after ``Last-Event-ID`` with a private reader, then join the shared one.
        Partitions the id does not name start at the group's committed offset."""
        readers: dict[str, Reader] = {}
        done: dict[int, int] = {}  # next offset per partition, as the client will have had it
        slot = False
        try:
            while not (slot := self._slots.acquire(timeout=1.0)):
                if sub.closed or self._closed:
                    return
            for topic in self.topics:
                start = self.start_offsets(topic)
                parts = set(start) | set(self.broker.partitions(topic))
                start.update({p: o + 1 for p, o in resume.items() if p in parts})
                readers[topic] = self.broker.reader(topic, start)
                done = dict(start)
                sub.ledger.catching_up({**(sub.ledger.reading or {}), **{(topic, p): o for p, o in start.items()}})
            multi = len(self.topics) == 1 and len(done) > 1
            while not sub.closed and not self._closed:
                got = False
                for topic, reader in readers.items():
                    for record in reader.fetch(timeout=0.2 if got else 0.5):
                        got = True
                        key = (topic, record.partition)
                        for msg in self._process_record(record):
                            delivery = self._sub_delivery(sub, msg, record, key, done if multi else None)
                            if not sub.offer(delivery, key, record.offset):
                                return
                        done[record.partition] = record.offset + 1
                        sub.ledger.read(key, record.offset)
                if self._merge(sub, readers):
                    return
        except Exception:
            self.log.exception("catch-up reader failed")
            sub.close("stream reader failed")
        finally:
            for reader in readers.values():
                reader.close()
            if slot:
                self._slots.release()
            self._catching_up.pop(sub, None)

    def _merge(self, sub: Subscription, readers: dict[str, Reader]) -> bool:
        """Join the shared reader once the private one is at or past it on every partition."""
        if sub.closed:
            return True
        if not self._listening:
            return False  # the instance's feed is (re)starting: its positions are not known yet
        self._sync_offered()
        mine = {(t, p): o for t, r in readers.items() for p, o in r.positions().items()}
        if not self._ledger.can_merge(mine):
            return False
        sub.ledger.merged(mine)
        self._subs.add(sub)
        self._catching_up.pop(sub, None)
        return True

    # -- broadcast commits -----------------------------------------------------------------

    def _commit_soon(self) -> None:
        """A client acknowledged something: make sure a commit runs within ``commit_period``.
        Never yields."""
        if not self._closed and (self._committer is None or self._committer.dead):
            self._committer = gevent.spawn(self._commit_loop)

    def _commit_loop(self) -> None:
        """Commit at once, then at most every ``commit_period`` while clients acknowledge, then
        end.

        The first acknowledgement after a quiet spell is committed without waiting: a client
        that connects next (on any worker, or after this one left) starts from the user's
        committed position and would otherwise be handed again what was just delivered. Under
        load, acknowledgements are committed once a period.
        PERF: a user whose clients receive nothing holds no committer (a sleeping greenlet was
        about 5 KiB per idle user); the next acknowledgement starts one again (``_commit_soon``:
        between the last check here and this greenlet's end nothing yields, so it sees it dead)."""
        while not self._closed and self._ledger.dirty:
            self._commit_broadcast()
            gevent.sleep(self.commit_period)

    def _commit_broadcast(self, also: Subscription | None = None) -> None:
        """Commit, per partition, the lowest position every attached client acknowledged.

        NOTE: one at a time: the periodic commit and a leaving client's overlap, and the older
        (lower) one arriving last would move the user's position back (a next GET repeats)."""
        with self._committing():
            self._commit_broadcast_now(also)

    def _commit_broadcast_now(self, also: Subscription | None) -> None:
        subs = self._subs | self._catching_up.keys()
        if also is not None:
            subs.add(also)
        if not subs:
            return
        self._sync_offered()
        for topic, offsets in self._ledger.plan(sub.ledger for sub in subs).items():
            try:
                committed = self.broker.committed(self.group, topic)
                forward = self._ledger.forward(topic, offsets, committed)
                if not forward:
                    continue
                # NOTE: a GET elsewhere may move the position between the read and the commit;
                # an unconditional commit could then move it back (that GET's record repeats).
                if self.broker.compare_and_commit(
                    self.group, topic, {p: committed.get(p) for p in forward}, forward
                ):
                    self._ledger.committed(topic, forward)
                else:
                    self._ledger.dirty = True  # try again at the next period
            except Exception:
                self.log.exception("commit failed", topic=topic)

    # -- life ------------------------------------------------------------------------------

    @property
    def clients(self) -> int:
        return len(self._subs) + len(self._catching_up)

    @property
    def waiting_live(self) -> bool:
        """Whether a GET, caught up with the topics' ends, waits on their live feed."""
        return self._get_wait is not None

    def close(self, reason: str = "stream closed") -> None:
        """Commit what the clients acknowledged, end them with ``reason``, wake waiting GETs."""
        if self._closed:
            return
        self._commit_broadcast()
        self._closed = True
        for sub in list(self._subs | self._catching_up.keys()):
            sub.close(reason)
        for waiter in list(self._waiters):
            waiter.close(reason)
        if self._get_wait is not None:
            self._get_wait.result.set(None)
        self._stop_feeding()
        if self._committer is not None:
            self._committer.kill(block=False)
