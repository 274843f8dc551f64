"""``cached`` processor: the result of its processors for a message, kept in a cache under an
interpolated ``key``. A key already cached replaces the message with the stored result (as many
messages as the processors made, each with the message's metadata); otherwise the processors
run and their result is stored (``ttl`` interpolated, empty: the cache's ``default_ttl``),
unless ``skip_on`` gives true on its first message. Failing to store is logged, never fatal.

Results are stored in Bento's versioned layout, so a cache holds the same bytes either wrote:
uint32 version (1), uint32 message count, then each message as uint32 length and bytes (all
big-endian).
"""

from __future__ import annotations

import struct
from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.caches.base import Cache, CacheError, KeyNotFound
from streams.contracts import MessageProcessor, Transaction
from streams.durations import parse_duration
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors.query import Query
from streams.registry import Field


def serialise(contents: list[bytes]) -> bytes:
    out = [struct.pack(">II", 1, len(contents))]
    for content in contents:
        out += [struct.pack(">I", len(content)), content]
    return b"".join(out)


def deserialise(data: bytes) -> list[bytes]:
    """The message payloads ``serialise`` stored; ``ValueError`` for anything else."""
    if len(data) < 4:
        raise ValueError("failed to extract serialisation format version: message is too small to extract number")
    (version,) = struct.unpack_from(">I", data)
    if version != 1:
        raise ValueError(f"invalid format version: {version}")
    if len(data) < 8:
        raise ValueError("failed to extract batch size: message is too small to extract number")
    (count,) = struct.unpack_from(">I", data, 4)
    pos, out = 8, []
    for i in range(count):
        if len(data) < pos + 4:
            raise ValueError(f"failed to extract message {i} size: message is too small to extract number")
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        if len(data) < pos + size:
            raise ValueError(f"failed to extract message {i} size: input data ended unexpectedly")
        out.append(data[pos : pos + size])
        pos += size
    return out


class CachedProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.cache: Cache = res.cache(conf["cache"])
        self.key = res.interpolation(conf["key"])
        self.ttl = res.interpolation(conf["ttl"]) if conf["ttl"] else None
        self.skip_on = Query(res, conf["skip_on"], "skip_on") if conf["skip_on"] else None
        self.procs = res.build_processors(conf["processors"], f"{res.path}.processors")
        self.log = res.logger()

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> list[Message]:
        try:
            key = self.key.render(msg, batch, index)
        except MappingError as exc:
            return self._failed(msg, f"failed to interpolate key expression: {exc}")
        try:
            ttl = parse_duration(self.ttl.render(msg, batch, index)) if self.ttl is not None else None
        except MappingError as exc:
            return self._failed(msg, f"failed to interpolate ttl expression: {exc}")
        except ValueError as exc:
            return self._failed(msg, f"failed to parse ttl expression: {exc}")
        try:
            stored = self.cache.get(key)
        except KeyNotFound:
            stored = None
        except CacheError as exc:
            return self._failed(msg, str(exc))
        if stored is not None:
            try:
                return [_with(msg, content) for content in deserialise(stored)]
            except ValueError as exc:
                return self._failed(
                    msg, f"failed to parse cached result, this indicates the data was not set by this processor: {exc}"
                )
        result = run_processors(self.procs, [msg.copy()], txn)
        if not self._skip(result):
            try:
                self.cache.set(key, serialise([m.content for m in result]), ttl)
            except CacheError as exc:
                self.log.error(f"failed to write result to cache: {exc}")
        return result

    def _skip(self, result: list[Message]) -> bool:
        if self.skip_on is None or not result:
            return False
        try:
            return self.skip_on.holds(result, 0)
        except MappingError as exc:
            self.log.error(f"skip_on check failed: {exc}, caching will be skipped as a precaution")
            return True

    @staticmethod
    def _failed(msg: Message, error: str) -> list[Message]:
        msg.error = error
        return [msg]

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _with(msg: Message, content: bytes) -> Message:
    out = msg.copy()
    out.set_content(content)
    return out


def _factory(conf: dict[str, Any], res: Resources) -> CachedProcessor:
    return CachedProcessor(conf, res)


SPEC = registry.processor(
    "cached",
    _factory,
    Field("cache", "string", doc="Label of a cache_resources entry."),
    Field("skip_on", "string", "", "Bloblang query: true leaves the result uncached."),
    Field("key", "string", doc="Interpolated key of a message's cached result."),
    Field("ttl", "string", "", "Interpolated expiry of a stored result (empty: the cache's default_ttl)."),
    Field("processors", "processor_list", doc="Processors whose result is cached."),
    doc="Cache the result of processors by key.",
)
