"""What one worker process shares between its streams, as typed objects (no string-keyed dicts).

* ``BrokerServices``: for one broker connection, what every hub of the worker reading from it
  shares: one ``TopicFeed`` per topic (records from any offset on: shared catch-up scans, then
  one live reader), ``ReaderPool``s lent to GETs, offset look-ups shared and queued (``SharedLookups``), and
  the slots for private catch-up readers of resuming clients, and the tally of the records the
  hubs read (``ReadTally``: each counted once per stream, however many users' hubs read it).
* ``WorkerServices``: the worker's brokers and their ``BrokerServices``, plus the host-wide
  pieces that make the worker's processes one gateway (DESIGN §10): the *host bus*, an embedded
  log under the data directory that carries ``http_server`` -> ``http_server`` streams between
  the workers of this host, and the host's shared state (singleton leases, caches, rate limits).

Everything is created lazily after the fork (a broker or an SQLite connection must never cross
one) and closed by ``close`` when the worker drains, readers (feeds first) before brokers.
"""

from __future__ import annotations

from collections.abc import Callable

import gevent.lock

from streams import brokers
from streams.brokers.base import Broker
from streams.brokers.embedded import EmbeddedBroker
from streams.brokers.security import KafkaSecurity
from streams.engine.cluster_hosts import ClusterHosts, host_id
from streams.engine.feed import TopicFeed
from streams.engine.host import HostState
from streams.engine.logs import StreamLog
from streams.engine.lookups import SharedLookups
from streams.engine.read_tally import ReadTally
from streams.engine.readers import ReaderPool
from streams.settings import Settings

CATCH_UP_SLOTS = 16
"""Private readers of resuming (``Last-Event-ID``) clients open at once per worker, by default."""

HOST_BUS_RETENTION = 100_000
"""Records kept per partition of a host-bus topic (an in-process stream nobody reads)."""


class BrokerServices:
    """What the hubs of one worker share for one broker (see module doc)."""

    def __init__(self, broker: Broker, log: StreamLog, catch_up_slots: int = CATCH_UP_SLOTS) -> None:
        self.broker = broker
        self.log = log
        self.lookups = SharedLookups(broker)
        self.catch_up_slots = gevent.lock.BoundedSemaphore(max(1, catch_up_slots))
        self._feeds: dict[str, TopicFeed] = {}
        self._pools: dict[str, ReaderPool] = {}
        self.read_tally = ReadTally()  # records the hubs read, once each per stream

    def feed(self, topic: str) -> TopicFeed:
        """This worker's records of ``topic`` for hubs: shared catch-up scans, one live reader."""
        feed = self._feeds.get(topic)
        if feed is None:
            feed = self._feeds[topic] = TopicFeed(self.broker, topic, self.log.bind(topic=topic))
        return feed

    def readers(self, topic: str) -> ReaderPool:
        """This worker's pool of readers of ``topic`` lent to GETs."""
        pool = self._pools.get(topic)
        if pool is None:
            pool = self._pools[topic] = ReaderPool(self.broker, topic)
        return pool

    def close(self) -> None:
        """Stop the feeds' readers and close the idle ones lent to GETs; the broker is closed
        after this (``WorkerServices.close``)."""
        for feed in self._feeds.values():
            feed.close()
        self._feeds.clear()
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


class WorkerServices:
    """One worker's brokers, their shared readers, the host bus and the host state."""

    def __init__(self, settings: Settings, log: StreamLog) -> None:
        self.settings = settings
        self.log = log
        self._lock = gevent.lock.Semaphore()  # a Kafka client may yield while connecting
        self._broker: Broker | None = None
        self._secured: dict[KafkaSecurity, Broker] = {}
        self._default_security = KafkaSecurity.from_settings(settings)
        self._bus: Broker | None = None
        self._host: HostState | None = None
        self._services: dict[int, BrokerServices] = {}
        self._cluster: ClusterHosts | None = None

    def broker(self, addresses: list[str] | None = None, security: KafkaSecurity | None = None) -> Broker:
        """This worker's broker connection; ``STREAMS_KAFKA_BROKERS`` decides which one and
        replaces the addresses written in the definitions (``addresses`` is accepted for the
        components' sake and ignored). ``security`` is a component's own ``tls``/``sasl``: one
        that sets neither gets the ``STREAMS_KAFKA_TLS_*``/``_SASL_*`` default, and each
        distinct one its own broker (the embedded broker has none: it is always the one)."""
        wanted = (security or self._default_security).or_default(self._default_security)
        if wanted == self._default_security or self.settings.embedded_kafka:
            return self._once("_broker", lambda: self._connect(self._default_security))
        broker = self._secured.get(wanted)
        if broker is None:
            with self._lock:
                broker = self._secured.get(wanted)
                if broker is None:
                    broker = self._secured[wanted] = self._connect(wanted)
        return broker

    def _connect(self, security: KafkaSecurity) -> Broker:
        return brokers.connect(self.settings.kafka_brokers, data_dir=self.settings.data_dir, security=security)

    def bus(self) -> Broker:
        """The host bus: the embedded log shared by this host's workers (the main broker itself
        when that is the embedded one), carrying in-process streams across workers."""
        if self.settings.embedded_kafka:
            return self.broker()
        return self._once(
            "_bus", lambda: EmbeddedBroker(self.settings.data_dir, max_records_per_partition=HOST_BUS_RETENTION)
        )

    @property
    def host(self) -> HostState:
        """This host's shared state (leases, caches, rate limits, progress)."""
        if self._host is None:
            self._host = HostState(self.settings.data_dir)
        return self._host

    def host_count(self) -> int:
        """The gateway hosts sharing the cluster (heartbeats on Kafka; 1 on the embedded broker)."""
        if self.settings.embedded_kafka:
            return 1
        if self._cluster is None:
            self._cluster = ClusterHosts(self.broker, host_id(self.settings.data_dir), self.log.bind(component="hosts"))
        return self._cluster.count()

    def for_broker(self, broker: Broker) -> BrokerServices:
        """The shared readers and look-ups of ``broker`` in this worker."""
        services = self._services.get(id(broker))
        if services is None or services.broker is not broker:
            services = self._services[id(broker)] = BrokerServices(broker, self.log)
        return services

    def _once(self, attr: str, make: Callable[[], Broker]) -> Broker:
        broker: Broker | None = getattr(self, attr)
        if broker is None:
            with self._lock:
                broker = getattr(self, attr)
                if broker is None:
                    broker = make()
                    setattr(self, attr, broker)
        return broker

    def close(self) -> None:
        """Drain's last step: readers first, then the brokers, then the host state."""
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        for services in self._services.values():
            services.close()
        self._services.clear()
        secured, self._secured = list(self._secured.values()), {}
        for broker in secured:
            try:
                broker.close()
            except Exception:
                self.log.exception("closing a broker failed")
        for attr in ("_bus", "_broker"):
            broker = getattr(self, attr)
            setattr(self, attr, None)
            if broker is not None:
                try:
                    broker.close()
                except Exception:
                    self.log.exception("closing a broker failed")
        if self._host is not None:
            self._host.close()
            self._host = None
