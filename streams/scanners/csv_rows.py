"""``csv`` scanner: a message per CSV row (Bento ``internal/impl/pure/scanner_csv.go``, which reads
with Go's ``encoding/csv``; the record rules below are that reader's).

Rows are parsed here rather than with Python's ``csv`` module because a row is only cut once it
is known to be complete (a quoted field may hold line breaks), and the rules must be Go's: empty
lines are skipped, ``\\r\\n`` counts as ``\\n``, a ``"`` inside an unquoted field or a stray one
after a quoted field is an error unless ``lazy_quotes``, and every row must have as many fields as
the first (or ``expected_number_of_fields``).

With ``parse_header_row`` (default) the first row names the fields and each later row becomes an
object (extra values without a header are left out); otherwise a row is an array of strings.
Metadata ``csv_row`` counts rows from 0 after the header. A bad row fails the source, unless
``continue_on_error``: then it is a message flagged with the error (the row's values when they were
read, as for a wrong field count, else empty) and scanning goes on with the next line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.message import Message
from streams.registry import Field
from streams.scanners.base import ScanConfigError, ScanError, Scanner, ScannerMaker, spec

BARE_QUOTE = 'bare " in non-quoted-field'
EXTRANEOUS_QUOTE = 'extraneous or missing " in quoted-field'


@dataclass
class Record:
    """One parsed record: its fields, the bytes it took, where it started and what was wrong."""

    fields: list[str] | None
    end: int
    line: int
    error: str = ""
    error_line: int = 0
    column: int = 0


@dataclass
class RecordReader:
    """Go's ``csv.Reader.readRecord`` over a buffer: ``read`` returns None when the buffer ends
    before the record does and more bytes may come."""

    comma: bytes = b","
    lazy_quotes: bool = False
    line: int = 1  # the line the next record starts on
    def read(self, data: bytes, start: int, at_end: bool) -> Record | None:
        """The record at ``start`` of ``data`` (its ``end`` is where the next one starts);
        ``fields`` None when only empty lines were left."""
        first = start
        while data.startswith(b"\n", start) or data.startswith(b"\r\n", start):
            start += 1 if data[start] == 10 else 2
        if start == len(data) or (data[start:] == b"\r" and not at_end):
            if start < len(data) and not at_end:
                return None
            self.line += data.count(b"\n", first, start)
            return Record(None, start, self.line)
        parsed = self._plain(data, start, at_end) or self._parse(data, start, at_end)
        if parsed is None:
            return None
        self.line += data.count(b"\n", first, start)
        fields, end, error, at = parsed
        record = Record(fields, end, self.line, error)
        if error:  # Go counts lines and columns (here: bytes) from 1
            record.error_line = self.line + data.count(b"\n", start, at)
            record.column = at - (data.rfind(b"\n", 0, at) + 1) + 1
        self.line += data.count(b"\n", start, end)
        return record

    def _plain(self, data: bytes, start: int, at_end: bool) -> tuple[list[str], int, str, int] | None:
        """PERF: a complete line without quotes is just split; the rules below are for the rest."""
        newline = data.find(b"\n", start)
        if newline < 0 and not at_end:
            return None
        end = len(data) if newline < 0 else newline
        line = data[start:end]
        if b'"' in line:
            return None
        if line.endswith(b"\r"):
            line = line[:-1]
        fields = [f.decode("utf-8", "replace") for f in line.split(self.comma)]
        return fields, end if newline < 0 else end + 1, "", 0

    def _parse(self, data: bytes, i: int, at_end: bool) -> tuple[list[str], int, str, int] | None:
        out: list[str] = []
        while True:
            if data.startswith(b'"', i):
                got = self._quoted(data, i + 1, at_end)
                if got is None:
                    return None
                value, i, error, more = got
            else:
                got = self._unquoted(data, i, at_end)
                if got is None:
                    return None
                value, i, error, more = got
            if error:  # the rest of the line goes with the bad record
                if data.find(b"\n", i) < 0 and not at_end:
                    return None
                return [], _line_end(data, i), error, i
            out.append(value.decode("utf-8", "replace"))
            if not more:
                return out, i, "", 0

    def _unquoted(self, data: bytes, i: int, at_end: bool) -> tuple[bytes, int, str, bool] | None:
        newline = data.find(b"\n", i)
        comma = data.find(self.comma, i)
        if comma >= 0 and (newline < 0 or comma < newline):
            value, after, more = data[i:comma], comma + len(self.comma), True
        elif newline >= 0:
            value, after, more = data[i:newline], newline + 1, False
        elif at_end:
            value, after, more = data[i:], len(data), False
        else:
            return None
        if not more and value.endswith(b"\r"):
            value = value[:-1]
        if not self.lazy_quotes and b'"' in value:
            return b"", i + value.index(b'"'), BARE_QUOTE, False
        return value, after, "", more

    def _quoted(self, data: bytes, i: int, at_end: bool) -> tuple[bytes, int, str, bool] | None:
        value = b""
        while True:
            quote = data.find(b'"', i)
            if quote < 0:
                if not at_end:
                    return None
                if not self.lazy_quotes:
                    return b"", len(data), EXTRANEOUS_QUOTE, False
                return value + data[i:].replace(b"\r\n", b"\n"), len(data), "", False
            value += data[i:quote].replace(b"\r\n", b"\n")
            i = quote + 1
            if i == len(data) or (data[i:] == b"\r" and not at_end):
                return (value, len(data), "", False) if at_end else None
            if data.startswith(b'"', i):
                value, i = value + b'"', i + 1
            elif data.startswith(self.comma, i):
                return value, i + len(self.comma), "", True
            elif data.startswith(b"\n", i) or data.startswith(b"\r\n", i):
                return value, i + (1 if data[i] == 10 else 2), "", False
            elif self.lazy_quotes:
                value += b'"'
            else:
                return b"", i, EXTRANEOUS_QUOTE, False


def _line_end(data: bytes, i: int) -> int:
    newline = data.find(b"\n", i)
    return len(data) if newline < 0 else newline + 1


class CsvScanner(Scanner):
    def __init__(self, conf: CsvSettings) -> None:
        self.conf = conf
        self.reader = RecordReader(conf.comma, conf.lazy_quotes)
        self.pending = b""
        self.headers: list[str] | None = None
        self.width = conf.expected_fields
        self.row = 0

    def feed(self, chunk: bytes) -> list[Message]:
        self.raise_held()
        self.pending += chunk
        return self._rows(at_end=False)

    def end(self) -> list[Message]:
        self.raise_held()
        return self._rows(at_end=True)

    def _rows(self, at_end: bool) -> list[Message]:
        out: list[Message] = []
        data, start = self.pending, 0
        try:
            while (record := self.reader.read(data, start, at_end)) is not None:
                start = record.end
                if record.fields is None:
                    break
                msg = self._message_of(record)
                if msg is not None:
                    out.append(msg)
        except ScanError as exc:
            return self.hold(out, exc)
        finally:
            self.pending = data[start:]
        return out

    def _message_of(self, record: Record) -> Message | None:
        fields, error = record.fields or [], self._problem(record)
        if self.conf.parse_header_row and self.headers is None:
            if error:
                raise ScanError(error)
            if self.conf.expected_headers and fields != self.conf.expected_headers:
                raise ScanError("expected_headers don't match file contents")
            self.headers = fields
            return None
        if error and not self.conf.continue_on_error:
            raise ScanError(error)
        value: Any = dict(zip(self.headers, fields, strict=False)) if self.headers else list(fields)
        msg = Message.from_value(value, {"csv_row": self.row})
        msg.error = error or None
        self.row += 1
        return msg

    def _problem(self, record: Record) -> str:
        if record.error:
            where = f"parse error on line {record.error_line}, column {record.column}: {record.error}"
            return where if record.error_line == record.line else f"record on line {record.line}; {where}"
        if self.width == 0:
            self.width = len(record.fields or [])
        elif len(record.fields or []) != self.width:
            return f"record on line {record.line}: wrong number of fields"
        return ""


@dataclass(frozen=True)
class CsvSettings:
    comma: bytes
    parse_header_row: bool
    lazy_quotes: bool
    continue_on_error: bool
    expected_headers: list[str]
    expected_fields: int


def build(conf: dict[str, Any]) -> ScannerMaker:
    delimiter = str(conf["custom_delimiter"] or ",")
    expected = int(conf["expected_number_of_fields"] or 0)
    headers = [str(h) for h in conf["expected_headers"] or []]
    if conf["expected_number_of_fields"] is not None and expected < 1:
        raise ScanConfigError(("expected_number_of_fields",), "expected_number_of_fields must be at least 1")
    if headers and not conf["parse_header_row"]:
        raise ScanConfigError(("expected_headers",), "expected_headers is set but parse_header_row is false")
    settings = CsvSettings(
        delimiter[0].encode(),
        bool(conf["parse_header_row"]),
        bool(conf["lazy_quotes"]),
        bool(conf["continue_on_error"]),
        headers,
        expected,
    )
    return lambda name: CsvScanner(settings)


SPEC = spec(
    "csv",
    build,
    Field("custom_delimiter", "string", "", "Field separator instead of a comma (its first character)."),
    Field("parse_header_row", "bool", True, "Read the first row as field names; rows become objects."),
    Field("lazy_quotes", "bool", False, "Allow quotes inside unquoted fields and lone quotes inside quoted ones."),
    Field("continue_on_error", "bool", False, "Emit a bad row as a flagged empty message and go on."),
    Field("expected_headers", "string_list", [], "The header row the source must have."),
    Field("expected_number_of_fields", "int", None, "Fields every row must have."),
    doc="A message per CSV row.",
)
