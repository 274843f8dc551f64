"""RFC 5424 syslog lines parsed as Bento's ``parse_log`` parses them (go-syslog v3's machine).

No I/O. ``parse(data)`` returns the fields Bento writes (``priority``, ``facility``,
``severity``, ``version``, ``timestamp`` as RFC 3339 with nanoseconds trimmed, ``hostname``,
``appname``, ``procid``, ``msgid``, ``structureddata``, ``message``; nil values ``-`` left out)
or raises ``SyslogError`` with go-syslog's text and column (``expecting a version value in the
range 1-999 [col 4]``). The grammar is go-syslog's: which error a bad byte gets follows the
machine's error actions (a field's own error inside it, ``parsing error`` between fields once a
nil value or timestamp is complete).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import regex

ERR_PRIVAL = "expecting a priority value in the range 1-191 or equal to 0"
ERR_PRI = "expecting a priority value within angle brackets"
ERR_VERSION = "expecting a version value in the range 1-999"
ERR_TIMESTAMP = "expecting a RFC3339MICRO timestamp or a nil value"
ERR_HOSTNAME = "expecting an hostname (from 1 to max 255 US-ASCII characters) or a nil value"
ERR_APPNAME = "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value"
ERR_PROCID = "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value"
ERR_MSGID = "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value"
ERR_SD = "expecting a structured data section containing one or more elements (`[id( key=\"value\")*]+`) or a nil value"
ERR_SDID = "expecting a structured data element id (from 1 to max 32 US-ASCII characters; except `=`, ` `, `]`, and `\"`"
ERR_SDID_DUP = "duplicate structured data element id"
ERR_SDPARAM = (
    "expecting a structured data parameter (`key=\"value\"`, both part from 1 to max 32 US-ASCII characters; "
    "key cannot contain `=`, ` `, `]`, and `\"`, while value cannot contain `]`, backslash, and `\"` unless escaped)"
)
ERR_ESCAPE = "expecting chars `]`, `\"`, and `\\` to be escaped within param value"
ERR_PARSE = "parsing error"

VALID_PRIVALS = frozenset(str(n) for n in range(192))
_SDNAME_EXCLUDED = frozenset(b'= ]"')
_TIMESTAMP = re.compile(
    rb"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{1,6}))?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)


class SyslogError(ValueError):
    """A line that does not follow the grammar: go-syslog's text with ``[col N]``."""

    def __init__(self, text: str, col: int) -> None:
        super().__init__(f"{text} [col {col}]")


def is_graph(byte: int) -> bool:
    return 0x21 <= byte <= 0x7E


def parse_pri(data: bytes, errors: tuple[str, str] = (ERR_PRI, ERR_PRIVAL)) -> tuple[int, int]:
    """``<PRIVAL>`` at the start: the priority and the index after ``>``."""
    err_pri, err_prival = errors
    if not data[:1] == b"<":
        raise SyslogError(err_pri, 0)
    p, text = 1, ""
    while p < len(data) and chr(data[p]).isdigit() and text + chr(data[p]) in VALID_PRIVALS:
        text += chr(data[p])
        p += 1
    if not text or data[p : p + 1] != b">":
        raise SyslogError(err_prival, p)
    return int(text), p + 1


def go_timestamp(dt: datetime) -> str:
    """Go's ``time.RFC3339Nano`` text: fraction without trailing zeros, ``Z`` for UTC."""
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += ("." + f"{dt.microsecond:06d}").rstrip("0")
    offset = dt.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _timestamp(data: bytes, p: int) -> tuple[str | None, int]:
    """A nil value or an RFC 3339 timestamp at ``p``: its text (None for nil) and the end."""
    if data[p : p + 1] == b"-":
        if p + 1 < len(data) and data[p + 1] != 0x20:
            raise SyslogError(ERR_PARSE, p + 1)
        return None, p + 1
    match = _TIMESTAMP.match(data, p)
    if match is None:
        k = p
        while k < len(data) and regex.fullmatch(_TIMESTAMP.pattern, data[p : k + 1], partial=True):
            k += 1
        raise SyslogError(ERR_TIMESTAMP, k)
    end = match.end()
    if end < len(data) and data[end : end + 1] not in (b" ",):
        if match.group(7) is not None and len(match.group(7)) == 6 and data[end : end + 1].isdigit():
            raise SyslogError(ERR_TIMESTAMP, end)
        raise SyslogError(ERR_PARSE, end)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or b"0").ljust(6, b"0"))
    zone = match.group(8)
    if zone == b"Z":
        tz = UTC
    else:
        sign = 1 if zone[:1] == b"+" else -1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    text = data[p:end].decode()
    try:
        dt = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        raise SyslogError(f'parsing time "{text}": day out of range', end) from None
    return go_timestamp(dt), end


def _field(data: bytes, p: int, limit: int, error: str) -> tuple[str, int]:
    """A run of 1..limit printable US-ASCII bytes at ``p``, which a space must follow."""
    k = p
    while k < len(data) and k - p < limit and is_graph(data[k]):
        k += 1
    if k == p or k >= len(data) or data[k] != 0x20:
        raise SyslogError(error, k)
    return data[p:k].decode("ascii"), k + 1


def _sd_name(data: bytes, p: int) -> int:
    k = p
    while k < len(data) and k - p < 32 and is_graph(data[k]) and data[k] not in _SDNAME_EXCLUDED:
        k += 1
    return k


def _param_value(data: bytes, p: int) -> tuple[str, int]:
    """A quoted parameter value's text (escapes removed) and the index of its closing quote."""
    out = bytearray()
    k = p
    while k < len(data):
        byte = data[k]
        if byte == 0x22:  # "
            try:
                return out.decode("utf-8"), k
            except UnicodeDecodeError as exc:
                raise SyslogError(ERR_ESCAPE, p + exc.start) from None
        if byte == 0x5C:  # backslash
            if k + 1 < len(data) and data[k + 1] in b'"]\\':
                out.append(data[k + 1])
                k += 2
                continue
            raise SyslogError(ERR_ESCAPE, k + 1)
        if byte == 0x5D:  # ]
            raise SyslogError(ERR_ESCAPE, k)
        out.append(byte)
        k += 1
    raise SyslogError(ERR_ESCAPE, k)


def _structured_data(data: bytes, p: int) -> tuple[dict[str, dict[str, str]] | None, int]:
    if data[p : p + 1] == b"-":
        if p + 1 < len(data) and data[p + 1] != 0x20:
            raise SyslogError(ERR_PARSE, p + 1)
        return None, p + 1
    if data[p : p + 1] != b"[":
        raise SyslogError(ERR_SD, p)
    elements: dict[str, dict[str, str]] = {}
    while data[p : p + 1] == b"[":
        k = _sd_name(data, p + 1)
        if k == p + 1 or k >= len(data) or data[k] not in b" ]":
            raise SyslogError(ERR_SDID, k)
        sd_id = data[p + 1 : k].decode("ascii")
        if sd_id in elements:
            raise SyslogError(ERR_SDID_DUP, k)
        params = elements[sd_id] = {}
        p = k
        while data[p : p + 1] == b" ":
            start = p + 1
            k = _sd_name(data, start)
            if k == start or data[k : k + 1] != b"=":
                raise SyslogError(ERR_SDPARAM, k)
            if data[k + 1 : k + 2] != b'"':
                raise SyslogError(ERR_SDPARAM, k + 1)
            value, end = _param_value(data, k + 2)
            params[data[start:k].decode("ascii")] = value
            p = end + 1
            if p >= len(data) or data[p] not in b" ]":
                raise SyslogError(ERR_SDPARAM, p)
        p += 1  # the element's ]
    if p < len(data) and data[p] != 0x20:
        raise SyslogError(ERR_SD, p)
    return elements, p


def parse(data: bytes) -> dict[str, Any]:
    """The fields of one RFC 5424 line (Bento's ``parse_log`` output)."""
    priority, p = parse_pri(data)
    k = p
    while k < len(data) and k - p < 3 and (data[k] in b"123456789" if k == p else chr(data[k]).isdigit()):
        k += 1
    if k == p or (k < len(data) and chr(data[k]).isdigit()):
        raise SyslogError(ERR_VERSION, k)
    if k >= len(data) or data[k] != 0x20:
        raise SyslogError(ERR_PARSE, k)
    version = int(data[p:k])
    timestamp, p = _timestamp(data, k + 1)
    if p >= len(data):
        raise SyslogError(ERR_PARSE, p)
    out: dict[str, Any] = {"priority": priority, "facility": priority // 8, "severity": priority % 8, "version": version}
    if timestamp is not None:
        out["timestamp"] = timestamp
    p += 1
    for name, limit, error in (
        ("hostname", 255, ERR_HOSTNAME),
        ("appname", 48, ERR_APPNAME),
        ("procid", 128, ERR_PROCID),
    ):
        value, p = _field(data, p, limit, error)
        if value != "-":
            out[name] = value
    k = p
    while k < len(data) and k - p < 32 and is_graph(data[k]):
        k += 1
    if k == p or k >= len(data) or data[k] != 0x20:
        raise SyslogError(ERR_MSGID, k)
    if data[p:k] != b"-":
        out["msgid"] = data[p:k].decode("ascii")
    elements, p = _structured_data(data, k + 1)
    if elements:
        out["structureddata"] = elements
    message = data[p + 1 :].decode("utf-8", "replace") if p < len(data) else ""
    if message:
        out["message"] = message
    return out
