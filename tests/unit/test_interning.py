"""``streams.interning``: equal config values built per instance become one object."""

from __future__ import annotations

from streams.brokers.group import GroupTimeouts
from streams.brokers.security import KafkaSecurity
from streams.interning import Interner


def test_equal_values_are_one_object_and_different_ones_stay_apart() -> None:
    interner: Interner[tuple[str, int]] = Interner()
    a = interner(("x", 1))
    b = interner(tuple(["x", 1]))  # equal, built apart
    assert a is b
    c = interner(("x", 2))
    assert c == ("x", 2) and c is not a


def test_it_starts_over_at_its_limit() -> None:
    interner: Interner[int] = Interner(limit=3)
    for n in range(1000, 1010):
        interner(n)
    assert len(interner) <= 3


def test_a_kafka_components_security_and_group_blocks_are_shared_across_instances() -> None:
    first = KafkaSecurity.from_config(None, None, "input.kafka")
    again = KafkaSecurity.from_config({}, {"mechanism": "none"}, "input.kafka")
    assert first is again
    plain = KafkaSecurity.from_config(None, {"mechanism": "PLAIN", "user": "u", "password": "p"}, "input.kafka")
    other = KafkaSecurity.from_config(None, {"mechanism": "PLAIN", "user": "v", "password": "p"}, "input.kafka")
    assert plain is not first and plain is not other and plain.sasl.user == "u" and other.sasl.user == "v"
    assert GroupTimeouts.from_config(None, "g") is GroupTimeouts.from_config({"session_timeout": "10s"}, "g")
    assert GroupTimeouts.from_config({"session_timeout": "20s"}, "g").session_timeout == 20.0
