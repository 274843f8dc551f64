"""A retried Kafka write never sends a record twice: the ``SendLedger`` rules alone, then the
``kafka`` output over a dummy producer whose acknowledgements the test releases, then a push
abandoned after its 408 on the real engine with the embedded broker.

The dummy producer stands for "the broker is down": a record handed to it stays pending until the
test says it is stored or failed. Real-Kafka behaviour is in tests/e2e/test_kafka_faults.py."""

from __future__ import annotations

import types
from typing import Any

import gevent
import gevent.event
import pytest

from streams import bloblang
from streams.brokers.base import Position
from streams.brokers.sending import Action, Outcome, SendFailed, SendLedger, SendPending
from streams.contracts import OutputError, Transaction
from streams.engine.testing import read_topic
from streams.message import Message
from streams.outputs.kafka import SPEC, KafkaOutput

# -- the ledger alone --------------------------------------------------------------------------


def test_a_new_record_is_produced_only_while_wanted() -> None:
    ledger = SendLedger()
    assert ledger.next(0, wanted=True).action is Action.PRODUCE
    assert ledger.next(0, wanted=False).action is Action.GIVE_UP


def test_a_pending_record_is_waited_on_even_when_abandoned() -> None:
    ledger = SendLedger()
    handle = object()
    ledger.sent(0, handle)
    for wanted in (True, False):
        step = ledger.next(0, wanted=wanted, redeliver_unknown=True)
        assert step.action is Action.WAIT and step.pending is handle
    assert ledger.pending() == 1


def test_a_stored_record_is_done() -> None:
    ledger = SendLedger()
    ledger.sent(0, object())
    ledger.stored(0, Position("t", 0, 7))
    assert ledger.next(0, wanted=True).action is Action.DONE
    assert ledger.position(0) == Position("t", 0, 7)
    assert ledger.pending() == 0


def test_a_rejected_record_is_produced_again_only_while_wanted() -> None:
    ledger = SendLedger()
    ledger.failed(0, Outcome.REJECTED)
    assert ledger.next(0, wanted=True).action is Action.PRODUCE
    assert ledger.next(0, wanted=False).action is Action.GIVE_UP


def test_an_unknown_outcome_is_produced_again_only_for_an_at_least_once_source() -> None:
    ledger = SendLedger()
    ledger.failed(0, Outcome.UNKNOWN)
    step = ledger.next(0, wanted=True)
    assert step.action is Action.GIVE_UP and "may have been stored" in step.reason
    assert ledger.next(0, wanted=True, redeliver_unknown=True).action is Action.PRODUCE
    assert ledger.next(0, wanted=False, redeliver_unknown=True).action is Action.GIVE_UP


def test_records_are_kept_apart_and_stored_is_not_a_failure() -> None:
    ledger = SendLedger()
    ledger.sent(0, object())
    assert ledger.next(1, wanted=True).action is Action.PRODUCE
    with pytest.raises(ValueError):
        ledger.failed(0, Outcome.STORED)


def test_transaction_state_is_per_owner_and_kept() -> None:
    txn = Transaction()
    a, b = object(), object()
    first = txn.state(a, SendLedger)
    assert txn.state(a, SendLedger) is first
    assert txn.state(b, SendLedger) is not first
    assert not txn.abandoned
    txn.abandon()
    assert txn.abandoned


# -- the kafka output over a producer the test controls ------------------------------------------


class HeldSend:
    """A record the dummy producer holds until the test finishes it."""

    def __init__(self, topic: str, offset: int) -> None:
        self.topic = topic
        self.offset = offset
        self.done = gevent.event.Event()
        self.error: SendFailed | None = None

    def wait(self, timeout: float) -> Position:
        if not self.done.wait(timeout):
            raise SendPending(f"not acknowledged within {timeout:g}s")
        if self.error is not None:
            raise self.error
        return Position(self.topic, 0, self.offset)

    def store(self) -> None:
        self.done.set()

    def fail(self, outcome: Outcome) -> None:
        self.error = SendFailed("failed", outcome)
        self.done.set()


class HoldingProducer:
    """A broker with ``send``: every record is held (``sends`` lists them in order)."""

    def __init__(self) -> None:
        self.sends: list[tuple[bytes, HeldSend]] = []

    def send(self, topic: str, value: bytes, key: Any = None, headers: Any = (), partition: Any = None,
             timeout: float = 10.0) -> HeldSend:
        held = HeldSend(topic, len(self.sends))
        self.sends.append((value, held))
        return held

    def partitions(self, topic: str) -> list[int]:
        return [0]


def make_output(producer: HoldingProducer, timeout: str = "50ms") -> KafkaOutput:
    conf = {f.name: f.default for f in SPEC.fields}
    conf.update(topic="jobs", timeout=timeout)
    res = types.SimpleNamespace(
        path="streams.s.output.kafka",
        interpolation=bloblang.parse_interpolation,
        broker=lambda addresses, security=None: producer,
    )
    return KafkaOutput(conf, res)  # type: ignore[arg-type]


def test_a_retry_waits_on_the_pending_record_instead_of_sending_it_again() -> None:
    producer = HoldingProducer()
    out = make_output(producer)
    txn = Transaction()
    for _ in range(3):  # the broker is down: every attempt times out
        with pytest.raises(OutputError, match="not acknowledged"):
            out.write([Message(b"job-1")], txn)
    assert len(producer.sends) == 1
    producer.sends[0][1].store()  # the broker is back: the first attempt lands
    out.write([Message(b"job-1")], txn)
    out.write([Message(b"job-1")], txn)  # a write retried after success touches nothing
    assert [value for value, _ in producer.sends] == [b"job-1"]


def test_an_abandoned_write_sends_nothing_new() -> None:
    producer = HoldingProducer()
    out = make_output(producer)
    txn = Transaction()
    batch = [Message(b"a"), Message(b"b")]
    out.max_in_flight = 1  # one record after the other: "b" is never reached
    with pytest.raises(OutputError):
        out.write(batch, txn)
    txn.abandon()
    with pytest.raises(OutputError):
        out.write(batch, txn)  # "a" is still waited on ...
    producer.sends[0][1].store()
    with pytest.raises(OutputError, match="abandoned before it was produced"):
        out.write(batch, txn)  # ... "b" never sent
    assert [value for value, _ in producer.sends] == [b"a"]


def test_a_rejected_record_is_sent_again_but_an_unknown_one_is_not() -> None:
    producer = HoldingProducer()
    out = make_output(producer)
    txn = Transaction()
    with pytest.raises(OutputError):
        out.write([Message(b"x")], txn)
    producer.sends[0][1].fail(Outcome.REJECTED)
    with pytest.raises(OutputError, match="failed"):
        out.write([Message(b"x")], txn)
    with pytest.raises(OutputError):
        out.write([Message(b"x")], txn)  # sent again: it definitely was not stored
    assert len(producer.sends) == 2
    producer.sends[1][1].fail(Outcome.UNKNOWN)
    for _ in range(2):
        with pytest.raises(OutputError):
            out.write([Message(b"x")], txn)
    assert len(producer.sends) == 2


def test_an_at_least_once_source_sends_again_after_an_unknown_outcome() -> None:
    producer = HoldingProducer()
    out = make_output(producer)
    txn = Transaction(redeliver_unknown=True)
    with pytest.raises(OutputError):
        out.write([Message(b"x")], txn)
    producer.sends[0][1].fail(Outcome.UNKNOWN)
    with pytest.raises(OutputError):
        out.write([Message(b"x")], txn)  # the failure is learnt here
    with pytest.raises(OutputError):
        out.write([Message(b"x")], txn)  # and the record handed on again
    assert len(producer.sends) == 2


def test_concurrent_records_of_one_batch_are_each_sent_once() -> None:
    producer = HoldingProducer()
    out = make_output(producer)
    txn = Transaction()
    batch = [Message(str(i).encode()) for i in range(10)]
    with pytest.raises(OutputError):
        out.write(batch, txn)
    assert len(producer.sends) == 10
    for _, held in producer.sends:
        held.store()
    out.write(batch, txn)
    assert sorted(value for value, _ in producer.sends) == sorted(m.content for m in batch)


# -- the engine: a push answered 408 is abandoned ---------------------------------------------------


def test_a_push_answered_408_is_never_written(tmp_path: Any, gateways: Any, broker: Any) -> None:
    stream = {
        "input": {"http_server": {"path": "/in"}},
        "pipeline": {"processors": [{"sleep": {"duration": '${! meta("nap") }'}}]},
        "output": {"broker": {"outputs": [{"kafka": {"topic": "abandoned"}}, {"sync_response": {}}]}},
    }
    _, api = gateways(tmp_path, {"s": stream})
    inst = api.open("s", {})
    try:
        late = [inst.push(Message(f"late-{i}".encode(), {"nap": "400ms"}), 0.1).status for i in range(3)]
        gevent.sleep(1.0)  # the abandoned jobs finish their sleep and reach the output
        on_time = inst.push(Message(b"on-time", {"nap": "0s"}), 5.0).status
    finally:
        inst.release()
    assert late == [408, 408, 408]
    assert on_time == 200
    assert [r.value for r in read_topic(broker, "abandoned")] == [b"on-time"]


def test_record_checksums_use_the_native_crc32c() -> None:
    """kafka-python checksums every record batch it writes and reads; without the ``crc32c``
    package (requirements.txt) it falls back to a pure-Python loop that costs about a thousand
    times more per record."""
    from kafka.record import util  # noqa: PLC0415 - only this test needs it

    assert util.crc32c_c is not None
    assert util.calc_crc32c(memoryview(b"123456789")) == 0xE3069283  # the CRC-32C check value
