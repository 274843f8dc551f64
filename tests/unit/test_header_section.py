"""The header section read without the email parser is the object pywsgi's own reader makes."""

from __future__ import annotations

import io
import itertools
import random
from http import client

import pytest
from gevent import pywsgi

from handlers.server.headers import MAX_FIELDS, parse_header_section, plain_fields, read_header_lines


def snapshot(message: object) -> dict:
    """Everything the header object holds, defects by kind (they do not compare equal)."""
    state = dict(vars(message))
    state["defects"] = [type(d).__name__ for d in state["defects"]]
    return state


def both(section: bytes) -> tuple[dict, dict]:
    return snapshot(parse_header_section(io.BytesIO(section))), snapshot(pywsgi.headers_factory(io.BytesIO(section)))


NAMES = ["Host", "content-type", "X-A", "a.b~c", "Bad Name", "", "From ", "X\x85", "ü"]
VALUES = ["x", "", "  lead and trail  ", "\tx", "a:b", "a\rb", "a\x0bb", "a\x85b", "a\x1cb", "é", "a\x00b", "{\"j\":1}"]
ENDS = ["\r\n", "\n"]


@pytest.mark.parametrize("section", [
    b"Host: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n",
    b"Host:x\r\nX-A:   spaced  \r\n\r\n",
    b"Host: x\r\n\n",
    b"\r\n",
    b"",
    b"Host: x\r\n",  # no blank line: the end of input ends the section
    b"Host: x\r\nBad Line\r\n\r\n",  # no colon: the email parser's body starts there
    b"Host: x\r\n folded\r\n\r\n",
    b"Host: x\r\nX: a\rb\r\n\r\n",
    b"From me\r\n\r\n",
    b"A: \xe9\xff\r\n\r\n",
    b":no name\r\n\r\n",
])
def test_a_section_reads_as_the_email_parser_reads_it(section: bytes) -> None:
    ours, theirs = both(section)
    assert ours == theirs


def test_random_sections_read_as_the_email_parser_reads_them() -> None:
    rng = random.Random(20261206)
    for _ in range(3000):
        lines = []
        for _ in range(rng.randint(0, 5)):
            if rng.random() < 0.1:
                lines.append(" continued" + rng.choice(ENDS))
            else:
                lines.append(f"{rng.choice(NAMES)}:{rng.choice(VALUES)}{rng.choice(ENDS)}")
        if rng.random() < 0.9:
            lines.append(rng.choice(ENDS))
        section = "".join(lines).encode("iso-8859-1")
        ours, theirs = both(section)
        assert ours == theirs, section


def test_plain_sections_skip_the_email_parser() -> None:
    fields = plain_fields([b"Host: x\r\n", b"X-Y:\t v \r\n", b"\r\n"])
    assert fields == [("Host", "x"), ("X-Y", "v ")]
    assert plain_fields([b"Host: x\r\n", b" folded\r\n", b"\r\n"]) is None
    assert plain_fields([b"Host: x\r\n", b""]) is None


def test_limits_are_http_clients() -> None:
    long_line = b"X: " + b"a" * 70000 + b"\r\n\r\n"
    assert parse_header_section(io.BytesIO(long_line)).status == "Line too long"
    many = b"".join(b"X%d: y\r\n" % i for i in range(MAX_FIELDS + 1)) + b"\r\n"
    with pytest.raises(client.HTTPException, match="got more than 100 headers"):
        read_header_lines(io.BytesIO(many))
    with pytest.raises(client.HTTPException, match="got more than 100 headers"):
        pywsgi.headers_factory(io.BytesIO(many))


def test_every_small_combination_of_one_field() -> None:
    for name, value, end in itertools.product(NAMES, VALUES, ENDS):
        section = f"{name}:{value}{end}{end}".encode("iso-8859-1")
        ours, theirs = both(section)
        assert ours == theirs, section
