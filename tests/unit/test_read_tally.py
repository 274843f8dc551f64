"""The offsets a hub-served stream read in one worker: each record once, however many hubs."""

from __future__ import annotations

from streams.engine.read_tally import ReadTally, Span

OUT = ("stream-demo", "out")


def test_every_users_hub_reading_one_record_counts_it_once() -> None:
    tally = ReadTally()
    assert tally.read(OUT, "completed", 0, 4) == Span(4, 5)  # alice's hub
    assert tally.read(OUT, "completed", 0, 4) is None  # bob's hub, the same record
    assert tally.read(OUT, "completed", 0, 5) == Span(4, 6)
    assert tally.read(OUT, "completed", 0, 4) is None  # a resuming client's catch-up, within
    assert tally.records(OUT) == 2


def test_reading_older_records_widens_the_span_downwards() -> None:
    tally = ReadTally()
    tally.read(OUT, "completed", 0, 10)  # a hub that started at the topic's end
    assert tally.read(OUT, "completed", 0, 7) == Span(7, 11)  # a client resuming from older ids
    assert tally.records(OUT) == 4


def test_partitions_topics_and_streams_are_kept_apart() -> None:
    tally = ReadTally()
    assert tally.read(OUT, "completed", 0, 5) == Span(5, 6)
    assert tally.read(OUT, "completed", 1, 5) == Span(5, 6)  # offset 5 of another partition
    assert tally.read(OUT, "other", 0, 9) == Span(9, 10)
    other_api = ("copy", "out")
    assert tally.read(other_api, "completed", 0, 5) == Span(5, 6)
    assert (tally.records(OUT), tally.records(other_api), tally.records(("x", "y"))) == (3, 1, 0)


def test_offsets_a_reader_passed_over_where_the_span_ends_are_holes_not_records() -> None:
    # A Worker stream committing one record per transaction: records at 0, 2, 4 and a
    # transaction marker after each.
    tally = ReadTally()
    assert tally.read(OUT, "completed", 0, 0) == Span(0, 1)
    assert tally.read(OUT, "completed", 0, 2, skipped=1) == Span(0, 3, holes=1)
    assert tally.read(OUT, "completed", 0, 2, skipped=1) is None  # another user's hub, same record
    assert tally.read(OUT, "completed", 0, 4, skipped=1) == Span(0, 5, holes=2)
    assert tally.records(OUT) == 3


def test_a_gap_no_reader_here_passed_over_stays_counted_as_records() -> None:
    # Offsets 1-3 were taken by GETs on another worker: this worker's next GET reader starts at
    # the group's new position (4) and passes over only the marker at 4.
    tally = ReadTally()
    tally.read(OUT, "completed", 0, 0)
    assert tally.read(OUT, "completed", 0, 5, skipped=1) == Span(0, 6, holes=1)
    assert tally.records(OUT) == 5
