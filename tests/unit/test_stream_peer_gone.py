"""``peer_gone_check``: a stream client that closed its side is noticed before a message is
written to it (never waiting, never consuming what the client sent)."""

from __future__ import annotations

import fcntl
import resource
import socket

import pytest

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


def test_a_descriptor_from_1024_up_is_checked_like_any_other() -> None:
    """``select`` refuses descriptors from FD_SETSIZE (1024) up; a worker holding a thousand
    connections hands them out, and its clients must not all look gone."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard open-file limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    low, theirs = socket.socketpair()
    ours = socket.socket(fileno=fcntl.fcntl(low.fileno(), fcntl.F_DUPFD, 1024))  # lowest free from 1024
    low.close()
    try:
        gone = peer_gone_check(ours)
        assert ours.fileno() >= 1024
        assert gone() is False
        theirs.close()
        assert gone() is True
    finally:
        ours.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
