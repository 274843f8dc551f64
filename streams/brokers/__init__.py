"""Message brokers behind the ``kafka`` components: real Apache Kafka or the embedded log.

``connect`` turns an address setting (``STREAMS_KAFKA_BROKERS``: ``embedded`` or host:port list)
into a ``Broker``; ``shared`` gives each worker process one broker per address set and
``KafkaSecurity`` (two users of one cluster never share a connection), because a Kafka producer
and an SQLite connection are both per-process things that must not cross a fork.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import gevent.lock

from streams.brokers.base import Broker, BrokerError
from streams.brokers.embedded import EmbeddedBroker
from streams.brokers.security import KafkaSecurity

__all__ = ["EMBEDDED", "Broker", "BrokerError", "KafkaSecurity", "close_shared", "connect", "normalize", "shared"]

EMBEDDED = "embedded"


def normalize(brokers: str | Iterable[str]) -> tuple[str, ...]:
    """``"embedded"``, ``["embedded"]``, ``"h1:9092, h2:9092"`` or a list of host:port, as a
    tuple: ``("embedded",)`` or the addresses in the order given, duplicates dropped."""
    items = [brokers] if isinstance(brokers, str) else list(brokers)
    parts: list[str] = []
    for item in items:
        parts.extend(p.strip() for p in str(item).split(",") if p.strip())
    if not parts:
        raise BrokerError("no broker addresses given (use 'embedded' or host:port)")
    if any(p.lower() == EMBEDDED for p in parts):
        if len(parts) > 1:
            raise BrokerError(f"'embedded' cannot be mixed with Kafka addresses: {parts}")
        return (EMBEDDED,)
    for p in parts:
        host, sep, port = p.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise BrokerError(f"bad broker address {p!r}: expected host:port")
    return tuple(dict.fromkeys(parts))


def connect(
    brokers: str | Iterable[str],
    *,
    data_dir: str,
    client_id: str = "streams",
    security: KafkaSecurity | None = None,
) -> Broker:
    """A new broker: the embedded log under ``data_dir``, or Kafka at the given addresses, reached
    with ``security`` (TLS, SASL; the embedded log has none to check).

    Nothing connects here (both open lazily), so this is safe to call before gunicorn forks."""
    addresses = normalize(brokers)
    if addresses == (EMBEDDED,):
        return EmbeddedBroker(data_dir)
    # kafka-python is heavy and only needed when a cluster is configured (handlers never load it).
    from streams.brokers.kafka import KafkaBroker  # noqa: PLC0415

    return KafkaBroker(list(addresses), client_id=client_id, security=security)


_SHARED: dict[tuple[int, tuple[str, ...], str, str, KafkaSecurity], Broker] = {}
_SHARED_LOCK = gevent.lock.Semaphore()  # a Kafka client may yield while connecting


def shared(
    brokers: str | Iterable[str], data_dir: str, client_id: str = "streams", security: KafkaSecurity | None = None
) -> Broker:
    """This process's broker for ``brokers``, created on first use.

    Keyed by ``os.getpid()``: a forked worker never reuses its parent's broker (the parent's
    entry stays in the dict untouched, since closing it from the child would hurt the parent)."""
    addresses = normalize(brokers)
    security = security or KafkaSecurity()
    key = (os.getpid(), addresses, os.path.abspath(data_dir), client_id, security)
    broker = _SHARED.get(key)
    if broker is None:
        with _SHARED_LOCK:
            broker = _SHARED.get(key)
            if broker is None:
                broker = connect(addresses, data_dir=data_dir, client_id=client_id, security=security)
                _SHARED[key] = broker
    return broker


def close_shared() -> None:
    """Close this process's shared brokers (worker shutdown); the next ``shared`` opens anew."""
    pid = os.getpid()
    with _SHARED_LOCK:
        mine = [k for k in _SHARED if k[0] == pid]
        brokers = [_SHARED.pop(k) for k in mine]
    for broker in brokers:
        broker.close()
