"""Broker records as messages, with Bento's Kafka metadata keys."""

from __future__ import annotations

from streams.brokers.base import Record
from streams.message import Message


def record_to_message(record: Record) -> Message:
    """A consumed record as a message: ``kafka_key``, ``kafka_topic``, ``kafka_partition``,
    ``kafka_offset``, ``kafka_timestamp_unix`` (seconds), ``kafka_timestamp_ms`` and one metadata
    key per record header (UTF-8 decoded, as Bento does)."""
    meta: dict[str, object] = {}
    for name, value in record.headers:
        meta[name] = value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value
    meta["kafka_key"] = record.key.decode("utf-8", "replace") if record.key is not None else ""
    meta["kafka_topic"] = record.topic
    meta["kafka_partition"] = record.partition
    meta["kafka_offset"] = record.offset
    meta["kafka_timestamp_unix"] = record.timestamp_ms // 1000
    meta["kafka_timestamp_ms"] = record.timestamp_ms
    msg = Message(record.value, meta)
    msg.position = record.position
    return msg


def event_id(record_partition: int, offset: int, through: dict[int, int] | None = None) -> str:
    """The SSE ``id:`` of a record: ``partition-offset`` (``"0-42"``).

    With ``through`` (a topic of several partitions: the offset, per partition, up to which the
    client has had everything meant for it when it gets this record) every partition is listed,
    ``"0-42.1-17.2-5"``, so a client resuming with it continues each partition where it was
    instead of only the record's own. Partitions with nothing read yet (-1) are left out.
    """
    if not through:
        return f"{record_partition}-{offset}"
    parts = {**through, record_partition: offset}
    return ".".join(f"{p}-{o}" for p, o in sorted(parts.items()) if o >= 0)


def parse_event_id(text: str | None) -> dict[int, int] | None:
    """``"3-41"`` -> {3: 41}, ``"0-42.1-17"`` -> {0: 42, 1: 17}: the last offset had, per
    partition; anything else (absent, garbage) -> None."""
    if not text:
        return None
    out: dict[int, int] = {}
    for item in text.strip().split("."):
        part, sep, off = item.partition("-")
        if not sep or not part.isdigit() or not off.isdigit():
            return None
        out[int(part)] = int(off)
    return out or None
