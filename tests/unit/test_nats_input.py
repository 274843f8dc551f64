"""The ``nats`` input's message mapping alone: Bento's metadata, replies to a reply subject."""

from __future__ import annotations

from streams.connectors.nats_protocol import Msg
from streams.inputs.nats import message_of, nak_payload, reply_headers
from streams.message import Message


def test_subject_reply_and_first_header_values_become_metadata() -> None:
    msg = message_of(Msg("orders.new", 1, "_INBOX.1", b"{}", {"X-Tag": ["a", "b"], "User": ["alice"]}))
    assert msg.content == b"{}"
    assert msg.metadata == {"X-Tag": "a", "User": "alice", "nats_subject": "orders.new", "nats_reply_subject": "_INBOX.1"}


def test_a_header_cannot_pose_as_the_subject() -> None:
    msg = message_of(Msg("real", 1, "", b"", {"nats_subject": ["forged"]}))
    assert msg.metadata["nats_subject"] == "real"


def test_nak_carries_the_delay_in_nanoseconds() -> None:
    assert nak_payload(0) == b"-NAK"
    assert nak_payload(60) == b'-NAK {"delay": 60000000000}'


def test_reply_headers_keep_what_a_header_line_can_carry() -> None:
    response = Message(b"", {"ok": "yes", "n": 3, "bad key": "x", "split": "a\r\nb", "": "empty"})
    assert reply_headers(response) == {"ok": ["yes"], "n": ["3"]}
