"""Request framing read strictly (RFC 9112 §6): what decides where a body ends, and every
ambiguous or malformed form refused with the status to answer (handlers.server.framing)."""

from __future__ import annotations

import io

import pytest
from gevent.pywsgi import headers_factory

from handlers.server.framing import Framing, FramingError, request_framing
from handlers.server.handler import error_reply

V11 = "HTTP/1.1"


def fields_of(raw: bytes) -> tuple[list[tuple[str, str]], bool]:
    """The fields and the malformed flag as the server's header parser produces them."""
    message = headers_factory(io.BytesIO(raw + b"\r\n"))
    return list(message.raw_items()), bool(message.defects)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([("Host", "x")], Framing(None, False)),
        ([("Content-Length", "0")], Framing(0, False)),
        ([("Content-Length", "42")], Framing(42, False)),
        ([("content-length", " 7 ")], Framing(7, False)),
        ([("Content-Length", "5"), ("Content-Length", "5")], Framing(5, False)),
        ([("Content-Length", "5, 5")], Framing(5, False)),
        ([("Transfer-Encoding", "chunked")], Framing(None, True)),
        ([("Transfer-Encoding", "Chunked")], Framing(None, True)),
    ],
)
def test_valid_framing(fields, expected):
    assert request_framing(V11, fields) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("Content-Length", "4"), ("Transfer-Encoding", "chunked")], "both Content-Length and Transfer-Encoding: the body length is ambiguous"),
        ([("Transfer-Encoding", "chunked"), ("Content-Length", "0")], "both Content-Length and Transfer-Encoding: the body length is ambiguous"),
        ([("Content-Length", "1"), ("Content-Length", "2")], "several differing Content-Length values"),
        ([("Content-Length", "1, 2")], "several differing Content-Length values"),
        ([("Content-Length", "+2")], "Content-Length must be digits only"),
        ([("Content-Length", "0_2")], "Content-Length must be digits only"),
        ([("Content-Length", "-1")], "Content-Length must be digits only"),
        ([("Content-Length", "0x2")], "Content-Length must be digits only"),
        ([("Content-Length", "")], "Content-Length must be digits only"),
        ([("Content-Length", "1,")], "Content-Length must be digits only"),
        ([("Content-Length", "٣")], "Content-Length must be digits only"),
        ([("Transfer-Encoding", "identity")], "the final Transfer-Encoding must be chunked"),
        ([("Transfer-Encoding", "chunked, gzip")], "the final Transfer-Encoding must be chunked"),
        ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], "chunked may be applied only once"),
        ([("Transfer-Encoding", "xchunked")], "the final Transfer-Encoding must be chunked"),
        ([("Host", "a"), ("Host", "b")], "more than one Host header"),
        ([("X-A", "b\r\n  folded")], "control character or line folding in header X-A"),
        ([("X-A", "a\x00b")], "control character or line folding in header X-A"),
        ([("Bad Name", "x")], "invalid header name 'Bad Name'"),
    ],
)
def test_ambiguous_or_malformed_framing_is_400(fields, message):
    with pytest.raises(FramingError) as caught:
        request_framing(V11, fields)
    assert (caught.value.status, caught.value.message) == (400, message)


def test_an_unknown_coding_before_chunked_is_501():
    with pytest.raises(FramingError) as caught:
        request_framing(V11, [("Transfer-Encoding", "gzip, chunked")])
    assert (caught.value.status, caught.value.message) == (501, "unsupported Transfer-Encoding gzip")


def test_transfer_encoding_in_http_1_0_is_faulty_framing():
    with pytest.raises(FramingError, match="not allowed in an HTTP/1.0 request"):
        request_framing("HTTP/1.0", [("Transfer-Encoding", "chunked")])


@pytest.mark.parametrize(
    "raw",
    [
        b"Host: x\r\nTransfer-Encoding : chunked\r\n",  # whitespace before the colon (§5.1)
        b" Host: x\r\n",  # a first line that continues nothing
        b"Host: x\r\nno colon here\r\n",
    ],
)
def test_lines_the_parser_cannot_read_are_refused(raw):
    fields, malformed = fields_of(raw)
    with pytest.raises(FramingError, match="malformed header line"):
        request_framing(V11, fields, malformed=malformed)


def test_folded_lines_from_the_parser_are_refused():
    fields, malformed = fields_of(b"Host: x\r\nX-A: b\r\n  folded\r\n")
    assert not malformed
    with pytest.raises(FramingError, match="line folding"):
        request_framing(V11, fields)


def test_duplicate_lengths_from_the_parser_are_all_seen():
    fields, malformed = fields_of(b"Content-Length: 1\r\nContent-Length: 2\r\n")
    with pytest.raises(FramingError, match="differing"):
        request_framing(V11, fields, malformed=malformed)


def test_error_reply_is_the_gateway_json_and_closes():
    reply = error_reply(400, 'bad "framing"')
    head, body = reply.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert set(lines[1:]) == {"Content-Type: application/json", f"Content-Length: {len(body)}", "Connection: close"}
    assert body == b'{"error": "bad \\"framing\\"", "status": 400}'
