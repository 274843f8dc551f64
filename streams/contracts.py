"""What the engine expects of stream components: ``Input``, ``Processor``, ``Output``, the
``Transaction`` a batch carries through them, and their errors.

A leaf module (it imports nothing of the engine), so component modules, the engine and the HTTP
layer can all depend on it without cycles. Components are plain objects fed messages (sans-IO
where they can be): the engine owns greenlets, queues and commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from streams.message import Message


class ConfigError(ValueError):
    """A stream config the engine cannot build (unknown or unsafe component, missing field)."""


class OutputError(Exception):
    """An output could not deliver a batch; the text is what a pushing client sees (502)."""


class Transaction:
    """State of one pass of a batch through a stream, shared by its processors and outputs.

    ``response`` is what ``sync_response`` (processor or output) stored for the HTTP reply of a
    push; it stays ``None`` when nothing asked for a synchronous response.
    """

    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: list[Message] | None = None


class Processor:
    """Turns a batch into a batch (fewer messages when some are deleted)."""

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the processor holds; called once when its instance closes."""


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
    """Writes a batch and returns once it is acknowledged; raises ``OutputError`` otherwise."""

    def write(self, batch: list[Message], txn: Transaction) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once when its instance closes."""


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

    def run(self, deliver: Callable[[list[Message]], bool], stopping: Stopping) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once when its instance closes."""
