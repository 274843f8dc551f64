"""How many gateway hosts share the Kafka cluster, so that each can take its share of an API's
rate limit or a key's rate and quota (``streams.ratelimits.host_share``).

Every worker of every host writes a heartbeat, keyed by its host's id, to the one-partition
topic ``_streams.hosts`` every ``HEARTBEAT_S`` seconds, and reads that topic from its end: a
host heard within ``HOST_TTL_S`` is live (``streams.ratelimits.LiveHosts``, on the reader's own
clock). A host id is the machine's name with its data directory, so two gateways on one
machine (each with its own ``STREAMS_DATA_DIR``) are two hosts, as they are for everything else.

On the embedded broker there is one host by definition, and nothing is started. While Kafka
cannot be reached the last count stands (1 before the first heartbeat came back).
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable

import gevent

from streams.brokers.base import Broker, Reader
from streams.engine.logs import StreamLog
from streams.ratelimits import LiveHosts

HOSTS_TOPIC = "_streams.hosts"
HEARTBEAT_S = 1.0
"""How often each worker says its host is alive."""
HOST_TTL_S = 5.0
"""A host not heard from for this long is counted out (stopped, or cut off from Kafka)."""
RETRY_S = 5.0
"""Wait after a broker error before trying again."""


def host_id(data_dir: str) -> str:
    """This host's name among the gateways of the cluster: machine name and data directory."""
    where = hashlib.sha256(os.path.abspath(data_dir).encode()).hexdigest()[:12]
    return f"{socket.gethostname()}/{where}"


class ClusterHosts:
    """The live gateway hosts of the cluster, counted from heartbeats (see module doc)."""

    def __init__(self, broker: Callable[[], Broker], me: str, log: StreamLog) -> None:
        self._broker = broker
        self.me = me
        self.log = log
        self.live = LiveHosts(me, HOST_TTL_S)
        self._count = 1
        self._loop: gevent.Greenlet | None = None

    def count(self) -> int:
        """The number of live hosts, this one included (the heartbeat starts on first use)."""
        if self._loop is None:
            self._loop = gevent.spawn(self._run)
        return self._count

    def close(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
            self._loop = None

    def _run(self) -> None:
        failed = False
        while True:
            reader: Reader | None = None
            try:
                broker = self._broker()
                create = getattr(broker, "create_topic", None)
                if create is not None:
                    create(HOSTS_TOPIC, 1)
                reader = broker.reader(HOSTS_TOPIC, broker.end_offsets(HOSTS_TOPIC))
                if failed:
                    self.log.info("gateway host heartbeats flow again")
                failed = False
                self._beat(broker, reader)
            except Exception as exc:  # noqa: BLE001 - a client library's own error must not end the count
                if not failed:
                    self.log.warning(f"gateway host heartbeat failed, host count stays {self._count}: {exc}")
                failed = True
            finally:
                if reader is not None:
                    reader.close()
            gevent.sleep(RETRY_S)

    def _beat(self, broker: Broker, reader: Reader) -> None:
        """Heartbeat and listen until the broker fails (raises)."""
        next_beat = 0.0
        while True:
            now = time.monotonic()
            if now >= next_beat:
                broker.produce(HOSTS_TOPIC, b"alive", key=self.me.encode(), timeout=HEARTBEAT_S * 3)
                next_beat = now + HEARTBEAT_S
            for record in reader.fetch(max(0.05, next_beat - time.monotonic())):
                if record.key:
                    self.live.heard(record.key.decode("utf-8", "replace"), time.monotonic())
            self._update(self.live.count(time.monotonic()))

    def _update(self, count: int) -> None:
        if count != self._count:
            self.log.info(f"API rate limits and key quotas shared by {count} gateway hosts", hosts=count)
            self._count = count
