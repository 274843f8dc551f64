"""Identifier and random-number functions: uuid_v4, uuid_v7, ksuid, nanoid, random_int."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

import streams.bloblang.lib_ids  # noqa: F401  (registers the functions)
from streams.bloblang.errors import ExecError
from streams.bloblang.lib_ids import V7Sequence, uuid7_at
from streams.bloblang.library import FUNCTIONS
from streams.bloblang.values import Timestamp
from tests.unit.bloblang_reference import assert_matches_benthos


def call(name: str, *args):
    spec = FUNCTIONS[name]
    impl = spec.impl() if spec.stateful else spec.impl
    return impl(None, *args)


def test_uuid_v4_is_version_4_and_unique() -> None:
    values = {call("uuid_v4") for _ in range(200)}
    assert len(values) == 200
    for text in values:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text
    # Every bit outside the version and variant is random: over 200 values each one varies.
    ints = [uuid.UUID(text).int for text in values]
    fixed = (0xF000 << 64) | (0xC000 << 48)
    varying = 0
    for n in ints:
        varying |= n ^ ints[0]
    assert varying == ((1 << 128) - 1) & ~fixed


def test_uuid_v7_carries_the_given_millisecond() -> None:
    ns = 1_700_000_000_123_456_789
    parsed = uuid.UUID(call("uuid_v7", Timestamp(ns)))
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == ns // 1_000_000


def test_uuid_v7_now_sorts_after_a_past_time() -> None:
    past = call("uuid_v7", Timestamp(1_600_000_000 * 10**9))
    assert uuid.UUID(call("uuid_v7")).version == 7
    assert call("uuid_v7") > past


def test_ksuid_is_27_base62_chars_and_unique() -> None:
    values = {call("ksuid") for _ in range(100)}
    assert len(values) == 100
    assert all(re.fullmatch(r"[0-9A-Za-z]{27}", v) for v in values)


def test_nanoid_default_length_and_alphabet() -> None:
    value = call("nanoid")
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}", value)
    assert len(call("nanoid", 54)) == 54
    assert call("nanoid", 1, "a") == "a"
    assert set(call("nanoid", 40, "xy")) <= {"x", "y"}


def test_nanoid_alphabet_needs_length() -> None:
    with pytest.raises(ExecError, match="field length must be specified when an alphabet is specified"):
        call("nanoid", None, "abc")


def test_random_int_same_seed_same_sequence_per_call_site() -> None:
    first = FUNCTIONS["random_int"].impl()
    second = FUNCTIONS["random_int"].impl()
    a = [first(None, 7, 0, 1000) for _ in range(20)]
    b = [second(None, 7, 0, 1000) for _ in range(20)]
    assert a == b
    assert len(set(a)) > 5


def test_random_int_seed_is_taken_once() -> None:
    site = FUNCTIONS["random_int"].impl()
    other = FUNCTIONS["random_int"].impl()
    a = [site(None, i, 0, 10**9) for i in range(10)]
    b = [other(None, 3 if i == 0 else i + 50, 0, 10**9) for i in range(10)]
    c = [FUNCTIONS["random_int"].impl()(None, 0, 0, 10**9)]
    assert a[0] == c[0]
    assert a != b


def test_random_int_range_is_inclusive() -> None:
    site = FUNCTIONS["random_int"].impl()
    seen = {site(None, 1, 10, 12) for _ in range(300)}
    assert seen == {10, 11, 12}
    assert {FUNCTIONS["random_int"].impl()(None, 0, 10, 10)} == {10}


@pytest.mark.parametrize(
    "low, high, text",
    [
        (11, 10, "min (11) must be smaller or equal than max (10)"),
        (-1, 10, "min (-1) must be a positive number"),
        (0, (1 << 63) - 1, "max must be smaller than the max allowed for an int64 (9223372036854775807)"),
    ],
)
def test_random_int_bad_range(low: int, high: int, text: str) -> None:
    with pytest.raises(ExecError) as err:
        FUNCTIONS["random_int"].impl()(None, 0, low, high)
    assert str(err.value) == text


def test_random_int_seed_must_be_an_integer() -> None:
    with pytest.raises(ExecError) as err:
        FUNCTIONS["random_int"].impl()(None, "x", 0, 5)
    assert str(err.value) == 'failed to seed random number generator: strconv.ParseInt: parsing "x": invalid syntax'
    with pytest.raises(ExecError, match="^failed to seed random number generator: float value contains decimals"):
        FUNCTIONS["random_int"].impl()(None, 5.5, 0, 5)
    assert 0 <= FUNCTIONS["random_int"].impl()(None, "12", 0, 5) <= 5


def test_nanoid_lengths() -> None:
    assert call("nanoid", 0) == ""
    with pytest.raises(ExecError, match="^negative id length$"):
        call("nanoid", -1)


def test_uuid_v7_outside_the_48_bit_range_is_held_at_its_ends() -> None:
    assert call("uuid_v7", Timestamp(-5 * 10**9)).startswith("00000000-0000-7")
    assert call("uuid_v7", Timestamp(2**48 * 10**6 + 5 * 10**9)).startswith("ffffffff-ffff-7")


def _counter_seeds(*values: int) -> Callable[[], int]:
    seeds = iter(values)
    return lambda: next(seeds)


def test_v7_counter_starts_at_a_seed_per_millisecond_and_counts_within_it() -> None:
    seq = V7Sequence(_counter_seeds(100, 7))
    assert [seq.next(5, False), seq.next(5, False), seq.next(5, False)] == [(5, 100), (5, 101), (5, 102)]
    assert seq.next(6, False) == (6, 7)


def test_v7_counter_overflow_moves_to_the_next_millisecond() -> None:
    seq = V7Sequence(_counter_seeds(0x0FFE, 3))
    assert [seq.next(9, True), seq.next(9, True), seq.next(9, True)] == [(9, 0x0FFE), (9, 0x0FFF), (10, 3)]
    # Still ahead of the clock: the same millisecond asked again stays on the moved one.
    assert seq.next(9, True) == (10, 4)


def test_v7_earlier_given_time_starts_over_but_a_clock_going_back_does_not() -> None:
    given = V7Sequence(_counter_seeds(1, 2))
    assert given.next(50, False) == (50, 1)
    assert given.next(40, False) == (40, 2)
    clock = V7Sequence(_counter_seeds(1, 2))
    assert clock.next(50, True) == (50, 1)
    assert clock.next(40, True) == (50, 2)


def test_uuid_v7_lays_out_millisecond_version_counter_and_variant() -> None:
    seq = V7Sequence(_counter_seeds(0x0ABC))
    parsed = uuid.UUID(uuid7_at(0x0123456789AB, clamp_backwards=False, sequence=seq))
    assert parsed.int >> 80 == 0x0123456789AB
    assert parsed.version == 7 and (parsed.int >> 64) & 0x0FFF == 0x0ABC
    assert parsed.variant == uuid.RFC_4122


BENTHOS_CASES = [
    ("root = nanoid(0)", "{}"),
    ("root = nanoid(-1)", "{}"),
    ("root = nanoid(3, \"\")", "{}"),
    ("root = nanoid(this.n)", "{\"n\":0}"),
    ("root = nanoid(this.n, \"ab\").length()", "{\"n\":4}"),
    ("root = nanoid(alphabet: \"ab\")", "{}"),
    ("root = random_int(min: 5, max: 4)", "{}"),
    ("root = random_int(this.x)", "{\"x\":\"abc\"}"),
    ("root = random_int(this.x).type()", "{\"x\":5}"),
    ("root = random_int(5.5).type()", "{}"),
    ("root = uuid_v7(this.t).length()", "{\"t\":\"2020-01-01T00:00:00Z\"}"),
    ("root = uuid_v7(this.t)", "{\"t\":\"nope\"}"),
    ("root = uuid_v7(-5).slice(0, 15)", "{}"),
    ("root = ksuid().length()", "{}"),
    ("root = uuid_v4().length()", "{}"),
]

# --------------------------------------------------------------------------------------------
# Differential checks against Benthos itself (the Go reference built by tests/bloblang_ref): same
# parse errors (with positions), same execution errors, same bytes out.

@pytest.mark.parametrize("mapping, content", BENTHOS_CASES)
def test_matches_benthos(mapping: str, content: str) -> None:
    assert_matches_benthos(mapping, content)

