"""What the engine expects of stream components: ``Input``, ``Processor``, ``Output``, the
``Transaction`` a batch carries through them, and their errors.

A leaf module (it imports nothing of the engine), so component modules, the engine and the HTTP
layer can all depend on it without cycles. Components are plain objects fed messages (sans-IO
where they can be): the engine owns greenlets, queues and commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

from streams.message import Message

T = TypeVar("T")


class ConfigError(ValueError):
    """A stream config the engine cannot build (unknown or unsafe component, missing field)."""


class OutputError(Exception):
    """An output could not deliver a batch; the text is what a pushing client sees (502)."""


class WriteAbandoned(OutputError):
    """Nothing (more) was written because nobody waits for the pass any more (its push was
    answered 408): the consequence of that timeout, not a failure of the output."""


class Transaction:
    """State of one pass of a batch through a stream, shared by its processors and outputs.

    ``response`` is what ``sync_response`` (processor or output) stored for the HTTP reply of a
    push; it stays ``None`` when nothing asked for a synchronous response.

    A retry of a write reuses its transaction, so an output can keep what it already did in
    ``state(self, factory)`` (the ``kafka`` output keeps its pending produces there and never
    sends a record twice). ``abandoned`` is set when nobody waits for the pass any more (its push
    was answered 408): outputs start nothing new after that. ``redeliver_unknown`` marks an
    at-least-once source (a ``kafka`` input) that would rather write a record twice than stall
    on one whose outcome the producer could not tell. ``sender``, when set, is the producer
    Kafka writes of this pass go through: a ``kafka`` input's transaction, so the writes and the
    consumed offset commit together. ``failure`` is why the last delivery of the pass failed (the
    output's error text), for an input that treats failures differently by their reason
    (``amqp_0_9``'s ``nack_reject_patterns``).
    """

    __slots__ = ("response", "abandoned", "redeliver_unknown", "sender", "failure", "_state")

    def __init__(self, *, redeliver_unknown: bool = False, sender: Any = None) -> None:
        self.response: list[Message] | None = None
        self.abandoned = False
        self.redeliver_unknown = redeliver_unknown
        self.sender = sender
        self.failure: str | None = None
        self._state: dict[int, Any] = {}

    def abandon(self) -> None:
        """Nobody waits for this pass any more: no new writes may start."""
        self.abandoned = True

    def state(self, owner: object, factory: Callable[[], T]) -> T:
        """``owner``'s bookkeeping for this pass, made by ``factory`` on first use."""
        key = id(owner)
        if key not in self._state:
            self._state[key] = (owner, factory())  # the owner is kept so its id stays unique
        return self._state[key][1]


class Processor:
    """Turns a batch into a batch (fewer messages when some are deleted).

    A processor that splits a batch into several (``split``, ``group_by``) overrides
    ``process_batches``; the pipeline keeps those batches apart for the processors after it
    (``archive`` makes one message per batch) and hands the output their messages in order.
    """

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        raise NotImplementedError

    def deletion_check(self) -> DeletionCheck | None:
        """What says, without running this processor, that it would delete a message and do
        nothing else; None when nothing does (the default). A caller that would run the
        processor on many copies of one message (every user's instance on one shared record)
        skips the runs it says delete."""
        return None

    def process_batches(self, batch: list[Message], txn: Transaction) -> list[list[Message]]:
        """The batches ``batch`` becomes: one (``process``'s result) unless the processor splits."""
        out = self.process(batch, txn)
        return [out] if out else []

    def close(self) -> None:
        """Release what the processor holds; called once when its instance closes."""


class DeletionCheck(Protocol):
    """``Processor.deletion_check``: True only for a message the processor would delete."""

    def deletes(self, message: Message) -> bool: ...


class MessageProcessor(Processor):
    """A processor that handles each message on its own; errors flag the message (Bento)."""

    name = "processor"

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        out: list[Message] = []
        for index, msg in enumerate(batch):
            result = self.process_message(msg, batch, index, txn)
            if result is None:
                continue
            if isinstance(result, Message):
                out.append(result)
            else:
                out.extend(result)
        return out

    def process_message(
        self, msg: Message, batch: list[Message], index: int, txn: Transaction
    ) -> Message | list[Message] | None:
        raise NotImplementedError


class Output:
    """Writes a batch and returns once it is acknowledged; raises ``OutputError`` otherwise.

    ``waits`` is False for an output whose ``write`` never waits on anything (it cannot yield
    to another greenlet): a ``broker`` fan-out then needs no greenlet of its own for it."""

    waits: ClassVar[bool] = True

    def write(self, batch: list[Message], txn: Transaction) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once when its instance closes."""


class Deliver(Protocol):
    """How an active input hands a batch on: True once every output acknowledged it. An input
    that retries a failed batch passes the same ``txn`` again, so outputs know what the first
    attempt already wrote (see ``Transaction``)."""

    def __call__(self, batch: list[Message], txn: Transaction | None = None) -> bool: ...


class Stopping(Protocol):
    """The event an active input watches: set when its stream stops (``gevent.event.Event``)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class Input:
    """Where messages come from.

    A *passive* input (``http_server``) receives messages through ``StreamInstance.push``; an
    active one runs ``run(deliver, stopping)`` in a greenlet: it reads, calls
    ``deliver(batch) -> bool`` (True once every output acknowledged), and only then commits.
    """

    passive: bool = False
    shared_by_nature: bool = False
    """True when every worker may run a copy without repeating anything: a consumer-group
    member, an HTTP endpoint. Other inputs (``generate``, polling) run once per host."""

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once when its instance closes."""
