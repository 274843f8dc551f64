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
offset order), each counted once however many hubs or workers read it. Offsets that hold no
record (Kafka's transaction markers: one per transaction a Worker stream commits, and aborted
writes) are counted as ``holes`` when a reader passed over them right where the span ended
(``Record.skipped``); the host subtracts the largest worker's holes. A gap nobody in this
worker read across (records another worker's GETs took) stays counted as records. No I/O:
tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass

StreamKey = tuple[str, str]
"""(api, stream)."""


@dataclass
class Span:
    """Offsets read in one partition: ``first`` the lowest, ``end`` one past the furthest;
    ``holes`` of them known to hold no record."""

    first: int
    end: int
    holes: int = 0

    @property
    def records(self) -> int:
        return self.end - self.first - self.holes


class ReadTally:
    """The span of offsets each stream's hubs read, per topic and partition."""

    def __init__(self) -> None:
        self._spans: dict[tuple[StreamKey, str, int], Span] = {}

    def read(self, stream: StreamKey, topic: str, partition: int, offset: int, skipped: int = 0) -> Span | None:
        """Note a record read, which its reader found ``skipped`` offsets after its previous
        one; the partition's new span when it grew, else None."""
        where = (stream, topic, partition)
        span = self._spans.get(where)
        if span is None:
            span = self._spans[where] = Span(offset, offset + 1)
            return Span(span.first, span.end, span.holes)
        if span.first <= offset < span.end:
            return None
        if offset >= span.end:
            # The skipped offsets just below this record are holes; those below the span's
            # end were accounted for when the span grew over them.
            span.holes += max(0, min(skipped, offset - span.end))
        span.first = min(span.first, offset)
        span.end = max(span.end, offset + 1)
        return Span(span.first, span.end, span.holes)

    def records(self, stream: StreamKey) -> int:
        """Records within the spans of ``stream`` (this worker's own reading)."""
        return sum(span.records for (key, _, _), span in self._spans.items() if key == stream)
