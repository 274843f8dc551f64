"""``HeldBody``: a streaming body that holds its client's streaming slot until the server closes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from handlers.admission import HeldBody


class CountingSlot:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def chunks(log: list[str]) -> Iterator[bytes]:
    try:
        yield b"one"
        yield b"two"
    finally:
        log.append("body closed")


def test_the_server_iterates_the_bodys_own_generator_and_gets_every_chunk() -> None:
    log: list[str] = []
    body = chunks(log)
    held = HeldBody(body, CountingSlot())  # type: ignore[arg-type]
    assert iter(held) is body  # no Python __next__ between the server's loop and the generator
    assert list(held) == [b"one", b"two"]


def test_closing_after_a_chunk_closes_the_body_then_gives_the_slot_back() -> None:
    log: list[str] = []
    slot = CountingSlot()
    held: Any = HeldBody(chunks(log), slot)  # type: ignore[arg-type]
    assert next(iter(held)) == b"one"
    held.close()
    assert log == ["body closed"]
    assert slot.closed == 1


def test_a_body_closed_before_its_first_chunk_still_gives_the_slot_back() -> None:
    slot = CountingSlot()
    HeldBody(chunks([]), slot).close()  # type: ignore[arg-type]
    assert slot.closed == 1


class WritingBody:
    """A body that writes itself (as ``handlers.streaming.SubscriptionBody`` does)."""

    def __init__(self) -> None:
        self.iterated = False
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        self.iterated = True
        yield b"by iteration"

    def write_to(self, write: Any) -> None:
        write(b"one")
        write(b"two")

    def close(self) -> None:
        self.closed += 1


def test_a_body_that_writes_itself_is_run_through_and_still_holds_the_slot() -> None:
    body, slot, written = WritingBody(), CountingSlot(), []
    held = HeldBody(body, slot)  # type: ignore[arg-type]
    held.write_to(written.append)
    assert written == [b"one", b"two"] and not body.iterated  # no iterator made for it
    assert slot.closed == 0
    held.close()
    assert body.closed == 1 and slot.closed == 1


def test_write_to_writes_an_iterated_bodys_chunks_but_empty_ones() -> None:
    written: list[bytes] = []
    held = HeldBody(iter([b"a", b"", b"b"]), CountingSlot())  # type: ignore[arg-type]
    held.write_to(written.append)
    assert written == [b"a", b"b"]
