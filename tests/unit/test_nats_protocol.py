"""The NATS protocol parser and frames alone: bytes in, events out, no socket."""

from __future__ import annotations

import pytest

from streams.connectors import nats_protocol as proto
from streams.connectors.nats_protocol import Info, Msg, NatsParser, Ok, Ping, Pong, ProtocolError, ServerError

HEADERS = b"NATS/1.0\r\nX-User: alice\r\nX-Tag: a\r\nX-Tag: b\r\n\r\n"
HMSG = b"HMSG orders.new 7 _INBOX.abc %d %d\r\n%shello\r\n" % (len(HEADERS), len(HEADERS) + 5, HEADERS)


def feed_bytewise(data: bytes) -> list[proto.Event]:
    parser = NatsParser()
    events: list[proto.Event] = []
    for i in range(len(data)):
        events += parser.feed(data[i : i + 1])
    return events


def test_info_ping_pong_ok_err() -> None:
    events = NatsParser().feed(b'INFO {"server_id":"S1","headers":true}\r\nPING\r\nPONG\r\n+OK\r\n-ERR \'Authorization Violation\'\r\n')
    assert events == [Info({"server_id": "S1", "headers": True}), Ping(), Pong(), Ok(), ServerError("Authorization Violation")]


def test_operations_are_case_insensitive() -> None:
    assert NatsParser().feed(b"ping\r\npong\r\nmsg a 1 2\r\nhi\r\n") == [Ping(), Pong(), Msg("a", 1, "", b"hi")]


def test_msg_with_and_without_reply() -> None:
    events = NatsParser().feed(b"MSG foo.bar 9 5\r\nhello\r\nMSG foo.baz 9 reply.to 0\r\n\r\n")
    assert events == [Msg("foo.bar", 9, "", b"hello"), Msg("foo.baz", 9, "reply.to", b"")]


def test_payload_may_contain_crlf() -> None:
    assert NatsParser().feed(b"MSG s 1 6\r\na\r\nb\r\n\r\n") == [Msg("s", 1, "", b"a\r\nb\r\n")]


def test_frames_split_anywhere_give_the_same_events() -> None:
    data = b'INFO {"max_payload":1048576}\r\nMSG a.b 1 3\r\nabc\r\nPING\r\n' + HMSG
    whole = NatsParser().feed(data)
    assert feed_bytewise(data) == whole
    for cut in range(1, len(data)):
        parser = NatsParser()
        assert parser.feed(data[:cut]) + parser.feed(data[cut:]) == whole, cut
    assert len(whole) == 4


def test_an_incomplete_payload_waits() -> None:
    parser = NatsParser()
    assert parser.feed(b"MSG a 1 10\r\n01234") == []
    assert parser.feed(b"56789") == []
    assert parser.feed(b"\r\n") == [Msg("a", 1, "", b"0123456789")]


def test_hmsg_headers_become_fields() -> None:
    (msg,) = NatsParser().feed(HMSG)
    assert msg == Msg("orders.new", 7, "_INBOX.abc", b"hello", {"X-User": ["alice"], "X-Tag": ["a", "b"]}, "")


def test_hmsg_status_line() -> None:
    block = b"NATS/1.0 503\r\n\r\n"
    (msg,) = NatsParser().feed(b"HMSG _INBOX.x 2 %d %d\r\n%s\r\n" % (len(block), len(block), block))
    assert msg.status == "503"
    assert msg.payload == b""
    assert msg.headers == {}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"WHAT now\r\n", "unknown operation"),
        (b"MSG a 1\r\n", "bad MSG line"),
        (b"MSG a x 2\r\nhi\r\n", "not a number"),
        (b"MSG a 1 2\r\nhiXY", "not followed by CRLF"),
        (b"HMSG a 1 10 5\r\n", "header size larger"),
        (b"HMSG a 1 5 5\r\nHTTP/\r\n", "does not start with NATS/1.0"),
        (b"INFO {nope\r\n", "INFO is not JSON"),
        (b"X" * (proto.MAX_CONTROL_LINE + 1), "control line longer"),
    ],
)
def test_what_is_not_nats_is_a_protocol_error(data: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        NatsParser().feed(data)


def test_client_frames() -> None:
    assert proto.connect_frame({"verbose": False, "headers": True}) == b'CONNECT {"verbose":false,"headers":true}\r\n'
    assert proto.sub_frame("foo.*", 3) == b"SUB foo.* 3\r\n"
    assert proto.sub_frame("foo.>", 4, "workers") == b"SUB foo.> workers 4\r\n"
    assert proto.unsub_frame(4) == b"UNSUB 4\r\n"
    assert proto.pub_frame("a.b", b"hi") == b"PUB a.b 2\r\nhi\r\n"
    assert proto.pub_frame("a.b", b"hi", reply="r") == b"PUB a.b r 2\r\nhi\r\n"
    assert proto.ping_frame() == b"PING\r\n"
    assert proto.pong_frame() == b"PONG\r\n"


def test_hpub_frame_round_trips_through_the_parser() -> None:
    frame = proto.pub_frame("a.b", b"body", headers={"K": ["v1", "v2"]})
    assert frame == b"HPUB a.b 26 30\r\nNATS/1.0\r\nK: v1\r\nK: v2\r\n\r\nbody\r\n"
    # The server relays an HPUB as an HMSG with the same sizes and bytes.
    relayed = frame.replace(b"HPUB a.b", b"HMSG a.b 1", 1)
    assert NatsParser().feed(relayed) == [Msg("a.b", 1, "", b"body", {"K": ["v1", "v2"]})]


@pytest.mark.parametrize("subject", ["", "a b", "a\r\nPUB x 1"])
def test_a_subject_is_one_token(subject: str) -> None:
    with pytest.raises(ValueError, match="no whitespace"):
        proto.pub_frame(subject, b"x")


def test_a_header_cannot_break_its_line() -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        proto.pub_frame("a", b"x", headers={"K": ["v\r\nInjected: 1"]})
