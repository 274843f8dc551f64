"""``parse_log`` processor: parse syslog lines into structured messages.

Bento's fields and rules (``processor_parse_log.go``): ``format`` is ``syslog_rfc5424`` or
``syslog_rfc3164``; a line that parses becomes an object of the fields go-syslog found
(``syslog_rfc5424``/``syslog_rfc3164`` modules); a line that does not is left as it was and
flagged with go-syslog's error (``expecting a priority value within angle brackets [col 0]``).
Bento discards a partial result that comes with an error, so ``best_effort`` only matters where
go-syslog stops on an RFC 3164 line without an error text: best effort keeps what was read,
otherwise the line is flagged ``parsing error``. For RFC 3164: ``allow_rfc3339`` also takes
RFC 3339 timestamps, ``default_year`` (``current``, a number, or empty for year 0) completes the
yearless timestamps and ``default_timezone`` (an IANA name) is the zone they are shown in.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable
from typing import Any

from streams import registry
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors import syslog_rfc5424
from streams.processors.syslog_rfc3164 import Rfc3164Parser
from streams.processors.syslog_rfc5424 import SyslogError
from streams.registry import Field

FORMATS = ("syslog_rfc5424", "syslog_rfc3164")


def default_year(text: str) -> int:
    """``current`` -> this year, ``""`` -> 0, a number -> itself (Bento's ``default_year``)."""
    if text == "current":
        return datetime.datetime.now(datetime.UTC).year
    if text == "":
        return 0
    try:
        return int(text, 10) if text.strip("+-").isdigit() else int("x")
    except ValueError:
        raise ValueError(f'failed to convert year {text} into integer:  strconv.Atoi: parsing "{text}": invalid syntax') from None


def timezone_named(name: str) -> datetime.tzinfo | None:
    """Go's ``time.LoadLocation``: ``""``/``UTC`` is UTC, ``Local`` the host's zone, else IANA."""
    if name in ("", "UTC"):
        return datetime.UTC
    if name == "Local":
        return datetime.datetime.now().astimezone().tzinfo
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # Bento prints the location it failed to load, which is nil and reads "UTC".
        raise ValueError(f"failed to lookup timezone UTC - unknown time zone {name}") from None


def parser_for(conf: dict[str, Any]) -> Callable[[bytes], dict[str, Any]]:
    """The parse function of a config; ``ValueError`` with Bento's text when it is wrong."""
    fmt = str(conf["format"])
    if fmt == "syslog_rfc5424":
        return syslog_rfc5424.parse
    if fmt == "syslog_rfc3164":
        parser = Rfc3164Parser(
            allow_rfc3339=bool(conf["allow_rfc3339"]),
            year=default_year(str(conf["default_year"])),
            zone=timezone_named(str(conf["default_timezone"])),
            best_effort=bool(conf["best_effort"]),
        )
        return parser.parse
    raise ValueError(f"format not recognised: {fmt}")


class ParseLogProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        try:
            self.parse = parser_for(conf)
        except ValueError as exc:
            raise ConfigError(f"{res.path}: {exc}") from None
        self.format = str(conf["format"])
        self.log = res.logger()
        self.res = res

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        try:
            fields = self.parse(msg.content)
        except SyslogError as exc:
            self.log.debug(f"failed to parse message as {self.format}: {exc}")
            self.res.incr("processor_error")
            msg.error = str(exc)
            return msg
        msg.set_value(fields)
        return msg


def _check_year(value: object) -> list[tuple[tuple[str | int, ...], str]]:
    try:
        default_year(str(value))
    except ValueError as exc:
        return [((), str(exc))]
    return []


def _check_zone(value: object) -> list[tuple[tuple[str | int, ...], str]]:
    try:
        timezone_named(str(value))
    except ValueError as exc:
        return [((), str(exc))]
    return []


def _factory(conf: dict[str, Any], res: Resources) -> ParseLogProcessor:
    return ParseLogProcessor(conf, res)


SPEC = registry.processor(
    "parse_log",
    _factory,
    Field("format", "string", doc="syslog_rfc5424 or syslog_rfc3164.", options=FORMATS),
    Field("best_effort", "bool", True, "Keep what was read of an RFC 3164 line the parser stopped on."),
    Field("allow_rfc3339", "bool", True, "Also accept RFC 3339 timestamps (syslog_rfc3164)."),
    Field("default_year", "string", "current", "Year of RFC 3164 timestamps: current, a number, or empty.", check=_check_year),
    Field("default_timezone", "string", "UTC", "Zone RFC 3164 timestamps are shown in (IANA name).", check=_check_zone),
    Field("codec", "string", "", "Deprecated; ignored as in Bento."),
    doc="Parse syslog lines into structured messages.",
)
