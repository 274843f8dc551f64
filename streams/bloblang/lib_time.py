"""Bloblang's Timestamp Manipulation methods (Benthos v4 ``internal/impl/pure/bloblang_time.go``).

All are static (folded at parse time on literal targets, so ``"nope".ts_parse("2006")`` is a parse
error, as in Benthos). A timestamp target may be a timestamp, a number of Unix seconds (fraction
allowed, shown in the host's local zone) or an RFC 3339 string; Go's layouts, durations and
error texts come from ``timefmt``. ISO 8601 periods follow the ``rickb777/period`` library that
Benthos uses: whole calendar fields are added on the calendar (``P1M`` from Jan 31 lands in
March), fractional ones through the approximate duration (a year is 365.2425 days).
"""

from __future__ import annotations

import decimal
import re
from typing import Any

from . import timefmt
from .errors import ExecError
from .registry import Library, Param
from .values import Timestamp, get_string, get_timestamp

LIBRARY = Library()

_NS = 1_000_000_000
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def to_timestamp(value: Any) -> Timestamp:
    """Benthos's ``IGetTimestamp`` (``values.get_timestamp``): timestamps as they are, numbers as
    Unix seconds in the local zone, strings and bytes parsed as RFC 3339 nano."""
    return get_timestamp(value)


def _location(name: str) -> Any:
    try:
        return timefmt.load_location(name)
    except timefmt.GoTimeError as exc:
        raise ExecError(f"failed to parse timezone location name: {exc}") from None


def _wrap64(v: int) -> int:
    """Go int64 arithmetic wraps silently."""
    return (v - _INT64_MIN) % (1 << 64) + _INT64_MIN


# ---------------------------------------------------------------------------------------------
# Durations


@LIBRARY.method("parse_duration", static=True)
def parse_duration(target: Any) -> int:
    """A Go duration string (``"1h30m"``, ``"50us"``, ``"-1.5h"``) as integer nanoseconds."""
    try:
        return timefmt.parse_duration(get_string(target))
    except timefmt.GoTimeError as exc:
        raise ExecError(str(exc)) from None


class _Period:
    """An ISO 8601 period as ``rickb777/period`` parses it: signed decimal fields."""

    __slots__ = ("fields", "neg")

    def __init__(self) -> None:
        self.fields: dict[str, decimal.Decimal] = {}
        self.neg = False

    def get(self, des: str) -> decimal.Decimal:
        return self.fields.get(des, decimal.Decimal(0))


_DESIGNATORS = {"S": "S", "H": "H", "D": "D", "W": "W", "Y": "Y"}


def _parse_period(text: str) -> _Period:
    """``period.Parse`` with its error texts (``P3S: 'S' designator cannot occur here``)."""
    p = _Period()
    if text == "":
        raise ExecError("cannot parse a blank string as a period")
    rest = text
    if rest[0] == "-":
        p.neg = True
        rest = rest[1:]
    elif rest[0] == "+":
        rest = rest[1:]
    if rest in ("P0Y", "P0M", "P0W", "P0D", "PT0H", "PT0M", "PT0S"):
        return _Period()
    if rest == "":
        raise ExecError("cannot parse a blank string as a period")
    if rest[0] != "P":
        raise ExecError(f"{text}: expected 'P' period mark at the start")
    rest = rest[1:]
    # "armed" designators may still appear; "set" ones have appeared; others cannot occur here.
    state = {d: "armed" for d in "YMWD"}
    state.update({d: "unready" for d in ("H", "m", "S")})
    have_fraction = False
    previous = ""
    is_hms = False
    components = 0
    while rest:
        if rest[0] == "T":
            if is_hms:
                raise ExecError(f"{text}: 'T' designator cannot occur more than once")
            is_hms = True
            for d in "YMWD":
                state[d] = "unready"
            for d in ("H", "m", "S"):
                state[d] = "armed"
            rest = rest[1:]
            continue
        number, idx = _scan_digits(rest)
        if idx == -1:
            raise ExecError(f"{text}: expected a number but found '{rest[0]}'")
        if idx == -2:
            raise ExecError(f"{text}: missing designator at the end")
        try:
            if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", number):
                raise decimal.InvalidOperation
            value = decimal.Decimal(number)
            if len(value.as_tuple().digits) > 19:
                raise decimal.InvalidOperation
        except decimal.InvalidOperation:
            raise ExecError(f"{text}: number invalid or out of range") from None
        ch = rest[idx]
        if ch == "M":
            key = "m" if is_hms else "M"
        elif ch in _DESIGNATORS:
            key = ch
        else:
            raise ExecError(f"{text}: expected a designator Y, M, W, D, H, or S not '{ch}'")
        rest = rest[idx + 1:]
        shown = "M" if key == "m" else key
        if have_fraction and value != 0:
            raise ExecError(f"{text}: '{previous}' & '{shown}' only the last field can have a fraction")
        if state[key] == "unready":
            raise ExecError(f"{text}: '{shown}' designator cannot occur here")
        if state[key] == "set":
            raise ExecError(f"{text}: '{shown}' designator cannot occur more than once")
        state[key] = "set"
        p.fields[key] = value
        components += 1
        if -value.as_tuple().exponent > 0:  # type: ignore[operator]
            have_fraction = True
            previous = shown
    if components == 0:
        raise ExecError(f"{text}: expected 'Y', 'M', 'W', 'D', 'H', 'M', or 'S' designator")
    return p


def _scan_digits(s: str) -> tuple[str, int]:
    number: list[str] = []
    for i, c in enumerate(s):
        if i == 0 and c == "-":
            number.append(c)
        elif c in ".,":
            number.append(".")
        elif "0" <= c <= "9":
            number.append(c)
        elif number:
            return "".join(number), i
        else:
            return "", -1
    return "", -2


_DAYS_PER_YEAR_E6 = 365242500
_DAYS_PER_MONTH_E6 = _DAYS_PER_YEAR_E6 // 12


def _field_duration(value: decimal.Decimal, factor: int) -> int:
    """``fieldDuration``: the coefficient times the factor cut by one digit per decimal place."""
    if value == 0:
        return 0
    sign, digits, exp = value.as_tuple()
    scale = -exp if isinstance(exp, int) and exp < 0 else 0
    coef = int("".join(map(str, digits))) * (10 ** exp if isinstance(exp, int) and exp > 0 else 1)
    for _ in range(scale):
        factor //= 10
    return (-1 if sign else 1) * coef * factor


def _hms_ns(p: _Period) -> int:
    return (
        _field_duration(p.get("H"), 3600 * _NS)
        + _field_duration(p.get("m"), 60 * _NS)
        + _field_duration(p.get("S"), _NS)
    )


def _period_duration(p: _Period) -> int:
    """``Period.DurationApprox`` in nanoseconds."""
    days_e9 = (
        _field_duration(p.get("D"), _NS)
        + _field_duration(p.get("W"), 7 * _NS)
        + _field_duration(p.get("M"), _DAYS_PER_MONTH_E6 * 1000)
        + _field_duration(p.get("Y"), _DAYS_PER_YEAR_E6 * 1000)
    )
    total = _wrap64(days_e9 * 86400) + _hms_ns(p)
    return _wrap64(-total if p.neg else total)


def _period_add(p: _Period, ts: Timestamp, negate: bool) -> Timestamp:
    """``Period.AddTo``: calendar arithmetic for whole Y/M/W/D, else the approximate duration."""
    neg = p.neg != negate
    cal = [p.get(d) for d in "YMWD"]
    whole = all(-c.as_tuple().exponent <= 0 for c in cal)  # type: ignore[operator]
    if any(c != 0 for c in cal) and whole:
        sign = -1 if neg else 1
        years, months, weeks, days = (int(c) * sign for c in cal)
        wall, nsec, _, _ = timefmt.wall_clock(ts)
        moved = timefmt.from_wall_clock(
            wall.year + years, wall.month + months, wall.day + 7 * weeks + days,
            wall.hour, wall.minute, wall.second, nsec, ts.tz,
        )
        return Timestamp(moved.ns + sign * _hms_ns(p), ts.tz)
    d = _period_duration(p)
    return Timestamp(ts.ns + (-d if negate else d), ts.tz)


@LIBRARY.method("parse_duration_iso8601", static=True)
def parse_duration_iso8601(target: Any) -> int:
    """An ISO 8601 duration (``P3Y6M4DT12H30M5S``) as approximate nanoseconds."""
    return _period_duration(_parse_period(get_string(target)))


def _check_period(duration: str) -> None:
    """Benthos parses the period when it builds the method: a literal bad one is a parse error."""
    _parse_period(duration)


def _check_tz(format: str | None = None, tz: str | None = None) -> None:
    if tz is not None:
        _location(tz)


def _check_tz_only(tz: str) -> None:
    _location(tz)


@LIBRARY.method("ts_add_iso8601", Param("duration", "string"), static=True, check=_check_period)
def ts_add_iso8601(target: Any, duration: str) -> Timestamp:
    """Add an ISO 8601 duration to a timestamp."""
    p = _parse_period(duration)
    return _period_add(p, to_timestamp(target), False)


@LIBRARY.method("ts_sub_iso8601", Param("duration", "string"), static=True, check=_check_period)
def ts_sub_iso8601(target: Any, duration: str) -> Timestamp:
    """Subtract an ISO 8601 duration from a timestamp."""
    p = _parse_period(duration)
    return _period_add(p, to_timestamp(target), True)


# ---------------------------------------------------------------------------------------------
# Parsing and formatting


def _ts_parse(target: Any, format: str) -> Timestamp:
    try:
        return timefmt.parse_layout(format, get_string(target))
    except timefmt.GoTimeError as exc:
        raise ExecError(str(exc)) from None


def _ts_strptime(target: Any, format: str) -> Timestamp:
    try:
        return timefmt.strptime(get_string(target), format)
    except timefmt.GoTimeError as exc:
        raise ExecError(str(exc)) from None


@LIBRARY.method("ts_parse", Param("format", "string"), static=True)
def ts_parse(target: Any, format: str) -> Timestamp:
    """Parse a string with a Go reference layout (``2006-01-02``); UTC unless it names a zone."""
    return _ts_parse(target, format)


@LIBRARY.method("parse_timestamp", Param("format", "string"), static=True, deprecated=True)
def parse_timestamp(target: Any, format: str) -> str:
    """Deprecated ``ts_parse`` that returns the RFC 3339 nano string instead of a timestamp."""
    return timefmt.format_rfc3339nano(_ts_parse(target, format))


@LIBRARY.method("ts_strptime", Param("format", "string"), static=True)
def ts_strptime(target: Any, format: str) -> Timestamp:
    """Parse a string with strptime directives (``%Y-%m-%d``)."""
    return _ts_strptime(target, format)


@LIBRARY.method("parse_timestamp_strptime", Param("format", "string"), static=True, deprecated=True)
def parse_timestamp_strptime(target: Any, format: str) -> str:
    """Deprecated ``ts_strptime`` that returns the RFC 3339 nano string."""
    return timefmt.format_rfc3339nano(_ts_strptime(target, format))


_FORMAT_PARAMS = (
    Param("format", "string", default=timefmt.RFC3339_NANO),
    Param("tz", "string", default=None, nullable=True),
)


@LIBRARY.method("ts_format", *_FORMAT_PARAMS, static=True, check=_check_tz)
def ts_format(target: Any, format: str = timefmt.RFC3339_NANO, tz: str | None = None) -> str:
    """Format with a Go layout, in ``tz`` when given, else the timestamp's own zone."""
    if tz is not None:
        loc = _location(tz)
        return timefmt.format_layout(Timestamp(to_timestamp(target).ns, loc), format)
    return timefmt.format_layout(to_timestamp(target), format)


@LIBRARY.method("format_timestamp", *_FORMAT_PARAMS, static=True, deprecated=True, check=_check_tz)
def format_timestamp(target: Any, format: str = timefmt.RFC3339_NANO, tz: str | None = None) -> str:
    """Deprecated name of ``ts_format``."""
    return ts_format(target, format, tz)


_STRFTIME_PARAMS = (Param("format", "string"), Param("tz", "string", default=None, nullable=True))


@LIBRARY.method("ts_strftime", *_STRFTIME_PARAMS, static=True, check=_check_tz)
def ts_strftime(target: Any, format: str, tz: str | None = None) -> str:
    """Format with strftime directives, in ``tz`` when given."""
    if tz is not None:
        loc = _location(tz)
        return timefmt.strftime(Timestamp(to_timestamp(target).ns, loc), format)
    return timefmt.strftime(to_timestamp(target), format)


@LIBRARY.method("format_timestamp_strftime", *_STRFTIME_PARAMS, static=True, deprecated=True, check=_check_tz)
def format_timestamp_strftime(target: Any, format: str, tz: str | None = None) -> str:
    """Deprecated name of ``ts_strftime``."""
    return ts_strftime(target, format, tz)


@LIBRARY.method("ts_tz", Param("tz", "string"), static=True, check=_check_tz_only)
def ts_tz(target: Any, tz: str) -> Timestamp:
    """The same instant shown in another zone ("UTC", "Local" or an IANA name)."""
    loc = _location(tz)
    return Timestamp(to_timestamp(target).ns, loc)


@LIBRARY.method("ts_round", Param("duration", "int"), static=True)
def ts_round(target: Any, duration: int) -> Timestamp:
    """Round to the nearest multiple of a duration in nanoseconds (halves round up)."""
    ts = to_timestamp(target)
    return Timestamp(timefmt.round_ns(ts.ns, duration), ts.tz)


@LIBRARY.method("ts_sub", Param("t2", "timestamp"), static=True)
def ts_sub(target: Any, t2: Any) -> int:
    """Nanoseconds from ``t2`` to the target (negative when the target is earlier), clamped to
    Go's duration range as ``Time.Sub`` does."""
    d = to_timestamp(target).ns - to_timestamp(t2).ns
    return max(_INT64_MIN, min(_INT64_MAX, d))


# ---------------------------------------------------------------------------------------------
# Unix numbers


def _unix(target: Any, unit: int) -> int:
    # Go's UnixMilli/UnixMicro/UnixNano multiply int64 seconds and wrap on overflow; the
    # wrapped sum equals the exact value wrapped.
    return _wrap64(to_timestamp(target).ns // unit)


@LIBRARY.method("ts_unix", static=True)
def ts_unix(target: Any) -> int:
    """Whole Unix seconds (rounded down, as Go's ``Unix()``)."""
    return to_timestamp(target).ns // _NS


@LIBRARY.method("ts_unix_milli", static=True)
def ts_unix_milli(target: Any) -> int:
    """Unix milliseconds."""
    return _unix(target, 1_000_000)


@LIBRARY.method("ts_unix_micro", static=True)
def ts_unix_micro(target: Any) -> int:
    """Unix microseconds."""
    return _unix(target, 1_000)


@LIBRARY.method("ts_unix_nano", static=True)
def ts_unix_nano(target: Any) -> int:
    """Unix nanoseconds (wrapping outside int64, as Go does)."""
    return _unix(target, 1)


for _old, _new in (
    ("format_timestamp_unix", ts_unix),
    ("format_timestamp_unix_milli", ts_unix_milli),
    ("format_timestamp_unix_micro", ts_unix_micro),
    ("format_timestamp_unix_nano", ts_unix_nano),
):
    LIBRARY.method(_old, static=True, deprecated=True)(_new)
