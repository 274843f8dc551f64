"""``broker`` output: route each batch to several outputs.

Patterns (Bento's names): ``fan_out`` (all outputs at once), ``fan_out_sequential`` (one after
the other), ``round_robin`` (each batch to the next output), ``greedy`` (to the least busy
output), and the fail-fast variants ``fan_out_fail_fast`` / ``fan_out_sequential_fail_fast``.
Bento retries a failed output of a plain fan-out indefinitely; here it is retried a few times
(``RETRIES``) and then the write fails, so a push can answer 502 instead of hanging. A fail-fast
pattern does not retry: the first error is the write's error. A write returns only once nothing
it started is still in flight (a fan-out whose first output failed still waits for the others),
so a 502 never races a write that goes on to store the message behind the client's back.
"""

from __future__ import annotations

import itertools
from typing import Any

import gevent

from streams import registry
from streams.contracts import ConfigError, Output, OutputError, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

PATTERNS = (
    "fan_out",
    "fan_out_fail_fast",
    "fan_out_sequential",
    "fan_out_sequential_fail_fast",
    "round_robin",
    "greedy",
)
RETRIES = 3


class BrokerOutput(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.pattern = conf["pattern"]
        if self.pattern not in PATTERNS:
            raise ConfigError(f"{res.path}.pattern: expected one of {', '.join(PATTERNS)}")
        self.outputs = [res.build_output(c, f"{res.path}.outputs.{i}") for i, c in enumerate(conf["outputs"] or [])]
        if not self.outputs:
            raise ConfigError(f"{res.path}.outputs: at least one output is required")
        # fan_out with at most one output that waits: each in turn in the writing greenlet,
        # the waiting one last (the seed's kafka + sync_response). Nothing could overlap, so a
        # greenlet per output would only cost its spawn.
        self._in_turn = sorted(self.outputs, key=lambda out: out.waits) if sum(o.waits for o in self.outputs) <= 1 else None
        self._next = itertools.count()
        self._busy = [0] * len(self.outputs)

    def _write_one(self, out: Output, batch: list[Message], txn: Transaction, retries: int) -> None:
        delay = 0.05
        for attempt in range(retries + 1):
            try:
                out.write([m.copy() for m in batch], txn)
                return
            except OutputError:
                if attempt == retries or txn.abandoned:
                    raise  # NOTE: an abandoned write (push answered 408) starts no new attempt
            gevent.sleep(delay)
            delay *= 2

    def _try_one(self, out: Output, batch: list[Message], txn: Transaction, retries: int) -> Exception | None:
        """``_write_one`` in a spawned greenlet: the failure is returned, not raised, since
        gevent reports a greenlet that dies of an exception as an unhandled server error."""
        try:
            self._write_one(out, batch, txn, retries)
        except Exception as exc:  # noqa: BLE001 - write() turns it into the OutputError it raises
            return exc
        return None

    def write(self, batch: list[Message], txn: Transaction) -> None:
        pattern = self.pattern
        fail_fast = pattern.endswith("_fail_fast")
        retries = 0 if fail_fast else RETRIES
        if pattern == "fan_out" and len(self.outputs) > 1 and self._in_turn is not None:
            self._fan_out_in_turn(self._in_turn, batch, txn, retries)
        elif pattern == "fan_out" and len(self.outputs) > 1:
            # PERF: the last output runs in this greenlet; the others in their own.
            jobs = [gevent.spawn(self._try_one, out, batch, txn, retries) for out in self.outputs[:-1]]
            error: BaseException | None = None
            try:
                self._write_one(self.outputs[-1], batch, txn, retries)
            except OutputError as exc:
                error = exc
            gevent.joinall(jobs)
            errors = [job.value for job in jobs if job.value is not None]
            if error is not None:
                raise error
            if errors:
                raise errors[0] if isinstance(errors[0], OutputError) else OutputError(str(errors[0]))
        elif pattern in ("fan_out", "fan_out_fail_fast"):
            jobs = [gevent.spawn(self._try_one, out, batch, txn, retries) for out in self.outputs]
            first: BaseException | None = None
            for job in gevent.iwait(jobs):
                if first is None and job.value is not None:
                    first = job.value  # the first to fail, in time order
            if first is not None:
                raise first if isinstance(first, OutputError) else OutputError(str(first))
        elif pattern in ("fan_out_sequential", "fan_out_sequential_fail_fast"):
            for out in self.outputs:
                self._write_one(out, batch, txn, retries)
        elif pattern == "round_robin":
            self._write_one(self.outputs[next(self._next) % len(self.outputs)], batch, txn, 0)
        else:  # greedy: the output with the fewest writes in flight
            index = min(range(len(self.outputs)), key=lambda i: self._busy[i])
            self._busy[index] += 1
            try:
                self._write_one(self.outputs[index], batch, txn, 0)
            finally:
                self._busy[index] -= 1

    def _fan_out_in_turn(self, order: list[Output], batch: list[Message], txn: Transaction, retries: int) -> None:
        """``fan_out`` one output after the other, every one tried whatever the others did; the
        error is the one the spawned form raises: the last output's as it was raised, else the
        first failed other's as an ``OutputError``."""
        failed: dict[int, BaseException] = {}
        last = self.outputs[-1]
        for out in order:
            try:
                self._write_one(out, batch, txn, retries)
            except Exception as exc:  # noqa: BLE001 - raised below, as the spawned form does
                if out is not last and not isinstance(exc, OutputError):
                    exc = OutputError(str(exc))
                failed[self.outputs.index(out)] = exc
        if failed:
            raise failed.get(len(self.outputs) - 1) or failed[min(failed)]

    def close(self) -> None:
        for out in self.outputs:
            out.close()


def _factory(conf: dict[str, Any], res: Resources) -> BrokerOutput:
    return BrokerOutput(conf, res)


SPEC = registry.output(
    "broker",
    _factory,
    Field("copies", "int", 1, "Accepted; each output is used once."),
    Field("pattern", "string", "fan_out", "How batches are routed to the outputs.", options=PATTERNS),
    Field("outputs", "output_list", doc="The outputs to route to."),
    Field("batching", "object", {}, "Accepted and ignored."),
    doc="Route messages to several outputs.",
)
