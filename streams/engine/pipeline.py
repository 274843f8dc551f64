"""Running a chain of processors, and an output with its own processors in front."""

from __future__ import annotations

from collections.abc import Sequence

from streams.contracts import Output, Processor, Transaction, WriteAbandoned
from streams.message import Message


def run_processors(processors: Sequence[Processor], batch: list[Message], txn: Transaction) -> list[Message]:
    """Each processor in turn; an empty batch (every message deleted) stops the chain. The
    messages of every batch the chain ends with, in order."""
    return [msg for part in run_batches(processors, batch, txn) for msg in part]


def run_batches(processors: Sequence[Processor], batch: list[Message], txn: Transaction) -> list[list[Message]]:
    """Each processor in turn on every batch the previous ones made (a ``split`` makes several);
    the batches left at the end, empty ones dropped."""
    batches = [batch] if batch else []
    for proc in processors:
        if not batches:
            break
        batches = [out for part in batches for out in proc.process_batches(part, txn) if out]
    return batches


def abandoned_before_write(txn: Transaction) -> None:
    """Raise when the pass was abandoned (its push answered 408) while processors still ran:
    the client was told the push failed, so nothing of it may be written from now on."""
    if txn.abandoned:
        raise WriteAbandoned("abandoned: the push timed out before its write started")


class ProcessedOutput(Output):
    """An output config with ``processors:``: they run just before this output's writes."""

    def __init__(self, output: Output, processors: list[Processor]) -> None:
        self.output = output
        self.processors = processors

    def write(self, batch: list[Message], txn: Transaction) -> None:
        batch = run_processors(self.processors, [m.copy() for m in batch], txn)
        if batch:
            abandoned_before_write(txn)
            self.output.write(batch, txn)

    def close(self) -> None:
        for p in self.processors:
            p.close()
        self.output.close()
