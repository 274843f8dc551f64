"""Go's time formatting and parsing for Bloblang timestamps, byte for byte.

Bloblang users write Go reference layouts (``2006-01-02T15:04:05Z07:00``), Go durations
(``1h30m``) and strftime patterns, and they read Go's error texts; all of that is reproduced here
rather than mapped onto Python's ``strftime``, whose directives and errors differ. A timestamp is a
``Timestamp`` (ns since the epoch plus a display zone, defined here and re-exported by ``values``);
Go's ``time.Local`` is ``tz=None``.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import time as _time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .goquote import go_quote as strconv_quote
from .goquote import go_quote_char

__all__ = [
    "RFC3339",
    "Timestamp",
    "RFC3339_NANO",
    "UTC",
    "FixedZone",
    "GoTimeError",
    "format_duration",
    "format_layout",
    "format_rfc3339nano",
    "from_wall_clock",
    "go_quote",
    "load_location",
    "parse_duration",
    "parse_layout",
    "parse_rfc3339",
    "round_ns",
    "strftime",
    "strptime",
    "wall_clock",
]

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_NS = 1_000_000_000


class Timestamp:
    """Go's time.Time: nanoseconds since the Unix epoch plus the location used for display.

    ``tz`` is a ``datetime.tzinfo`` (``zoneinfo.ZoneInfo``, ``datetime.timezone``) or None for
    the process's local zone. ``values`` re-exports it as the Bloblang timestamp value.
    """

    __slots__ = ("ns", "tz")

    def __init__(self, ns: int, tz: Any = None) -> None:
        self.ns = ns
        self.tz = tz

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(self.ns)

    def __repr__(self) -> str:
        return f"Timestamp({self.ns}, {self.tz!r})"


class GoTimeError(ValueError):
    """A parse failure whose ``str()`` is the exact text Go's ``time`` package gives."""


class FixedZone(_dt.tzinfo):
    """Go's ``time.FixedZone(name, offset)``: a constant offset whose name may be empty.

    Python's ``timezone`` invents names like ``UTC+01:00``; Go prints an unnamed zone's ``MST``
    as ``+0100``, so the name must be able to be empty.
    """

    def __init__(self, name: str, offset_seconds: int) -> None:
        self.name = name
        self.offset = offset_seconds

    def utcoffset(self, dt: Any) -> _dt.timedelta:
        return _dt.timedelta(seconds=self.offset)

    def dst(self, dt: Any) -> _dt.timedelta:
        return _dt.timedelta(0)

    def tzname(self, dt: Any) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"FixedZone({self.name!r}, {self.offset})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedZone) and (other.name, other.offset) == (self.name, self.offset)

    def __hash__(self) -> int:
        return hash((self.name, self.offset))


UTC = FixedZone("UTC", 0)
"""Go's ``time.UTC``."""


# ---------------------------------------------------------------------------------------------
# Instant <-> wall clock


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year, Go's range included)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """The (year, month, day) ``days_from_civil`` maps to ``z``."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


_MIN_SEC = -62135596800  # 0001-01-01T00:00:00Z, the first instant datetime can hold
_MAX_SEC = 253402300799  # 9999-12-31T23:59:59Z


def offset_at(unix_sec: int, tz: Any) -> tuple[int, str]:
    """UTC offset (seconds) and zone abbreviation of ``tz`` at an instant (``None``: local)."""
    if isinstance(tz, FixedZone):
        return tz.offset, tz.name
    sec = min(max(unix_sec, _MIN_SEC + 86400), _MAX_SEC - 86400)
    utc = _EPOCH + _dt.timedelta(seconds=sec)
    local = utc.astimezone() if tz is None else utc.astimezone(tz)
    off = local.utcoffset()
    return (int(off.total_seconds()) if off is not None else 0), local.tzname() or ""


class Wall:
    """The calendar fields of an instant in a zone (Go's ``Date()``/``Clock()``), for any year."""

    __slots__ = ("day", "hour", "minute", "month", "second", "wday", "yday", "year")

    def __init__(self, local_sec: int) -> None:
        days, rem = divmod(local_sec, 86400)
        self.year, self.month, self.day = civil_from_days(days)
        self.hour, rem = divmod(rem, 3600)
        self.minute, self.second = divmod(rem, 60)
        self.wday = (days + 4) % 7  # Go's Weekday: Sunday == 0; 1970-01-01 was a Thursday
        self.yday = days - days_from_civil(self.year, 1, 1) + 1

    def weekday(self) -> int:
        """Python's convention (Monday == 0), for code shared with ``datetime``."""
        return (self.wday + 6) % 7

    def isocalendar(self) -> tuple[int, int]:
        """ISO 8601 (year, week), as Go's ``ISOWeek``."""
        # Shift to the Thursday of this week; its year is the ISO year.
        thursday_yday_days = days_from_civil(self.year, self.month, self.day) - self.weekday() + 3
        y, _, _ = civil_from_days(thursday_yday_days)
        week = (thursday_yday_days - days_from_civil(y, 1, 1)) // 7 + 1
        return y, week


def wall_clock(ts: Timestamp) -> tuple[Wall, int, int, str]:
    """``(calendar fields, nanosecond, offset seconds, zone name)`` of ``ts`` in its zone."""
    sec = ts.ns // _NS
    off, name = offset_at(sec, ts.tz)
    return Wall(sec + off), ts.ns % _NS, off, name


def from_wall_clock(
    year: int, month: int, day: int, hour: int, minute: int, sec: int, nsec: int, tz: Any
) -> Timestamp:
    """Go's ``time.Date``: fields may overflow their ranges and are normalised."""
    m0 = month - 1
    year += m0 // 12
    month = m0 % 12 + 1
    naive = ((days_from_civil(year, month, 1) + day - 1) * 24 + hour) * 3600 + minute * 60 + sec
    naive += nsec // _NS
    nsec %= _NS
    offset, _ = offset_at(naive, tz)
    if offset and not isinstance(tz, FixedZone):
        # NOTE: as Go does, look the offset up again at the guessed instant near transitions.
        offset2, _ = offset_at(naive - offset, tz)
        if offset2 != offset:
            offset = offset2
    return Timestamp((naive - offset) * _NS + nsec, tz)


_ZERO_TIME_SEC = 62135596800  # seconds from 0001-01-01 (Go's zero time) to the Unix epoch


def round_ns(ns: int, d: int) -> int:
    """Go's ``Time.Round(d)``: rounds the time since Go's zero time (year 1), so a duration that
    does not divide a day still lands where Go lands; halfway rounds up; ``d <= 0`` is a no-op."""
    if d <= 0:
        return ns
    r = (ns + _ZERO_TIME_SEC * _NS) % d
    if r + r < d:
        return ns - r
    return ns + (d - r)


# ---------------------------------------------------------------------------------------------
# Locations


def load_location(name: str) -> Any:
    """Go's ``time.LoadLocation``: "" and "UTC" are UTC, "Local" is the host zone (``None``)."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return None
    if name.startswith(("/", "\\")) or ".." in name:
        raise GoTimeError("time: invalid location name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return _load_zone_file(name)


# Go's platformZoneSources on Unix, searched in order.
_GO_ZONE_DIRS = ("/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ", "/etc/zoneinfo")


def _load_zone_file(name: str) -> Any:
    """Go's file lookup for a name ``ZoneInfo`` refuses (``America//New_York`` is a file to Go):
    the first error other than "no such file" wins (``is a directory``, ``not a directory``,
    ``malformed time zone information``), else ``unknown time zone NAME``."""
    first_err = ""
    for d in _GO_ZONE_DIRS:
        try:
            with open(d + "/" + name, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        except OSError as exc:
            first_err = first_err or (exc.strerror or str(exc)).lower()
            continue
        try:
            return ZoneInfo.from_file(io.BytesIO(data), key=name)
        except (ValueError, OSError):
            first_err = first_err or "malformed time zone information"
    raise GoTimeError(first_err or f"unknown time zone {name}")


# ---------------------------------------------------------------------------------------------
# Go layouts: tokeniser shared by format and parse

_LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]
_SHORT_MONTHS = [m[:3] for m in _LONG_MONTHS]
_LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_SHORT_DAYS = [d[:3] for d in _LONG_DAYS]

# Token kinds (names follow the Go constants so the tables read alike).
(LONG_MONTH, MONTH, NUM_MONTH, ZERO_MONTH, LONG_WEEKDAY, WEEKDAY, DAY, UNDER_DAY, ZERO_DAY,
 UNDER_YEARDAY, ZERO_YEARDAY, HOUR, HOUR12, ZERO_HOUR12, MINUTE, ZERO_MINUTE, SECOND,
 ZERO_SECOND, LONG_YEAR, YEAR, PM, PM_LOWER, TZ, ISO_TZ, ISO_SECONDS_TZ, ISO_SHORT_TZ,
 ISO_COLON_TZ, ISO_COLON_SECONDS_TZ, NUM_TZ, NUM_SECONDS_TZ, NUM_SHORT_TZ, NUM_COLON_TZ,
 NUM_COLON_SECONDS_TZ, FRAC0, FRAC9) = range(1, 36)

_ISO_KINDS = {ISO_TZ, ISO_SECONDS_TZ, ISO_SHORT_TZ, ISO_COLON_TZ, ISO_COLON_SECONDS_TZ}
_NUM_KINDS = {NUM_TZ, NUM_SECONDS_TZ, NUM_SHORT_TZ, NUM_COLON_TZ, NUM_COLON_SECONDS_TZ}
_ZERO_X = {"1": ZERO_MONTH, "2": ZERO_DAY, "3": ZERO_HOUR12, "4": ZERO_MINUTE, "5": ZERO_SECOND,
           "6": YEAR}
_TZ_PATTERNS = [
    ("-070000", NUM_SECONDS_TZ), ("-07:00:00", NUM_COLON_SECONDS_TZ), ("-0700", NUM_TZ),
    ("-07:00", NUM_COLON_TZ), ("-07", NUM_SHORT_TZ),
    ("Z070000", ISO_SECONDS_TZ), ("Z07:00:00", ISO_COLON_SECONDS_TZ), ("Z0700", ISO_TZ),
    ("Z07:00", ISO_COLON_TZ), ("Z07", ISO_SHORT_TZ),
]


class _Std:
    """One layout element: kind, its text in the layout, and (fractions) digits and separator."""

    __slots__ = ("digits", "kind", "sep", "text")

    def __init__(self, kind: int, text: str, digits: int = 0, sep: str = ".") -> None:
        self.kind, self.text, self.digits, self.sep = kind, text, digits, sep


def _starts_lower(s: str) -> bool:
    return bool(s) and "a" <= s[0] <= "z"


def _next_chunk(layout: str) -> tuple[str, _Std | None, str]:
    """Go's ``nextStdChunk``: (literal prefix, element or None, rest of the layout)."""
    n = len(layout)
    for i, c in enumerate(layout):
        rest = layout[i:]
        if c == "J" and rest.startswith("Jan"):
            if rest.startswith("January"):
                return layout[:i], _Std(LONG_MONTH, "January"), layout[i + 7:]
            if not _starts_lower(layout[i + 3:]):
                return layout[:i], _Std(MONTH, "Jan"), layout[i + 3:]
        elif c == "M" and len(rest) >= 3:
            if rest.startswith("Mon"):
                if rest.startswith("Monday"):
                    return layout[:i], _Std(LONG_WEEKDAY, "Monday"), layout[i + 6:]
                if not _starts_lower(layout[i + 3:]):
                    return layout[:i], _Std(WEEKDAY, "Mon"), layout[i + 3:]
            if rest.startswith("MST"):
                return layout[:i], _Std(TZ, "MST"), layout[i + 3:]
        elif c == "0":
            if i + 1 < n and "1" <= layout[i + 1] <= "6":
                return layout[:i], _Std(_ZERO_X[layout[i + 1]], rest[:2]), layout[i + 2:]
            if rest.startswith("002"):
                return layout[:i], _Std(ZERO_YEARDAY, "002"), layout[i + 3:]
        elif c == "1":
            if rest.startswith("15"):
                return layout[:i], _Std(HOUR, "15"), layout[i + 2:]
            return layout[:i], _Std(NUM_MONTH, "1"), layout[i + 1:]
        elif c == "2":
            if rest.startswith("2006"):
                return layout[:i], _Std(LONG_YEAR, "2006"), layout[i + 4:]
            return layout[:i], _Std(DAY, "2"), layout[i + 1:]
        elif c == "_":
            if rest.startswith("_2"):
                if rest.startswith("_2006"):
                    return layout[: i + 1], _Std(LONG_YEAR, "2006"), layout[i + 5:]
                return layout[:i], _Std(UNDER_DAY, "_2"), layout[i + 2:]
            if rest.startswith("__2"):
                return layout[:i], _Std(UNDER_YEARDAY, "__2"), layout[i + 3:]
        elif c in "345":
            kind = {"3": HOUR12, "4": MINUTE, "5": SECOND}[c]
            return layout[:i], _Std(kind, c), layout[i + 1:]
        elif c == "P" and rest.startswith("PM"):
            return layout[:i], _Std(PM, "PM"), layout[i + 2:]
        elif c == "p" and rest.startswith("pm"):
            return layout[:i], _Std(PM_LOWER, "pm"), layout[i + 2:]
        elif c in "-Z":
            for pat, kind in _TZ_PATTERNS:
                if rest.startswith(pat):
                    return layout[:i], _Std(kind, pat), layout[i + len(pat):]
        elif c in ".,":
            if i + 1 < n and layout[i + 1] in "09":
                ch = layout[i + 1]
                j = i + 1
                while j < n and layout[j] == ch:
                    j += 1
                if not (j < n and layout[j].isdigit() and layout[j].isascii()):
                    kind = FRAC0 if ch == "0" else FRAC9
                    return layout[:i], _Std(kind, layout[i:j], j - (i + 1), c), layout[j:]
    return layout, None, ""


# ---------------------------------------------------------------------------------------------
# Formatting


def _pad(v: int, width: int) -> str:
    """Go's ``appendInt(b, v, width)``: zero padded, sign before the padding."""
    if v < 0:
        return "-" + str(-v).zfill(width)
    return str(v).zfill(width)


def _append_nano(nsec: int, std: _Std) -> str:
    if std.kind == FRAC9 and (std.digits == 0 or nsec == 0):
        return ""
    digits = str(nsec).zfill(9)[: min(std.digits, 9)]
    if std.kind == FRAC9:
        digits = digits.rstrip("0")
        if not digits:
            return ""
    return std.sep + digits


_LAYOUT_CHUNKS: dict[str, tuple[tuple[str, _Std | None], ...]] = {}
_LAYOUT_CHUNKS_MAX = 256


def layout_chunks(layout: str) -> tuple[tuple[str, _Std | None], ...]:
    """A layout as its (literal prefix, element) pairs, the last element None when the layout
    ends in literal text. PERF: kept per layout text (layouts are nearly always constants of
    a mapping), as splitting one costs more than formatting with it."""
    chunks = _LAYOUT_CHUNKS.get(layout)
    if chunks is None:
        found: list[tuple[str, _Std | None]] = []
        rest = layout
        while rest:
            prefix, std, rest = _next_chunk(rest)
            found.append((prefix, std))
            if std is None:
                break
        chunks = tuple(found)
        if len(_LAYOUT_CHUNKS) >= _LAYOUT_CHUNKS_MAX:
            _LAYOUT_CHUNKS.clear()
        _LAYOUT_CHUNKS[layout] = chunks
    return chunks


def format_layout(ts: Timestamp, layout: str) -> str:
    """Go's ``Time.Format(layout)``."""
    wall, nsec, offset, name = wall_clock(ts)
    out: list[str] = []
    for prefix, std in layout_chunks(layout):
        out.append(prefix)
        if std is None:
            break
        k = std.kind
        if k == YEAR:
            out.append(_pad(wall.year % 100, 2))
        elif k == LONG_YEAR:
            out.append(_pad(wall.year, 4))
        elif k == MONTH:
            out.append(_SHORT_MONTHS[wall.month - 1])
        elif k == LONG_MONTH:
            out.append(_LONG_MONTHS[wall.month - 1])
        elif k == NUM_MONTH:
            out.append(str(wall.month))
        elif k == ZERO_MONTH:
            out.append(_pad(wall.month, 2))
        elif k == WEEKDAY:
            out.append(_SHORT_DAYS[(wall.weekday() + 1) % 7])
        elif k == LONG_WEEKDAY:
            out.append(_LONG_DAYS[(wall.weekday() + 1) % 7])
        elif k == DAY:
            out.append(str(wall.day))
        elif k == UNDER_DAY:
            out.append(f"{wall.day:>2}")
        elif k == ZERO_DAY:
            out.append(_pad(wall.day, 2))
        elif k == UNDER_YEARDAY:
            out.append(f"{wall.yday:>3}")
        elif k == ZERO_YEARDAY:
            out.append(_pad(wall.yday, 3))
        elif k == HOUR:
            out.append(_pad(wall.hour, 2))
        elif k in (HOUR12, ZERO_HOUR12):
            hr = wall.hour % 12 or 12
            out.append(str(hr) if k == HOUR12 else _pad(hr, 2))
        elif k == MINUTE:
            out.append(str(wall.minute))
        elif k == ZERO_MINUTE:
            out.append(_pad(wall.minute, 2))
        elif k == SECOND:
            out.append(str(wall.second))
        elif k == ZERO_SECOND:
            out.append(_pad(wall.second, 2))
        elif k == PM:
            out.append("PM" if wall.hour >= 12 else "AM")
        elif k == PM_LOWER:
            out.append("pm" if wall.hour >= 12 else "am")
        elif k in _ISO_KINDS or k in _NUM_KINDS:
            out.append(_format_offset(k, offset))
        elif k == TZ:
            if name:
                out.append(name)
            else:
                zone = offset // 60 if offset >= 0 else -((-offset) // 60)
                sign = "-" if zone < 0 else "+"
                zone = abs(zone)
                out.append(f"{sign}{zone // 60:02d}{zone % 60:02d}")
        elif k in (FRAC0, FRAC9):
            out.append(_append_nano(nsec, std))
    return "".join(out)


def _format_offset(kind: int, offset: int) -> str:
    if offset == 0 and kind in _ISO_KINDS:
        return "Z"
    sign = "-" if offset < 0 else "+"
    absoff = abs(offset)
    zone = absoff // 60
    parts = [sign, f"{zone // 60:02d}"]
    if kind in (ISO_COLON_TZ, NUM_COLON_TZ, ISO_COLON_SECONDS_TZ, NUM_COLON_SECONDS_TZ):
        parts.append(":")
    if kind not in (NUM_SHORT_TZ, ISO_SHORT_TZ):
        parts.append(f"{zone % 60:02d}")
    if kind in (ISO_SECONDS_TZ, NUM_SECONDS_TZ, NUM_COLON_SECONDS_TZ, ISO_COLON_SECONDS_TZ):
        if kind in (NUM_COLON_SECONDS_TZ, ISO_COLON_SECONDS_TZ):
            parts.append(":")
        parts.append(f"{absoff % 60:02d}")
    return "".join(parts)


def format_rfc3339nano(ts: Timestamp) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed: how Go shows a ``time.Time`` in JSON
    and in ``.string()`` (``2020-08-14T11:45:26.371+01:00``, ``Z`` for a zero offset)."""
    sec, nsec = divmod(ts.ns, _NS)
    offset, _ = offset_at(sec, ts.tz)
    days, rem = divmod(sec + offset, 86400)
    year, month, day = civil_from_days(days)
    hour, rem = divmod(rem, 3600)
    minute, second = divmod(rem, 60)
    frac = "." + str(nsec).zfill(9).rstrip("0") if nsec else ""
    zone = "Z" if offset == 0 else _format_offset(ISO_COLON_TZ, offset)
    return f"{_pad(year, 4)}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}"


# ---------------------------------------------------------------------------------------------
# Parsing


def go_quote(s: str) -> str:
    """The quoting Go's ``time`` package uses in its errors (non-ASCII bytes as ``\\xNN``)."""
    out = ['"']
    for ch in s:
        if ch >= "\x80" or ch < " ":
            raw = ch.encode("utf-8", "surrogateescape" if "\udc80" <= ch <= "\udcff" else "surrogatepass")
            out.extend(f"\\x{b:02x}" for b in raw)
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


class _Bad(Exception):
    """Internal: an element did not match (Go's ``errBad``)."""


def _parse_error(layout: str, value: str, layout_elem: str, value_elem: str, message: str = "") -> GoTimeError:
    if message:
        return GoTimeError(f"parsing time {go_quote(value)}{message}")
    return GoTimeError(
        f"parsing time {go_quote(value)} as {go_quote(layout)}: cannot parse "
        f"{go_quote(value_elem)} as {go_quote(layout_elem)}"
    )


def _isdigit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def _getnum(s: str, fixed: bool) -> tuple[int, str]:
    if not _isdigit(s, 0):
        raise _Bad
    if not _isdigit(s, 1):
        if fixed:
            raise _Bad
        return int(s[0]), s[1:]
    return int(s[:2]), s[2:]


def _getnum3(s: str, fixed: bool) -> tuple[int, str]:
    i = 0
    while i < 3 and _isdigit(s, i):
        i += 1
    if i == 0 or (fixed and i != 3):
        raise _Bad
    return int(s[:i]), s[i:]


def _atoi(s: str) -> int:
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if not s or not all("0" <= c <= "9" for c in s):
        raise _Bad
    v = int(s)
    return -v if neg else v


def _lookup(table: list[str], val: str) -> tuple[int, str]:
    for i, name in enumerate(table):
        if len(val) >= len(name) and val[: len(name)].lower() == name.lower():
            return i, val[len(name):]
    raise _Bad


def _skip(value: str, prefix: str) -> tuple[str, bool]:
    """Go's ``skip``: consume the literal prefix; on a mismatch also return how far it got, which
    Go's error text shows."""
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                return value, False
            prefix = prefix.lstrip(" ")
            value = value.lstrip(" ")
            continue
        if not value or value[0] != prefix[0]:
            return value, False
        prefix, value = prefix[1:], value[1:]
    return value, True


def _parse_nanos(value: str, nbytes: int) -> int:
    if value[0] not in ".,":
        raise _Bad
    if nbytes > 10:
        value, nbytes = value[:10], 10
    ns = _atoi(value[1:nbytes])
    return ns * 10 ** (10 - nbytes)


def _leading_int(s: str) -> tuple[int, str]:
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    if i == 0:
        raise _Bad
    return int(s[:i]), s[i:]


def _signed_offset_len(value: str) -> int:
    if not value or value[0] not in "+-":
        return 0
    try:
        x, rem = _leading_int(value[1:])
    except _Bad:
        return 0
    if x > 23:
        return 0
    return len(value) - len(rem)


def _timezone_len(value: str) -> int:
    """Go's ``parseTimeZone``: length of a zone abbreviation at the start of value, 0 if none."""
    if len(value) < 3:
        return 0
    if value[:4] in ("ChST", "MeST"):
        return 4
    if value[:3] == "GMT":
        return 3 + (_signed_offset_len(value[3:]) if len(value) > 3 else 0)
    if value[0] in "+-":
        return _signed_offset_len(value)
    upper = 0
    while upper < 6 and upper < len(value) and "A" <= value[upper] <= "Z":
        upper += 1
    if upper == 5 and value[4] == "T":
        return 5
    if upper == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if upper == 3:
        return 3
    return 0


_DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2 and _is_leap(year):
        return 29
    return _DAYS_BEFORE[month] - _DAYS_BEFORE[month - 1]


def _local_offset_at(unix_sec: int) -> tuple[int, str]:
    return offset_at(unix_sec, None)


def parse_layout(layout: str, value: str, default_tz: Any = UTC) -> Timestamp:
    """Go's ``time.Parse(layout, value)`` (``default_tz`` for ``ParseInLocation``); raises
    ``GoTimeError`` with Go's text."""
    alayout, avalue = layout, value
    am = pm = False
    year, month, day, yday = 0, -1, -1, -1
    hour = minute = sec = nsec = 0
    zone: Any = None
    zone_offset = -1
    zone_name = ""
    while True:
        prefix, std, suffix = _next_chunk(layout)
        value, ok = _skip(value, prefix)
        if not ok:
            raise _parse_error(alayout, avalue, prefix, value)
        if std is None:
            if value:
                raise _parse_error(alayout, avalue, "", value, ": extra text: " + go_quote(value))
            break
        layout = suffix
        hold = value
        range_err = ""
        k = std.kind
        try:
            if k == YEAR:
                if len(value) < 2:
                    raise _Bad
                year = _atoi(value[:2])
                value = value[2:]
                year += 1900 if year >= 69 else 2000
            elif k == LONG_YEAR:
                if len(value) < 4 or not _isdigit(value, 0):
                    raise _Bad
                year = _atoi(value[:4])
                value = value[4:]
            elif k == MONTH:
                month, value = _lookup(_SHORT_MONTHS, value)
                month += 1
            elif k == LONG_MONTH:
                month, value = _lookup(_LONG_MONTHS, value)
                month += 1
            elif k in (NUM_MONTH, ZERO_MONTH):
                month, value = _getnum(value, k == ZERO_MONTH)
                if not 1 <= month <= 12:
                    range_err = "month"
            elif k == WEEKDAY:
                _, value = _lookup(_SHORT_DAYS, value)
            elif k == LONG_WEEKDAY:
                _, value = _lookup(_LONG_DAYS, value)
            elif k in (DAY, UNDER_DAY, ZERO_DAY):
                if k == UNDER_DAY and value[:1] == " ":
                    value = value[1:]
                day, value = _getnum(value, k == ZERO_DAY)
            elif k in (UNDER_YEARDAY, ZERO_YEARDAY):
                for _ in range(2):
                    if k == UNDER_YEARDAY and value[:1] == " ":
                        value = value[1:]
                yday, value = _getnum3(value, k == ZERO_YEARDAY)
            elif k == HOUR:
                hour, value = _getnum(value, False)
                if not 0 <= hour < 24:
                    range_err = "hour"
            elif k in (HOUR12, ZERO_HOUR12):
                hour, value = _getnum(value, k == ZERO_HOUR12)
                if not 0 <= hour <= 12:
                    range_err = "hour"
            elif k in (MINUTE, ZERO_MINUTE):
                minute, value = _getnum(value, k == ZERO_MINUTE)
                if not 0 <= minute < 60:
                    range_err = "minute"
            elif k in (SECOND, ZERO_SECOND):
                sec, value = _getnum(value, k == ZERO_SECOND)
                if not 0 <= sec < 60:
                    range_err = "second"
                elif len(value) >= 2 and value[0] in ".," and _isdigit(value, 1):
                    _, nxt, _ = _next_chunk(layout)
                    if nxt is None or nxt.kind not in (FRAC0, FRAC9):
                        n = 2
                        while n < len(value) and _isdigit(value, n):
                            n += 1
                        nsec = _parse_nanos(value, n)
                        value = value[n:]
            elif k in (PM, PM_LOWER):
                if len(value) < 2:
                    raise _Bad
                p, value = value[:2], value[2:]
                if p == ("PM" if k == PM else "pm"):
                    pm = True
                elif p == ("AM" if k == PM else "am"):
                    am = True
                else:
                    raise _Bad
            elif k in _ISO_KINDS and value[:1] == "Z":
                value = value[1:]
                zone = UTC
            elif k in _ISO_KINDS or k in _NUM_KINDS:
                if k in (ISO_COLON_TZ, NUM_COLON_TZ):
                    if len(value) < 6 or value[3] != ":":
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], "00", value[6:]
                elif k in (NUM_SHORT_TZ, ISO_SHORT_TZ):
                    if len(value) < 3:
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], "00", "00", value[3:]
                elif k in (ISO_COLON_SECONDS_TZ, NUM_COLON_SECONDS_TZ):
                    if len(value) < 9 or value[3] != ":" or value[6] != ":":
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], value[7:9], value[9:]
                elif k in (ISO_SECONDS_TZ, NUM_SECONDS_TZ):
                    if len(value) < 7:
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], value[5:7], value[7:]
                else:
                    if len(value) < 5:
                        raise _Bad
                    sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], "00", value[5:]
                hr = _getnum(hh, True)[0]
                mi = _getnum(mm, True)[0]
                se = _getnum(ss, True)[0]
                if hr > 24:
                    range_err = "time zone offset hour"
                if mi > 60:
                    range_err = "time zone offset minute"
                if se > 60:
                    range_err = "time zone offset second"
                zone_offset = (hr * 60 + mi) * 60 + se
                if sign == "-":
                    zone_offset = -zone_offset
                elif sign != "+":
                    raise _Bad
            elif k == TZ:
                if value[:3] == "UTC":
                    zone = UTC
                    value = value[3:]
                else:
                    n = _timezone_len(value)
                    if n == 0:
                        raise _Bad
                    zone_name, value = value[:n], value[n:]
            elif k == FRAC0:
                ndigit = 1 + std.digits
                if len(value) < ndigit:
                    raise _Bad
                nsec = _parse_nanos(value, ndigit)
                value = value[ndigit:]
            elif k == FRAC9:
                if len(value) >= 2 and value[0] in ".," and _isdigit(value, 1):
                    i = 0
                    while i + 1 < len(value) and _isdigit(value, i + 1):
                        i += 1
                    nsec = _parse_nanos(value, 1 + i)
                    value = value[1 + i:]
        except _Bad:
            if range_err:
                raise _parse_error(alayout, avalue, std.text, value, f": {range_err} out of range") from None
            raise _parse_error(alayout, avalue, std.text, hold) from None
        if range_err:
            raise _parse_error(alayout, avalue, std.text, value, f": {range_err} out of range")

    if pm and hour < 12:
        hour += 12
    elif am and hour == 12:
        hour = 0

    if yday >= 0:
        m = d = 0
        if _is_leap(year):
            if yday == 31 + 29:
                m, d = 2, 29
            elif yday > 31 + 29:
                yday -= 1
        if yday < 1 or yday > 365:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year out of range")
        if m == 0:
            m = (yday - 1) // 31 + 1
            if _DAYS_BEFORE[m] < yday:
                m += 1
            d = yday - _DAYS_BEFORE[m - 1]
        if month >= 0 and month != m:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match month")
        month = m
        if day >= 0 and day != d:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match day")
        day = d
    else:
        if month < 0:
            month = 1
        if day < 0:
            day = 1
    if day < 1 or day > _days_in(month, year):
        raise _parse_error(alayout, avalue, "", value, ": day out of range")

    if zone is not None:
        return from_wall_clock(year, month, day, hour, minute, sec, nsec, zone)
    if zone_offset != -1:
        t = from_wall_clock(year, month, day, hour, minute, sec, nsec, UTC)
        t = Timestamp(t.ns - zone_offset * _NS, None)
        local_off, local_name = _local_offset_at(t.ns // _NS)
        if local_off == zone_offset and (not zone_name or local_name == zone_name):
            return t
        return Timestamp(t.ns, FixedZone(zone_name, zone_offset))
    if zone_name:
        t = from_wall_clock(year, month, day, hour, minute, sec, nsec, UTC)
        offset = _local_offset_for_name(zone_name, t.ns // _NS)
        if offset is not None:
            return Timestamp(t.ns - offset * _NS, None)
        offset = 0
        if len(zone_name) > 3 and zone_name[:3] == "GMT":
            offset = int(zone_name[3:]) * 3600
        return Timestamp(t.ns, FixedZone(zone_name, offset))
    return from_wall_clock(year, month, day, hour, minute, sec, nsec, default_tz)


def _local_offset_for_name(name: str, unix_sec: int) -> int | None:
    """Go's ``Location.lookupName`` on the local zone: the offset of a zone abbreviation the local
    zone uses (near the given time), or None."""
    off, cur = _local_offset_at(unix_sec)
    if cur == name:
        return off
    std_name, dst_name = _time.tzname
    if name == std_name:
        return -_time.timezone
    if name == dst_name and _time.daylight:
        return -_time.altzone
    return None


_RFC3339_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(?:(Z)|([+-])(\d\d):(\d\d))\Z"
)


def parse_rfc3339(value: str) -> Timestamp:
    """``time.Parse(time.RFC3339Nano, s)``: how Bloblang turns a string into a timestamp.

    PERF: well-formed text takes a regular-expression path (about 10x faster); anything else
    goes through the layout parser, which owns Go's error texts.
    """
    m = _RFC3339_RE.match(value)
    if m is None:
        return parse_layout(RFC3339_NANO, value)
    year, month, day, hour, minute, sec = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if not (1 <= month <= 12 and 1 <= day <= _days_in(month, year) and hour < 24 and minute < 60 and sec < 60):
        return parse_layout(RFC3339_NANO, value)
    frac = m.group(7)
    nsec = int(frac[:9].ljust(9, "0")) if frac else 0
    naive = ((days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + sec
    if m.group(8):
        return Timestamp(naive * _NS + nsec, UTC)
    oh, om = int(m.group(10)), int(m.group(11))
    if oh > 24 or om > 60:
        return parse_layout(RFC3339_NANO, value)
    offset = (oh * 60 + om) * 60
    if m.group(9) == "-":
        offset = -offset
    utc_sec = naive - offset
    local_off, _ = _local_offset_at(utc_sec)
    tz = None if local_off == offset else FixedZone("", offset)
    return Timestamp(utc_sec * _NS + nsec, tz)


# ---------------------------------------------------------------------------------------------
# Durations

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 micro sign
    "\u03bcs": 1_000,  # U+03BC Greek mu
    "ms": 1_000_000,
    "s": _NS,
    "m": 60 * _NS,
    "h": 3600 * _NS,
}
_MAX_DURATION = (1 << 63) - 1


def parse_duration(s: str) -> int:
    """Go's ``time.ParseDuration``: ``"1h2m3.5s"``, ``"-1.5h"``, ``"300ms"`` -> nanoseconds."""
    orig = s
    d = 0
    neg = False
    if s and s[0] in "-+":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise GoTimeError("time: invalid duration " + go_quote(orig))
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise GoTimeError("time: invalid duration " + go_quote(orig))
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        pre = i != 0
        v = int(s[:i]) if i else 0
        if v > (1 << 63):
            raise GoTimeError("time: invalid duration " + go_quote(orig))
        s = s[i:]
        f, scale, post = 0, 1.0, False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            while i < len(s) and "0" <= s[i] <= "9":
                i += 1
            post = i != 0
            digits = s[:i]
            # Go keeps digits only while they fit; beyond that they are dropped.
            for ch in digits:
                if f > (_MAX_DURATION) // 10:
                    break
                f = f * 10 + int(ch)
                scale *= 10
            s = s[i:]
        if not pre and not post:
            raise GoTimeError("time: invalid duration " + go_quote(orig))
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise GoTimeError("time: missing unit in duration " + go_quote(orig))
        u = s[:i]
        s = s[i:]
        unit = _UNITS.get(u)
        if unit is None:
            raise GoTimeError("time: unknown unit " + go_quote(u) + " in duration " + go_quote(orig))
        if v > (1 << 63) // unit:
            raise GoTimeError("time: invalid duration " + go_quote(orig))
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > (1 << 63):
                raise GoTimeError("time: invalid duration " + go_quote(orig))
        d += v
        if d > (1 << 63):
            raise GoTimeError("time: invalid duration " + go_quote(orig))
    if neg:
        return -d
    if d > _MAX_DURATION:
        raise GoTimeError("time: invalid duration " + go_quote(orig))
    return d


def format_duration(ns: int) -> str:
    """Go's ``Duration.String()``: ``1h2m3.5s``, ``300ms``, ``1.5µs``, ``0s``."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < _NS:
        if u < 1_000:
            body = f"{u}ns"
        elif u < 1_000_000:
            body = _frac(u, 3) + "\u00b5s"
        else:
            body = _frac(u, 6) + "ms"
    else:
        body = _frac(u % (60 * _NS), 9) + "s"
        u //= 60 * _NS
        if u > 0:
            body = f"{u % 60}m" + body
            u //= 60
            if u > 0:
                body = f"{u}h" + body
    return ("-" if neg else "") + body


def _frac(v: int, prec: int) -> str:
    whole, frac = divmod(v, 10**prec)
    digits = str(frac).zfill(prec).rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


# ---------------------------------------------------------------------------------------------
# strftime / strptime (the C-style patterns of Benthos's ts_strftime and ts_strptime)

_NOPAD = 0x80  # "-" flag: no padding at all
_EXPLICIT = 0x80  # set on a padding chosen by a flag ("_" or "0"), as opposed to the default

_COMPOSITIONS = {
    "c": "a b e H:M:S Y",
    "+": "a b e H:M:S Z Y",
    "F": "Y-m-d",
    "D": "m/d/y",
    "x": "m/d/y",
    "v": "e-b-Y",
    "T": "H:M:S",
    "X": "H:M:S",
    "r": "I:M:S p",
    "R": "H:M",
}


def _sf_int(num: int, width: int, padding: int) -> str:
    """The library's ``appendInt``/``appendInt64`` (timefmt-go v0.1.8): the number right-aligned
    in ``width`` columns, a minus sign counting as one of them; with zero padding the sign moves
    in front of the zeros (``-001``)."""
    text = str(num)
    if padding == _NOPAD or len(text) >= width:
        return text
    ch = chr(padding & 0x7F)
    padded = ch * (width - len(text)) + text
    if num < 0 and ch == "0":
        return "-" + padded[1:].replace("-", "0", 1)
    return padded


def _go_rem(a: int, b: int) -> int:
    """Go's ``%``: the remainder has the sign of the dividend."""
    r = abs(a) % b
    return -r if a < 0 else r


def _sf_century(year: int, width: int, padding: int) -> str:
    """``%C``: the year divided by 100 toward zero; years -1 to -99 show as ``-0``."""
    century = -(-year // 100) if year < 0 else year // 100
    if year < 0 and century == 0:
        return _sf_int(-1, max(width, 2), padding)[:-1] + "0"
    return _sf_int(century, max(width, 2), padding)


def _sf_str(s: str, width: int, padding: int, upper: bool, swap: bool) -> str:
    pad = ""
    if width > len(s) and padding != _NOPAD:
        ch = " " if padding < _EXPLICIT else chr(padding & 0x7F)
        pad = ch * (width - len(s))
    # NOTE: the library flips case with bit masks, so "+1345".upper() becomes control bytes.
    if swap and len(s) > 1 and s[1] < "a":
        return pad + "".join(chr(ord(c) | 0x20) if ord(c) < 0x80 else c for c in s)
    if swap or upper:
        return pad + "".join(chr(ord(c) & 0x5F) if ord(c) < 0x80 else c for c in s)
    return pad + s


def _iso_week(wall: Wall) -> tuple[int, int]:
    return wall.isocalendar()


def strftime(ts: Timestamp, fmt: str) -> str:
    """Format like Benthos's strftime library: ``%Y %m %d %H %M %S %f`` (microseconds), ``%z``,
    ``%Z``, ``%j``, ``%a %A %b %B``, compositions (``%F %T %c``...) and the ``- _ 0 ^ #`` flags."""
    wall, nsec, offset, name = wall_clock(ts)
    weekday = wall.wday  # Go: Sunday == 0
    yday = wall.yday
    out: list[str] = []
    i, n = 0, len(fmt)
    while i < n:
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        start = i
        i += 1
        if i == n:
            out.append("%")
            break
        width, padding, upper, swap = 0, ord("0"), False, False
        colons = 0
        pending = ""
        b = fmt[i]
        while True:
            if b in "-_^#0" and not pending:
                if i + 1 >= n:
                    out.append(_sf_str(fmt[start:], width, padding, False, False))
                    return "".join(out)
                if b == "-":
                    padding = _NOPAD
                elif b == "_":
                    padding = ord(" ") | _EXPLICIT
                elif b == "0":
                    padding = ord("0") | _EXPLICIT
                elif b == "^":
                    upper = True
                else:
                    swap = True
                i += 1
                b = fmt[i]
                continue
            if b.isdigit() and b != "0" and not pending:
                j = i
                while j < n and fmt[j].isdigit():
                    j += 1
                width = min(int(fmt[i:j]), 1024)
                if padding == _NOPAD:
                    padding = ord(" ") | _EXPLICIT
                if j == n:
                    out.append(_sf_str(fmt[start:], width, padding, False, False))
                    return "".join(out)
                i = j
                b = fmt[i]
                continue
            if b == "Y":
                out.append(_sf_int(wall.year, width or 4, padding))
            elif b == "y":
                out.append(_sf_int(abs(_go_rem(wall.year, 100)), max(width, 2), padding))
            elif b == "C":
                out.append(_sf_century(wall.year, width, padding))
            elif b == "g":
                out.append(_sf_int(abs(_go_rem(_iso_week(wall)[0], 100)), max(width, 2), padding))
            elif b == "G":
                out.append(_sf_int(_iso_week(wall)[0], width or 4, padding))
            elif b == "m":
                out.append(_sf_int(wall.month, max(width, 2), padding))
            elif b == "B":
                out.append(_sf_str(_LONG_MONTHS[wall.month - 1], width, padding, upper, swap))
            elif b in "bh":
                out.append(_sf_str(_SHORT_MONTHS[wall.month - 1], width, padding, upper, swap))
            elif b == "A":
                out.append(_sf_str(_LONG_DAYS[weekday], width, padding, upper, swap))
            elif b == "a":
                out.append(_sf_str(_SHORT_DAYS[weekday], width, padding, upper, swap))
            elif b == "w":
                out.append(_sf_int(weekday, width, padding))
            elif b == "u":
                out.append(_sf_int(weekday or 7, width, padding))
            elif b == "V":
                out.append(_sf_int(_iso_week(wall)[1], max(width, 2), padding))
            elif b == "U":
                out.append(_sf_int((yday + 6 - weekday) // 7, max(width, 2), padding))
            elif b == "W":
                week = yday
                if weekday > 0:
                    week -= weekday - 7
                out.append(_sf_int(week // 7, max(width, 2), padding))
            elif b in "ed":
                if b == "e" and padding < _EXPLICIT:
                    padding = ord(" ")
                out.append(_sf_int(wall.day, max(width, 2), padding))
            elif b == "j":
                out.append(_sf_int(yday, max(width, 3), padding))
            elif b in "kH":
                if b == "k" and padding < _EXPLICIT:
                    padding = ord(" ")
                out.append(_sf_int(wall.hour, max(width, 2), padding))
            elif b in "lI":
                if b == "l" and padding < _EXPLICIT:
                    padding = ord(" ")
                h = wall.hour
                h = h - 12 if h > 12 else (12 if h == 0 else h)
                out.append(_sf_int(h, max(width, 2), padding))
            elif b in "Pp":
                if b == "P":
                    swap = not (upper or swap)
                out.append(_sf_str("AM" if wall.hour < 12 else "PM", width, padding, upper, swap))
            elif b == "M":
                out.append(_sf_int(wall.minute, max(width, 2), padding))
            elif b == "S":
                out.append(_sf_int(wall.second, max(width, 2), padding))
            elif b == "s":
                if padding < _EXPLICIT:
                    padding = ord(" ")
                out.append(_sf_int(ts.ns // _NS, width, padding))
            elif b == "f":
                out.append(_sf_int(nsec // 1000, width or 6, padding))
            elif b == "Z" and name:
                out.append(_sf_str(name, width, padding, upper, swap))
            elif b in "Zz":
                out.append(_sf_zone(offset, colons, width, padding))
                colons = 0
            elif b == ":":
                colons = 1
                j = i + 1
                while j < n and fmt[j] == ":":
                    colons += 1
                    j += 1
                if j < n and fmt[j] == "z" and colons <= 3:
                    i = j
                    b = "z"
                    continue
                out.append(_sf_str(fmt[start:j], width, padding, False, False))
                i = j - 1
                colons = 0
            elif b == "t":
                out.append(_sf_str("\t", width, padding, False, False))
            elif b == "n":
                out.append(_sf_str("\n", width, padding, False, False))
            elif b == "%":
                out.append(_sf_str("%", width, padding, False, False))
            elif not pending and b in _COMPOSITIONS:
                pending = _COMPOSITIONS[b]
                swap = False
            else:
                if not pending:
                    out.append(_sf_str(fmt[start:i], width - 1, padding, False, False))
                out.append(b)
            if pending:
                b, pending = pending[0], pending[1:]
                width, padding = 0, ord("0")
                # Literal characters inside a composition are emitted as they are.
                while b in " -:/" and pending:
                    out.append(b)
                    b, pending = pending[0], pending[1:]
                continue
            break
        i += 1
    return "".join(out)


def _sf_zone(offset: int, colons: int, width: int, padding: int) -> str:
    """``%z`` / ``%:z`` / ``%::z`` / ``%:::z`` with the library's padding moves (a space pad
    goes before the sign, a zero pad after it)."""
    buf: list[str] = []
    if padding != _NOPAD:
        buf.extend(chr(padding & 0x7F) * max(width - 1, 0))
    j = len(buf)
    if offset < 0:
        buf.append("-")
        offset = -offset
    else:
        buf.append("+")
    k = len(buf)
    buf.extend(_sf_int(offset // 3600, 2, padding))
    if buf[k] == " ":
        buf[k - 1], buf[k] = buf[k], buf[k - 1]
    offset %= 3600
    if colons <= 2 or offset != 0:
        if colons != 0:
            buf.append(":")
        buf.extend(f"{offset // 60:02d}")
        offset %= 60
        if colons == 2 or (colons == 3 and offset != 0):
            buf.append(":")
            buf.extend(f"{offset:02d}")
    if j != 0:
        n = len(buf)
        k = j + 1 - (n - j)
        if k < 0:
            new_len = j + 1 - k
            k = 0
        else:
            new_len = j + 1
        buf[k:k + (n - j)] = buf[j:n]
        del buf[new_len:]
        if chr(padding & 0x7F) == "0":
            buf[0], buf[k] = buf[k], buf[0]
    return "".join(buf)


def _go_char_quote(c: str) -> str:
    """``%q`` of the format byte Go compares: the first byte of ``c``, quoted as a rune."""
    return go_quote_char(c)


class _StrpError(Exception):
    pass


def _sp_number(src: str, index: int, size: int, lo: int, hi: int, fmt_ch: str) -> tuple[int, int]:
    end = min(index + size, len(src))
    i = index
    value = 0
    while i < end and "0" <= src[i] <= "9":
        value = value * 10 + int(src[i])
        i += 1
    if i == index or value < lo or value > hi:
        raise _StrpError(f'cannot parse "%{fmt_ch}"')
    return value, i


def _sp_sign(src: str, index: int) -> tuple[int, int]:
    """A leading minus of ``%Y``, ``%G``, ``%C`` and ``%s`` (timefmt-go v0.1.8)."""
    if index < len(src) and src[index] == "-":
        return -1, index + 1
    return 1, index


def _wrap_int64(value: int) -> int:
    """Go's int64 arithmetic: 19 digits may overflow and wrap."""
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def _sp_any(src: str, index: int, names: list[str], fmt_ch: str) -> tuple[int, int]:
    for i, name in enumerate(names):
        seg = src[index:index + len(name)]
        if len(seg) == len(name) and seg.lower() == name.lower():
            return i + 1, index + len(name)
    raise _StrpError(f'cannot parse "%{fmt_ch}"')


def strptime(source: str, fmt: str) -> Timestamp:
    """Parse with strftime directives, as Benthos's ``ts_strptime`` does (UTC unless the input
    names a zone); raises ``GoTimeError`` with Benthos's text
    (``failed to parse "x" with "%Y": cannot parse "%Y"``)."""
    try:
        return _strptime(source, fmt)
    except _StrpError as exc:
        raise GoTimeError(
            f"failed to parse {strconv_quote(source)} with {strconv_quote(fmt)}: {exc}"
        ) from None


def _zone_at_2000(loc: Any) -> tuple[str, int]:
    t = from_wall_clock(2000, 1, 1, 0, 0, 0, 0, loc)
    _, _, off, name = wall_clock(t)
    return name, off


def _strptime(src: str, fmt: str) -> Timestamp:
    year, month, day, hour, minute, sec, nsec = 1900, 1, 0, 0, 0, 0, 0
    j = 0
    week = weekday = yday = colons = 0
    century, weekstart = -1, -1
    pm = has_iso_year = has_zone_name = has_zone_offset = False
    loc: Any = UTC
    pending = ""
    n, ln = len(fmt), len(src)
    i = 0
    while i < n:
        b = fmt[i]
        if b != "%":
            if j >= ln or src[j] != b:
                raise _StrpError(f"expected {_go_char_quote(b)}")
            j += 1
            i += 1
            continue
        i += 1
        if i == n:
            raise _StrpError('stray "%"')
        b = fmt[i]
        while True:
            if b in "YG":
                sign, j = _sp_sign(src, j)
                year, j = _sp_number(src, j, 4, 0, 9999, b)
                year *= sign
                has_iso_year = has_iso_year or b == "G"
            elif b in "yg":
                year, j = _sp_number(src, j, 2, 0, 99, b)
                year += 2000 if year < 69 else 1900
                has_iso_year = has_iso_year or b == "g"
            elif b == "C":
                sign, j = _sp_sign(src, j)
                if sign < 0:
                    raise _StrpError('negative century is not supported for "%C"')
                century, j = _sp_number(src, j, 2, 0, 99, "C")
            elif b == "m":
                month, j = _sp_number(src, j, 2, 1, 12, "m")
            elif b == "B":
                month, j = _sp_any(src, j, _LONG_MONTHS, "B")
            elif b in "bh":
                month, j = _sp_any(src, j, _SHORT_MONTHS, b)
            elif b == "A":
                weekday, j = _sp_any(src, j, _LONG_DAYS, "A")
            elif b == "a":
                weekday, j = _sp_any(src, j, _SHORT_DAYS, "a")
            elif b == "w":
                weekday, j = _sp_number(src, j, 1, 0, 6, "w")
                weekday += 1
            elif b == "u":
                weekday, j = _sp_number(src, j, 1, 1, 7, "u")
                weekday = weekday % 7 + 1
            elif b in "VUW":
                week, j = _sp_number(src, j, 2, 1 if b == "V" else 0, 53, b)
                weekstart = {"V": 4, "U": 0, "W": 1}[b]
                if weekday == 0:
                    weekday = 1 if b == "U" else 2
            elif b in "ed":
                if b == "e" and j < ln and src[j] == " ":
                    j += 1
                day, j = _sp_number(src, j, 2, 1, 31, b)
            elif b == "j":
                yday, j = _sp_number(src, j, 3, 1, 366, "j")
            elif b in "kH":
                if b == "k" and j < ln and src[j] == " ":
                    j += 1
                hour, j = _sp_number(src, j, 2, 0, 23, b)
            elif b in "lI":
                if b == "l" and j < ln and src[j] == " ":
                    j += 1
                hour, j = _sp_number(src, j, 2, 1, 12, b)
                if hour == 12:
                    hour = 0
            elif b in "Pp":
                ampm, j = _sp_any(src, j, ["AM", "PM"], b)
                pm = ampm == 2
            elif b == "M":
                minute, j = _sp_number(src, j, 2, 0, 59, "M")
            elif b == "S":
                sec, j = _sp_number(src, j, 2, 0, 60, "S")
            elif b == "s":
                sign, j = _sp_sign(src, j)
                unix, j = _sp_number(src, j, 19, 0, 10**19, "s")
                unix = _wrap_int64(sign * _wrap_int64(unix))
                wall, _, _, _ = wall_clock(Timestamp(unix * _NS, UTC))
                year, month, day = wall.year, wall.month, wall.day
                hour, minute, sec = wall.hour, wall.minute, wall.second
            elif b == "f":
                start = j
                usec, j = _sp_number(src, j, 6, 0, 999999, "f")
                usec *= 10 ** (6 - (j - start))
                nsec = usec * 1000
            elif b == "Z":
                start = j
                while j < ln and "A" <= src[j] <= "Z":
                    j += 1
                try:
                    t = parse_layout("MST", src[start:j], None)
                except GoTimeError:
                    raise _StrpError(f'cannot parse {strconv_quote(src[start:j])} with "%Z"') from None
                if has_zone_offset:
                    zname = wall_clock(t)[3]
                    loc = FixedZone(zname, _zone_at_2000(loc)[1])
                else:
                    loc = t.tz
                has_zone_name = True
            elif b == "z":
                loc, j = _sp_zone(src, j, colons, has_zone_name, loc)
                colons = 0
                has_zone_offset = True
            elif b == ":":
                if pending:
                    if j >= ln or src[j] != b:
                        raise _StrpError(f"expected {_go_char_quote(b)}")
                    j += 1
                else:
                    colons = 1
                    jumped = False
                    while colons <= 3:
                        i += 1
                        if i == n:
                            break
                        b = fmt[i]
                        if b == "z":
                            jumped = True
                            break
                        if b != ":" or colons == 3:
                            break
                        colons += 1
                    if jumped:
                        continue
                    raise _StrpError('expected \'z\' after "%' + ':::"'[3 - colons:])
            elif b in "tn":
                start = j
                while j < ln and src[j] in " \t\n\v\f\r":
                    j += 1
                if start == j:
                    raise _StrpError(f'expected a space for "%{b}"')
            elif b == "%":
                if j >= ln or src[j] != b:
                    raise _StrpError(f"expected {_go_char_quote(b)}")
                j += 1
            elif not pending and b in _COMPOSITIONS:
                pending = _COMPOSITIONS[b]
            elif not pending:
                raise _StrpError(f'unexpected format "%{b}"')
            else:
                if j >= ln or src[j] != b:
                    raise _StrpError(f"expected {_go_char_quote(b)}")
                j += 1
            if pending:
                b, pending = pending[0], pending[1:]
                continue
            break
        i += 1
    if j < ln:
        raise _StrpError(f"unparsed string {strconv_quote(src[j:])}")
    if pm:
        hour += 12
    if century >= 0:
        year = century * 100 + year % 100
    if day == 0:
        if yday > 0:
            if has_iso_year:
                raise _StrpError('use "%Y" to parse non-ISO year for "%j"')
            return from_wall_clock(year, 1, yday, hour, minute, sec, nsec, loc)
        if weekstart >= 0:
            if weekstart == 4:
                if not has_iso_year:
                    raise _StrpError('use "%G" to parse ISO year for "%V"')
            elif has_iso_year:
                raise _StrpError('use "%Y" to parse non-ISO year for "%U" or "%W"')
            if weekstart > 0 and weekday == 1:
                week += 1
            t = from_wall_clock(year, 1, -weekstart, hour, minute, sec, nsec, loc)
            t_wd = (wall_clock(t)[0].weekday() + 1) % 7
            return from_wall_clock(year, 1, -weekstart + week * 7 - t_wd + weekday - 1, hour, minute, sec, nsec, loc)
        day = 1
    return from_wall_clock(year, month, day, hour, minute, sec, nsec, loc)


def _sp_zone(src: str, j: int, colons: int, has_zone_name: bool, loc: Any) -> tuple[Any, int]:
    def zerr(c: int) -> _StrpError:
        return _StrpError('cannot parse "%' + ':::z"'[3 - c:])

    def colon_err(c: int) -> _StrpError:
        return _StrpError('expected \':\' for "%' + ':::z"'[3 - c:])

    ln = len(src)
    if j >= ln:
        raise zerr(colons)
    c = src[j]
    if c == "Z":
        return UTC, j + 1
    if c not in "+-":
        raise zerr(colons)
    sign = -1 if c == "-" else 1

    def num(at: int, size: int, hi: int) -> tuple[int, int]:
        try:
            return _sp_number(src, at, size, 0, hi, "z")
        except _StrpError:
            return 0, 0

    i = j + 1
    hour, j = num(i, 2, 23)
    if j != i + 2:
        raise zerr(colons)
    minute = sec = 0
    if j >= ln or src[j] != ":":
        if 0 < colons < 3:
            raise colon_err(colons)
    else:
        j += 1
        if colons == 0:
            colons = 4
    i = j
    minute, j = num(j, 2, 59)
    if j != i + 2:
        if colons > 0 and colons != 3:
            raise zerr(colons & 3)
        j = i
        minute = 0
    elif colons > 1:
        if j >= ln or src[j] != ":":
            if colons < 3:
                raise colon_err(colons)
        else:
            i = j + 1
            sec, j = num(i, 2, 59)
            if j != i + 2:
                if colons < 3:
                    raise zerr(colons)
                j = i - 1
                sec = 0
    name = _zone_at_2000(loc)[0] if has_zone_name else ""
    return FixedZone(name, sign * ((hour * 60 + minute) * 60 + sec)), j
