"""``peer_gone_check``: a stream client that closed its side is noticed before a message is
written to it (never waiting, never consuming what the client sent)."""

from __future__ import annotations

import socket

from handlers.streaming import peer_gone_check


def test_a_connected_client_is_there_until_it_closes() -> None:
    ours, theirs = socket.socketpair()
    try:
        gone = peer_gone_check(ours)
        assert gone() is False
        theirs.close()
        assert gone() is True
    finally:
        ours.close()


def test_a_client_that_sent_bytes_is_still_there_and_keeps_them() -> None:
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(b"x")
        assert peer_gone_check(ours)() is False
        assert ours.recv(1) == b"x"  # only peeked
    finally:
        ours.close()
        theirs.close()


def test_a_socket_closed_under_the_check_counts_as_gone() -> None:
    ours, theirs = socket.socketpair()
    gone = peer_gone_check(ours)
    ours.close()
    theirs.close()
    assert gone() is True


def test_without_a_socket_the_client_is_never_gone() -> None:
    assert peer_gone_check(None)() is False
