"""Bloblang functions that mint identifiers and random numbers: uuid_v4, uuid_v7, ksuid, nanoid,
random_int.

All of them use the operating system's CSPRNG (``secrets``/``os.urandom``) except ``random_int``,
which Benthos defines as a seeded pseudo-random sequence: the same seed gives the same sequence
per call site, so it keeps a ``random.Random`` per call site (``stateful``).
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from .errors import ExecError
from .lib_numbers import to_int  # Go's value.IToInt: numbers and integer strings
from .registry import Library, Param
from .values import Timestamp

LIBRARY = Library()

_INT64_MAX = (1 << 63) - 1


_VARIANT_NIBBLE = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
"""A random hex digit -> the RFC 4122 variant digit that keeps its two low bits."""


@LIBRARY.function("uuid_v4")
def uuid_v4(ctx: Any) -> str:
    """A random RFC 4122 version 4 UUID in its canonical lowercase text: 122 random bits, the
    version digit ``4`` and a variant digit of ``8``, ``9``, ``a`` or ``b``.

    PERF: the version and variant are written into the hex text rather than into the bytes
    (a ``bytearray`` and two bit updates cost as much as the random bytes themselves), and
    ``str(uuid.uuid4())`` goes through an int and an object, more than twice as dear again."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT_NIBBLE[h[16]]}{h[17:20]}-{h[20:]}"


_V7_MAX_MS = (1 << 48) - 1
_V7_MAX_COUNTER = 0x0FFF
_V7_COUNTER_SEED_MASK = 0x07FF  # the counter's leading bit starts clear: 2048 steps are left in a tick


class V7Sequence:
    """The millisecond and 12-bit counter of successive version 7 UUIDs (RFC 9562 section 6.2,
    method 1), as Benthos's UUID library (gofrs/uuid v5.5) keeps them for the whole process.

    The counter starts from a random value on each new millisecond and counts up within it; when
    it runs out the millisecond moves one ahead. A given time earlier than the last one asked
    for starts over (an older UUID was requested); the clock going back (``clamp_backwards``,
    for "now") stays on the last millisecond instead, so UUIDs from one process keep their order.
    """

    def __init__(self, seed: Callable[[], int]) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._seeded = False
        self._last_ms = 0
        self._last_requested_ms = 0
        self._counter = 0

    def next(self, ms: int, clamp_backwards: bool) -> tuple[int, int]:
        with self._lock:
            if not self._seeded or ms > self._last_ms or (not clamp_backwards and ms < self._last_requested_ms):
                self._seeded = True
                self._last_ms = self._last_requested_ms = ms
                self._counter = self._seed()
                return ms, self._counter
            if self._counter >= _V7_MAX_COUNTER:
                self._counter = self._seed()
                self._last_ms += 1
            else:
                self._counter += 1
            self._last_requested_ms = ms
            return self._last_ms, self._counter


def _v7_counter_seed() -> int:
    return int.from_bytes(os.urandom(2), "big") & _V7_COUNTER_SEED_MASK


_V7_SEQUENCE = V7Sequence(_v7_counter_seed)


def uuid7_at(unix_ms: int, clamp_backwards: bool, sequence: V7Sequence = _V7_SEQUENCE) -> str:
    """RFC 9562 version 7: 48-bit Unix milliseconds (a time outside the field's range is held at
    its nearest end), the 12-bit counter, then 62 random bits (version and variant set)."""
    ms, counter = sequence.next(min(max(unix_ms, 0), _V7_MAX_MS), clamp_backwards)
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = ms << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


@LIBRARY.function("uuid_v7", Param("time", "timestamp", default=None, nullable=True))
def uuid_v7(ctx: Any, at: Timestamp | None = None) -> str:
    """A time-ordered version 7 UUID, for now or for the given timestamp (millisecond precision)."""
    if at is None:
        return uuid7_at(time.time_ns() // 1_000_000, clamp_backwards=True)
    return uuid7_at(at.ns // 1_000_000, clamp_backwards=False)


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KSUID_EPOCH = 1_400_000_000


@LIBRARY.function("ksuid")
def ksuid(ctx: Any) -> str:
    """A KSUID: 4 bytes of seconds since 2014-05-13 plus 16 random bytes, base62 in 27 chars,
    so the text sorts by creation second."""
    stamp = (int(time.time()) - _KSUID_EPOCH) & 0xFFFFFFFF
    number = int.from_bytes(stamp.to_bytes(4, "big") + os.urandom(16), "big")
    chars = []
    for _ in range(27):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(reversed(chars))


_NANOID_ALPHABET = "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _nanoid_check(length: int | None = None, alphabet: str | None = None) -> None:
    if alphabet is not None and length is None:
        raise ExecError("field length must be specified when an alphabet is specified")


@LIBRARY.function(
    "nanoid",
    Param("length", "int", default=None, nullable=True),
    Param("alphabet", "string", default=None, nullable=True),
    check=_nanoid_check,
)
def nanoid(ctx: Any, length: int | None = None, alphabet: str | None = None) -> str:
    """A Nano ID: ``length`` (default 21) characters drawn uniformly from ``alphabet``."""
    if alphabet is not None and length is None:
        raise ExecError("field length must be specified when an alphabet is specified")
    if length is None:
        length = 21
    if length < 0:
        raise ExecError("negative id length")
    symbols = _NANOID_ALPHABET if alphabet is None else alphabet
    if not symbols or len(symbols) > 255:
        raise ExecError("alphabet must not be empty and contain no more than 255 chars")
    return "".join(secrets.choice(symbols) for _ in range(length))


def _random_int_check(seed: Any = 0, low: int = 0, high: int = _INT64_MAX - 1) -> None:
    _check_range(low, high)


def _check_range(low: int, high: int) -> None:
    if low < 0:
        raise ExecError(f"min ({low}) must be a positive number")
    if high < low:
        raise ExecError(f"min ({low}) must be smaller or equal than max ({high})")
    if high >= _INT64_MAX:
        raise ExecError(f"max must be smaller than the max allowed for an int64 ({_INT64_MAX})")


@LIBRARY.function(
    "random_int",
    Param("seed", "any", default=0),
    Param("min", "int", default=0),
    Param("max", "int", default=_INT64_MAX - 1),
    stateful=True,
    check=_random_int_check,
)
def random_int() -> Callable[..., int]:
    """Per call site: a generator seeded once, from the first call's ``seed``; every call then
    draws from ``[min, max]``. A fixed seed therefore repeats its sequence.

    NOTE: Benthos evaluates ``seed`` only once; here it arrives evaluated on every call and all
    but the first value are ignored, which differs only if a later evaluation would fail."""
    lock = threading.Lock()
    state: dict[str, random.Random] = {}

    def draw(ctx: Any, seed: Any = 0, low: int = 0, high: int = _INT64_MAX - 1) -> int:
        _check_range(low, high)
        with lock:
            rng = state.get("rng")
            if rng is None:
                rng = random.Random(_seed_value(seed))
                state["rng"] = rng
            return rng.randint(low, high)

    return draw


def _seed_value(seed: Any) -> int:
    try:
        return to_int(seed)
    except ExecError as err:
        raise ExecError(f"failed to seed random number generator: {err}", cause=err) from err
