"""Which records a hub-served stream has read from its topics in this worker.

A kafka input feeding an ``http_server`` output has no input loop: its records are read by the
hubs of its instances (one per ``$tyk_context`` value, see ``hub.py``). With stream clients every
user's hub reads every record (each keeps only its user's), on every worker that has a client;
with GETs the reading is split, each GET on any worker reading on from where the last claim left
the group. A count of reads would multiply by users and workers; a per-worker count of distinct
records would undercount split GETs. So the tally keeps positions, per partition: the lowest
offset read and the offset after the furthest one read. The host's figure is, per partition, the
furthest point of any worker minus the lowest start of any worker (``stream_stats.fold``): the
records between were read on this host (reading starts at a group's position and goes on in
offset order), each counted once however many hubs or workers read it. A gap in offsets (deleted
or compacted records) counts as records; the embedded broker and non-transactional Kafka topics
leave none. No I/O: tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass

StreamKey = tuple[str, str]
"""(api, stream)."""


@dataclass
class Span:
    """Offsets read in one partition: ``first`` the lowest, ``end`` one past the furthest."""

    first: int
    end: int

    @property
    def records(self) -> int:
        return self.end - self.first


class ReadTally:
    """The span of offsets each stream's hubs read, per topic and partition."""

    def __init__(self) -> None:
        self._spans: dict[tuple[StreamKey, str, int], Span] = {}

    def read(self, stream: StreamKey, topic: str, partition: int, offset: int) -> Span | None:
        """Note a record read; the partition's new span when it grew, else None."""
        where = (stream, topic, partition)
        span = self._spans.get(where)
        if span is None:
            span = self._spans[where] = Span(offset, offset + 1)
            return Span(span.first, span.end)
        if span.first <= offset < span.end:
            return None
        span.first = min(span.first, offset)
        span.end = max(span.end, offset + 1)
        return Span(span.first, span.end)

    def records(self, stream: StreamKey) -> int:
        """Records within the spans of ``stream`` (this worker's own reading)."""
        return sum(span.records for (key, _, _), span in self._spans.items() if key == stream)
