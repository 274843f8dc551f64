"""RFC 3164 (BSD) syslog lines parsed as Bento's ``parse_log`` parses them (go-syslog v3).

No I/O. ``Rfc3164Parser(allow_rfc3339, year, zone)`` reads ``<PRI>TIMESTAMP HOSTNAME MSG``:

* the timestamp is ``Mmm dd hh:mm:ss`` (or, with ``allow_rfc3339``, ``YYYY-MM-DDThh:mm:ssZ``);
  a ``Mmm dd`` date gets ``year`` added (Go's ``AddDate`` from year 0, so Feb 29 of a common
  year is Mar 1) and is then *shown* in ``zone`` (the instant stays the one read as UTC, as
  go-syslog's ``WithTimezone`` does);
* the message may start with a tag (``appname``, up to 32 printable characters without space,
  ``:`` or ``[``) and a bracketed content (``procid``) followed by ``": "``.

The message part is read the way go-syslog's state machine reads it: the tag, content and
plain-message readings run side by side and each sets its fields as it passes, so a tag is set
by the ``:`` or ``[`` that follows it even when the line then turns out to have none (``app:x``
has appname ``app`` and message ``app:x``), and the message starts after the last ``": "``
that closed a tag or content. A line the machine stops on without an error of its own (a
control character in the message) yields what was read so far when ``best_effort`` is on, else
``parsing error``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import regex

from streams.processors.syslog_rfc5424 import SyslogError, go_timestamp, is_graph, parse_pri

ERR_PRIVAL = "expecting a priority value in the range 1-191 or equal to 0"
ERR_PRI = "expecting a priority value within angle brackets"
ERR_TIMESTAMP = "expecting a Stamp timestamp"
ERR_RFC3339 = "expecting a Stamp or a RFC3339 timestamp"
ERR_HOSTNAME = "expecting an hostname (from 1 to max 255 US-ASCII characters)"
ERR_TAG = "expecting an alphanumeric tag (max 32 characters)"
ERR_CONTENT = "expecting a content part composed by visible characters only"
ERR_PARSE = "parsing error"

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STAMP = re.compile(rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( [1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")
_RFC3339 = re.compile(
    rb"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
_DAYS_IN_YEAR_0 = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # year 0 is a leap year


class Stop(Exception):
    """The machine stopped without an error text of its own (best effort keeps what it read)."""

    def __init__(self, col: int) -> None:
        super().__init__(col)
        self.col = col


def _visible(byte: int) -> bool:
    return 0x20 <= byte <= 0x7E or byte >= 0x80


def _tag_char(byte: int) -> bool:
    return 0x20 <= byte <= 0x7E and byte not in b" :["


@dataclass
class _Msg:
    """What the message part set: go-syslog's tag, content and message."""

    tag: str = ""
    content: str = ""
    message: str = ""


def read_message(data: bytes, s: int) -> tuple[_Msg, int | None]:
    """The message part from ``s`` (the side-by-side readings of the module doc), and where the
    machine stopped without an error text (None when it read the whole line)."""
    out = _Msg()
    mark = s
    plain = True  # the message read from s (visible+)
    tag_len: int | None = 0  # inside a tag, its length so far (None: that reading ended)
    content_at: int | None = None  # inside brackets (any byte): where the content started
    after_bracket = False  # just read a ] that may close the content
    colon = False  # read "tag:" or "]:", a space must follow
    mex: int | None = None  # the message after ": " is being read (visible+)
    if s >= len(data):
        raise SyslogError(ERR_TAG, s)
    p = s
    while p < len(data):
        byte = data[p]
        n_tag_len, n_content, n_after, n_colon, n_mex = None, content_at, False, False, mex
        if tag_len is not None:
            if _tag_char(byte) and tag_len < 32:
                n_tag_len = tag_len + 1
            elif byte == 0x3A and tag_len >= 1:  # :
                out.tag, n_colon = data[mark:p].decode("utf-8", "replace"), True
            elif byte == 0x5B and tag_len >= 1:  # [
                out.tag, n_content = data[mark:p].decode("utf-8", "replace"), p + 1
                mark = p + 1
        if content_at is not None and byte == 0x5D:  # ]
            out.content, n_after = data[mark:p].decode("utf-8", "replace"), True
        if after_bracket and byte == 0x3A:
            n_colon = True
        if colon and byte == 0x20:
            n_mex = -1  # the next byte starts a message
        elif mex is not None:
            n_mex = mex if mex >= 0 and _visible(byte) else None
        if mex == -1:
            if _visible(byte):
                mark, n_mex = p, p
            else:
                n_mex = None
        plain = plain and _visible(byte)
        tag_len, content_at, after_bracket, colon, mex = n_tag_len, n_content, n_after, n_colon, n_mex
        if not (plain or tag_len is not None or content_at is not None or colon or mex is not None):
            if p == s:
                raise SyslogError(ERR_TAG, p)
            return out, p
        p += 1
    if plain or (mex is not None and mex >= 0):
        out.message = data[mark:].decode("utf-8", "replace")
        return out, None
    return out, p


def stamp_date(month: int, day: int, years: int) -> tuple[int, int, int] | None:
    """Go's ``time.Parse(time.Stamp)`` then ``AddDate(years, 0, 0)`` as (year, month, day); None
    when year 0 (a leap year) has no such day."""
    if day > _DAYS_IN_YEAR_0[month - 1]:
        return None
    if month == 2 and day == 29 and not calendar.isleap(years):
        return years, 3, 1
    return years, month, day


class Rfc3164Parser:
    def __init__(self, *, allow_rfc3339: bool, year: int, zone: tzinfo | None, best_effort: bool) -> None:
        self.allow_rfc3339 = allow_rfc3339
        self.year = year
        self.zone = zone
        self.best_effort = best_effort

    def _stamp(self, data: bytes, p: int) -> tuple[str, int]:
        match = _STAMP.match(data, p)
        if match is None:
            k = p
            while k < len(data) and self._stamp_prefix(data[p : k + 1]):
                k += 1
            raise SyslogError(ERR_RFC3339 if self.allow_rfc3339 else ERR_TIMESTAMP, k)
        month = MONTHS.index(match.group(1).decode()) + 1
        day = int(match.group(2))
        when = stamp_date(month, day, self.year)
        if when is None:
            text = data[p : match.end()].decode()
            raise SyslogError(f'parsing time "{text}": day out of range', match.end())
        hour, minute, second = (int(g) for g in match.groups()[2:])
        return self._show(when, hour, minute, second), match.end()

    def _stamp_prefix(self, text: bytes) -> bool:
        return regex.fullmatch(_STAMP.pattern, text, partial=True) is not None

    def _show(self, when: tuple[int, int, int], hour: int, minute: int, second: int) -> str:
        year, month, day = when
        if self.zone is None or self.zone is UTC or not 1 <= year <= 9999:
            # NOTE: years Python's datetime cannot hold are shown in UTC whatever the zone.
            return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"
        instant = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        return go_timestamp(instant.astimezone(self.zone))

    def _rfc3339(self, data: bytes, p: int) -> tuple[str, int]:
        match = _RFC3339.match(data, p)
        if match is None:
            raise SyslogError(ERR_RFC3339, p)
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        zone = match.group(7)
        offset = timedelta(0) if zone == b"Z" else (1 if zone[:1] == b"+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        try:
            dt = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
        except ValueError:
            raise SyslogError(f'parsing time "{data[p:match.end()].decode()}": day out of range', match.end()) from None
        return go_timestamp(dt), match.end()

    def parse(self, data: bytes) -> dict[str, Any]:
        priority, p = parse_pri(data, (ERR_PRI, ERR_PRIVAL))
        out: dict[str, Any] = {"priority": priority, "facility": priority // 8, "severity": priority % 8}
        try:
            self._rest(data, p, out)
        except Stop as stop:
            if not self.best_effort:
                raise SyslogError(ERR_PARSE, stop.col) from None
        return out

    def _rest(self, data: bytes, p: int, out: dict[str, Any]) -> None:
        if self.allow_rfc3339 and data[p : p + 1].isdigit():
            out["timestamp"], p = self._rfc3339(data, p)
        else:
            out["timestamp"], p = self._stamp(data, p)
        if data[p : p + 1] != b" ":
            raise Stop(p)
        k = p + 1
        while k < len(data) and k - p - 1 < 255 and is_graph(data[k]):
            k += 1
        if k == p + 1 or data[k : k + 1] != b" ":
            raise SyslogError(ERR_HOSTNAME, k)
        if data[p + 1 : k] != b"-":
            out["hostname"] = data[p + 1 : k].decode("ascii")
        msg, stopped = read_message(data, k + 1)
        for key, value in (("appname", msg.tag), ("procid", msg.content)):
            if value and value != "-":
                out[key] = value
        if msg.message:
            out["message"] = msg.message
        if stopped is not None:
            raise Stop(stopped)

