"""The request's header section as pywsgi's header object, read without the email parser
when the section is plain.

pywsgi reads headers with ``http.client.parse_headers``: the lines are read as bytes, then
the whole section goes through ``email.parser``, which costs about as much as the rest of a
small request's handling (a tenth of a push's CPU time under load). Almost every request
has a plain section: ``token: value`` lines and a blank line. For that section the email
parser's result is known in advance (each field's name as sent, its value without the
leading blanks and the line end, no defects, an empty payload), so it is built directly.
Any other section (folded lines, a line without a colon, characters the email parser
treats as line breaks, no blank line at the end) goes to the email parser as before, so
the result is the same object either way; ``tests/unit/test_header_section.py`` holds the
two to that.
"""

from __future__ import annotations

import email.parser
import re
from http import client
from typing import Any

from gevent.pywsgi import OldMessage

# http.client's limits: a longer line is LineTooLong, more lines is HTTPException.
MAX_LINE = 65536
MAX_FIELDS = 100

# One plain field line: an RFC 9110 token, a colon, a value without anything that
# str.splitlines (which the email parser splits on) takes for a line end.
_PLAIN_FIELD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n\x0b\x0c\x1c\x1d\x1e\x85]*)\r?\n")


def read_header_lines(fp: Any) -> list[bytes]:
    """The section's lines up to and including the blank line (or end of input), held to
    http.client's limits with its exceptions."""
    lines = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_FIELDS:
            raise client.HTTPException(f"got more than {MAX_FIELDS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines


def plain_fields(lines: list[bytes]) -> list[tuple[str, str]] | None:
    """``(name, value)`` of each field when every line is plain and the section ends with a
    blank line, as the email parser (compat32) would store them; None otherwise."""
    if lines[-1] not in (b"\r\n", b"\n"):
        return None
    fields = []
    match = _PLAIN_FIELD.fullmatch
    for raw in lines[:-1]:
        found = match(raw.decode("iso-8859-1"))
        if found is None:
            return None
        fields.append((found.group(1), found.group(2)))
    return fields


def parse_header_section(fp: Any) -> Any:
    """pywsgi's ``headers_factory``: an ``OldMessage`` with ``status`` 'Line too long' when a
    line is over the limit, else the parsed section."""
    try:
        lines = read_header_lines(fp)
    except client.LineTooLong:
        message = OldMessage()
        message.status = "Line too long"
        return message
    fields = plain_fields(lines)
    if fields is None:
        text = b"".join(lines).decode("iso-8859-1")
        return email.parser.Parser(_class=OldMessage).parsestr(text)
    message = OldMessage()
    message._headers = fields
    message.set_payload("")
    return message
