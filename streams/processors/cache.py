"""``cache`` processor: one operation per message on a ``cache_resources`` entry: ``set``,
``add`` (flags ``key already exists: <key>``), ``get`` (the payload becomes the stored value;
a missing key flags the message) or ``delete``. ``key``, ``value`` and ``ttl`` are interpolated
per message; an empty ``ttl`` means the cache's ``default_ttl``."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.caches.base import Cache, CacheError, KeyExists
from streams.contracts import MessageProcessor, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

OPERATORS = ("set", "add", "get", "delete")


class CacheProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.cache: Cache = res.cache(conf["resource"])
        self.operator = conf["operator"]
        self.key = res.interpolation(conf["key"])
        self.value = res.interpolation(conf["value"])
        self.ttl = res.interpolation(conf["ttl"])

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        try:
            key = self.key.render(msg, batch, index)
        except MappingError as exc:
            msg.error = f"key interpolation error: {exc}"
            return msg
        try:
            value = self.value.render_bytes(msg, batch, index)
        except MappingError as exc:
            msg.error = f"value interpolation error: {exc}"
            return msg
        try:
            ttl_text = self.ttl.render(msg, batch, index)
            ttl = parse_duration(ttl_text) if ttl_text else None
        except MappingError as exc:
            msg.error = f"ttl interpolation error: {exc}"
            return msg
        except ValueError as exc:
            msg.error = f"ttl must be a duration: {exc}"
            return msg
        try:
            self._operate(msg, key, value, ttl)
        except KeyExists:
            msg.error = f"key already exists: {key}"
        except CacheError as exc:
            msg.error = f"operator failed for key '{key}': {exc}"
        return msg

    def _operate(self, msg: Message, key: str, value: bytes, ttl: float | None) -> None:
        if self.operator == "set":
            self.cache.set(key, value, ttl)
        elif self.operator == "add":
            self.cache.add(key, value, ttl)
        elif self.operator == "get":
            msg.set_content(self.cache.get(key))
        else:
            self.cache.delete(key)


def _factory(conf: dict[str, Any], res: Resources) -> CacheProcessor:
    return CacheProcessor(conf, res)


SPEC = registry.processor(
    "cache",
    _factory,
    Field("resource", "string", doc="Label of a cache_resources entry."),
    Field("operator", "string", doc="The operation.", options=OPERATORS),
    Field("key", "string", doc="Interpolated key."),
    Field("value", "string", "", "Interpolated value (set and add)."),
    Field("ttl", "string", "", "Interpolated expiry such as 60s (empty: the cache's default_ttl)."),
    doc="Store or read message data in a cache.",
)
