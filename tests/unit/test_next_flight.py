"""``NextFlight``: look-ups asked at once go in one request, and never in one already sent."""

from __future__ import annotations

import gevent
import gevent.event
import pytest

from streams.brokers.base import BrokerError
from streams.brokers.next_flight import NextFlight


class Fetcher:
    """A broker request that records the keys of each call and waits until released."""

    def __init__(self, refuse: frozenset[str] = frozenset(), answer_all: bool = True) -> None:
        self.calls: list[list[str]] = []
        self.release = gevent.event.Event()
        self.release.set()
        self.refuse = refuse
        self.answer_all = answer_all

    def __call__(self, keys: list[str]) -> dict[str, str]:
        self.calls.append(list(keys))
        self.release.wait()
        if self.refuse & set(keys):
            raise BrokerError(f"refused {sorted(self.refuse & set(keys))}")
        answered = keys if self.answer_all else keys[1:]
        return {key: key.upper() for key in answered}


def _one_on_its_way(fetch: Fetcher, flight: NextFlight[str, str], key: str) -> gevent.Greenlet:
    """A caller of ``key`` whose request is sent and held (``fetch.release`` cleared)."""
    fetch.release.clear()
    caller = gevent.spawn(flight.get, key)
    gevent.sleep(0.01)
    return caller


def test_keys_asked_at_once_go_in_one_request() -> None:
    fetch = Fetcher()
    flight = NextFlight(fetch, "t")
    callers = [gevent.spawn(flight.get, key) for key in ["a", "b", "c", "a"]]
    gevent.joinall(callers, timeout=5, raise_error=True)
    assert [g.value for g in callers] == ["A", "B", "C", "A"]
    assert fetch.calls == [["a", "b", "c"]]


def test_a_key_asked_while_a_request_is_on_its_way_goes_in_the_next() -> None:
    """The answer must reflect everything acknowledged before the caller asked."""
    fetch = Fetcher()
    flight = NextFlight(fetch, "t")
    first = _one_on_its_way(fetch, flight, "a")
    assert fetch.calls == [["a"]]  # on its way
    late = [gevent.spawn(flight.get, key) for key in ["a", "b"]]
    gevent.sleep(0.01)
    fetch.release.set()
    gevent.joinall([first, *late], timeout=5, raise_error=True)
    assert fetch.calls == [["a"], ["a", "b"]]
    assert [first.value, *(g.value for g in late)] == ["A", "A", "B"]


def test_a_request_holds_at_most_max_keys() -> None:
    fetch = Fetcher()
    flight = NextFlight(fetch, "t", max_keys=2)
    callers = [gevent.spawn(flight.get, key) for key in "abcde"]
    gevent.joinall(callers, timeout=5, raise_error=True)
    assert fetch.calls == [["a", "b"], ["c", "d"], ["e"]]


def test_a_refused_key_fails_only_its_own_callers() -> None:
    fetch = Fetcher(refuse=frozenset({"b"}))
    flight = NextFlight(fetch, "t")
    callers = {key: gevent.spawn(flight.get, key) for key in "abc"}
    gevent.joinall(list(callers.values()), timeout=5)
    assert callers["a"].value == "A" and callers["c"].value == "C"
    assert isinstance(callers["b"].exception, BrokerError) and "refused" in str(callers["b"].exception)
    assert fetch.calls == [["a", "b", "c"], ["a"], ["b"], ["c"]]


def test_a_key_left_out_of_the_answer_is_an_error() -> None:
    flight = NextFlight(Fetcher(answer_all=False), "group offsets")
    callers = [gevent.spawn(flight.get, key) for key in "ab"]
    gevent.joinall(callers, timeout=5)
    assert callers[1].value == "B"
    with pytest.raises(BrokerError, match="group offsets: no answer for 'a'"):
        callers[0].get()


def test_callers_are_not_left_waiting_when_the_request_is_killed() -> None:
    fetch = Fetcher()
    flight = NextFlight(fetch, "t")
    first = _one_on_its_way(fetch, flight, "a")
    second = gevent.spawn(flight.get, "b")  # waits for the next request
    gevent.sleep(0.01)
    assert flight._flier is not None
    flight._flier.kill()
    gevent.joinall([first, second], timeout=5)
    assert isinstance(first.exception, BrokerError) and isinstance(second.exception, BrokerError)
    # A later look-up starts a request of its own.
    fetch.release.set()
    assert flight.get("c") == "C"


def test_a_request_that_failed_for_every_key_is_not_asked_again_key_by_key() -> None:
    """The broker unreachable until the deadline: each caller gets that error at once, not
    after one more wait per key."""

    class Unreachable(Exception):
        retriable = True

    calls: list[list[str]] = []

    def fetch(keys: list[str]) -> dict[str, str]:
        calls.append(list(keys))
        try:
            raise Unreachable("node not ready")
        except Unreachable as exc:
            raise BrokerError("cannot read offsets of 2 groups: node not ready") from exc

    flight = NextFlight(fetch, "t")
    callers = [gevent.spawn(flight.get, key) for key in "ab"]
    gevent.joinall(callers, timeout=5)
    assert calls == [["a", "b"]]
    assert all(isinstance(g.exception, BrokerError) for g in callers)
