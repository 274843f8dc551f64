"""The bookkeeping of a NATS connection alone: PINGs and their PONGs, subscriptions to send
again, the pauses between connection attempts."""

from __future__ import annotations

import pytest

from streams.connectors.nats_session import Backoff, Pings, Subscriptions


def test_each_pong_answers_the_oldest_ping() -> None:
    pings: Pings[str] = Pings()
    pings.sent()  # a keep-alive
    pings.sent("flush-1")
    pings.sent("flush-2")
    assert pings.outstanding == 3
    assert pings.answered() is None
    assert pings.answered() == "flush-1"
    assert pings.outstanding == 1


def test_a_pong_nobody_asked_for_is_ignored() -> None:
    pings: Pings[str] = Pings()
    assert pings.answered() is None
    assert pings.outstanding == 0


def test_a_lost_connection_hands_back_the_waiters_that_will_never_be_answered() -> None:
    pings: Pings[str] = Pings()
    pings.sent()
    pings.sent("flush")
    assert pings.reset() == ["flush"]
    assert pings.outstanding == 0
    assert pings.answered() is None


def test_subscriptions_are_sent_again_with_their_ids_and_queue_groups() -> None:
    subs = Subscriptions()
    first = subs.add("orders.>", "workers")
    second = subs.add("audit")
    assert (first.sid, second.sid) == (1, 2)
    assert subs.frames() == [b"SUB orders.> workers 1\r\n", b"SUB audit 2\r\n"]
    assert subs.remove(1) and not subs.remove(1)
    assert 1 not in subs and 2 in subs
    assert subs.add("again").sid == 3  # an id is never given twice
    assert subs.frames() == [b"SUB audit 2\r\n", b"SUB again 3\r\n"]


@pytest.mark.parametrize(("subject", "queue"), [("a b", ""), ("a", "q q"), ("", "")])
def test_a_subscription_that_is_not_one_token_is_refused_and_not_kept(subject: str, queue: str) -> None:
    subs = Subscriptions()
    with pytest.raises(ValueError, match="no whitespace"):
        subs.add(subject, queue)
    assert subs.frames() == []
    assert subs.add("ok").sid == 1


def test_backoff_doubles_to_its_ceiling_and_starts_over_after_a_reset() -> None:
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1
