"""``retry`` processor: each message goes through the processors on its own; when any message
of the result carries an error, the message as it entered (its error cleared) is tried again
after a backoff, until an attempt has no error, ``max_retries`` attempts have failed (0: no limit)
or ``backoff.max_elapsed_time`` passes (or nobody waits for the pass any more: its push was
answered 408); then the last result, errors and all, goes on. ``parallel`` tries the messages at
the same time.

As Bento's ``processor_retry.go`` does, every message of the result carries ``retry_count`` (the
failed attempts: 0 when the first succeeded; ``max_retries: 2`` makes two attempts in all, so a
message that never succeeds leaves with 2) and ``backoff_duration`` (the waits planned between
attempts, summed, in nanoseconds, which is how Bento's duration value prints)."""

from __future__ import annotations

from typing import Any

import gevent
import gevent.pool

from streams import registry
from streams.contracts import ConfigError, Processor, Transaction
from streams.durations import parse_duration
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors.backoff import Backoff
from streams.registry import Field

BACKOFF_FIELDS = (
    Field("initial_interval", "duration", "500ms", "Wait before the first retry."),
    Field("max_interval", "duration", "10s", "Longest wait between retries."),
    Field("max_elapsed_time", "duration", "1m", "Give up after this long (0s: never)."),
)
BACKOFF_DEFAULTS = {f.name: f.default for f in BACKOFF_FIELDS}
STOPPED_NS = -1
"""What the backoff's "no more attempts" counts for in ``backoff_duration`` (Bento's ``Stop``)."""


class RetryProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.procs = res.build_processors(conf["processors"], f"{res.path}.processors")
        if not self.procs:
            raise ConfigError(f"{res.path}.processors: at least one child processor must be specified")
        backoff = {**BACKOFF_DEFAULTS, **(conf["backoff"] or {})}
        try:
            initial, maximum, elapsed = (parse_duration(backoff[k] or "0s") for k in BACKOFF_DEFAULTS)
        except ValueError as exc:
            raise ConfigError(f"{res.path}.backoff: {exc}") from None
        self.initial, self.maximum, self.max_elapsed = initial, maximum, elapsed
        self.parallel = bool(conf["parallel"])
        self.max_retries = int(conf["max_retries"])
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        if self.parallel and len(batch) > 1:
            results = gevent.pool.Pool(len(batch)).map(lambda msg: self.attempt(msg, txn), batch)
        else:
            results = [self.attempt(msg, txn) for msg in batch]
        return [out for result in results for out in result]

    def attempt(self, msg: Message, txn: Transaction) -> list[Message]:
        """``msg`` through the processors until a result without errors, or the retries or the
        backoff end; the result carries ``retry_count`` and ``backoff_duration``."""
        msg.error = None
        backoff = Backoff(self.initial, self.maximum, self.max_elapsed)
        retries = waited_ns = 0
        while True:
            result = run_processors(self.procs, [msg.copy()], txn)
            failed = next((m.error for m in result if m.error is not None), None)
            if failed is None:
                break
            retries += 1
            if retries == self.max_retries:
                self.log.debug(f"retry gave up after {retries} attempts: {failed}")
                break
            wait = backoff.next()
            # NOTE: Bento adds the backoff's stop value (-1ns) to the total before it sees that
            # the backoff has stopped; the -1 keeps ``backoff_duration`` equal to Bento's.
            waited_ns += STOPPED_NS if wait is None else round(wait * 1e9)
            if wait is None or txn.abandoned:
                self.log.debug(f"retry gave up: {failed}")
                break
            self.log.debug(f"retrying in {wait:.3f}s after: {failed}")
            gevent.sleep(wait)
        for out in result:
            out.metadata["retry_count"] = retries
            out.metadata["backoff_duration"] = waited_ns
        return result

    def close(self) -> None:
        for p in self.procs:
            p.close()


def _factory(conf: dict[str, Any], res: Resources) -> RetryProcessor:
    return RetryProcessor(conf, res)


SPEC = registry.processor(
    "retry",
    _factory,
    Field("backoff", "object", {}, "How long to wait between attempts.", fields=BACKOFF_FIELDS),
    Field("processors", "processor_list", doc="Processors tried until their result has no error."),
    Field("parallel", "bool", False, "Try the messages of a batch at the same time."),
    Field("max_retries", "int", 0, "Give up after this many failed attempts (0: no limit)."),
    doc="Retry processors on each message until they succeed.",
)
