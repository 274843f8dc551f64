"""``streams.engine.listeners.Listeners``: which listeners a record is offered to, alone (no
broker, no hubs: plain objects with a ``route``)."""

from __future__ import annotations

from typing import Any

from streams import bloblang
from streams.engine.listeners import Listeners
from streams.message import Message


class Listener:
    def __init__(self, name: str, user: str | None = None, hook: Any = None) -> None:
        self.name = name
        self.route = (
            bloblang.parse(f'root = if this.user_id != "{user}" {{ deleted() }}').field_filter if user is not None else None
        )
        self.read_hook = hook

    def __repr__(self) -> str:
        return self.name


def names(listeners: list[Any]) -> list[str]:
    return [listener.name for listener in listeners]


def msg(content: bytes) -> Message:
    return Message(content)


def test_a_record_is_offered_to_the_unrouted_and_to_the_routes_its_field_names() -> None:
    plain, alice, alice2, bob = Listener("plain"), Listener("alice", "alice"), Listener("alice2", "alice"), Listener("bob", "bob")
    listeners = Listeners({plain: {}, alice: {}, bob: {}, alice2: {0: 5}})
    assert names(listeners.chosen(msg(b'{"user_id":"alice"}'))) == ["plain", "alice", "alice2"]
    assert names(listeners.chosen(msg(b'{"user_id":"bob","x":1}'))) == ["plain", "bob"]
    assert names(listeners.chosen(msg(b'{"user_id":"carol"}'))) == ["plain"]
    assert names(listeners.chosen(msg(b"{}"))) == ["plain", "alice", "alice2", "bob"]  # null: each route decides
    assert names(listeners.chosen(msg(b'{"user_id":5}'))) == ["plain", "alice", "alice2", "bob"]
    assert names(listeners.chosen(msg(b"not json"))) == ["plain", "alice", "alice2", "bob"]
    assert listeners.get(alice2) == {0: 5} and len(listeners) == 4 and alice in listeners


def test_leaving_takes_a_listener_out_of_the_index() -> None:
    alice, alice2, bob = Listener("alice", "alice"), Listener("alice2", "alice"), Listener("bob", "bob")
    listeners = Listeners({alice: {}, alice2: {}, bob: {}})
    assert listeners.pop(alice) == {} and listeners.pop(alice) is None
    assert names(listeners.chosen(msg(b'{"user_id":"alice"}'))) == ["alice2"]
    listeners.pop(alice2)
    assert listeners.chosen(msg(b'{"user_id":"alice"}')) == []
    assert names(listeners.chosen(msg(b"[]"))) == ["bob"]
    listeners[alice] = {0: 1}  # back again
    assert names(listeners.chosen(msg(b'{"user_id":"alice"}'))) == ["alice"]
    listeners.clear()
    assert not listeners and listeners.chosen(msg(b'{"user_id":"alice"}')) == [] and listeners.reads(0, 0) == []


def test_each_streams_read_hook_is_called_once_from_its_lowest_listener_on() -> None:
    def one(record: Any) -> None: ...

    def two(record: Any) -> None: ...

    a, b, c = Listener("a", "alice", one), Listener("b", "bob", one), Listener("c", "carol", two)
    plain = Listener("plain", None, two)  # fed everything: its hub counts its own reads
    listeners = Listeners({a: {0: 10}, b: {0: 4, 1: 7}, plain: {}})
    assert listeners.reads(0, 3) == [] and listeners.reads(0, 4) == [one] and listeners.reads(1, 0) == [one]
    listeners[c] = {0: 2}
    assert listeners.reads(0, 2) == [two] and listeners.reads(0, 9) == [one, two]
    listeners[b] = {0: 20, 1: 20}  # a new skip position: the floor moves
    assert listeners.reads(0, 9) == [two] and listeners.reads(0, 10) == [one, two]
    listeners.pop(c)
    listeners.pop(a)
    assert listeners.reads(0, 30) == [one]
    listeners.pop(b)
    assert listeners.reads(0, 30) == []
