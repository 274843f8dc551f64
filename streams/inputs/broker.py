"""``broker`` input: several inputs feeding one stream.

An ``http_server`` child is served like a top-level one (its paths are routes of the stream, Tyk's
``GetHTTPPaths`` reads brokers too): its pushes reach the stream through ``StreamInstance.push``
with this child's own ``processors`` first (``push_processors``), answered with its
``sync_response`` settings (``respond``) and limited by its ``rate_limit`` (``limiter``). The
other children run as usual; a broker holding only HTTP children is passive. One ``http_server``
child per broker: a push must know whose reply settings apply."""

from __future__ import annotations

from typing import Any

import gevent

from streams import registry
from streams.contracts import ConfigError, Deliver, Input, Stopping, Transaction
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.engine.restart import run_restarting
from streams.message import Message
from streams.registry import Field


class BrokerInput(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.log = res.logger()
        self.children: list[tuple[Input, list[Any]]] = []
        self.push_child: Input | None = None
        self.push_processors: list[Any] = []
        for i, child in enumerate(conf["inputs"] or []):
            name, inp, procs = res.build_input(child, f"{res.path}.inputs.{i}")
            if inp.passive:
                if self.push_child is not None:
                    raise ConfigError(f"{res.path}.inputs.{i}.{name}: one http_server input per broker")
                self.push_child, self.push_processors = inp, procs
                continue
            self.children.append((inp, procs))
        if not self.children and self.push_child is None:
            raise ConfigError(f"{res.path}.inputs: at least one input is required")
        self.passive = not self.children
        self.respond = getattr(self.push_child, "respond", None)
        self.limiter = getattr(self.push_child, "limiter", None)
        # One child that must run once per host makes the whole broker run once per host.
        self.shared_by_nature = all(inp.shared_by_nature for inp, _ in self.children)

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        def child_deliver(procs: list[Any]) -> Deliver:
            if not procs:
                return deliver

            def with_procs(batch: list[Message], txn: Transaction | None = None) -> bool:
                # the child's transaction goes on, so its outputs' retries and its failure's
                # reason reach the child
                txn = txn or Transaction()
                processed = run_processors(procs, batch, txn)
                return deliver(processed, txn) if processed else True

            return with_procs

        # Each child restarts on its own: a failed one must not stay dead, nor take its healthy
        # siblings down with it.
        jobs = [
            gevent.spawn(run_restarting, inp, child_deliver(procs), stopping, self.log)
            for inp, procs in self.children
        ]
        try:
            gevent.joinall(jobs)
        finally:
            gevent.killall([job for job in jobs if not job.dead])

    def close(self) -> None:
        pushed = [(self.push_child, self.push_processors)] if self.push_child is not None else []
        for inp, procs in [*self.children, *pushed]:
            for p in procs:
                p.close()
            inp.close()


def _factory(conf: dict[str, Any], res: Resources) -> BrokerInput:
    return BrokerInput(conf, res)


SPEC = registry.input(
    "broker",
    _factory,
    Field("copies", "int", 1, "Accepted; each child input runs once per worker."),
    Field("inputs", "input_list", doc="The inputs to read from."),
    Field("batching", "object", {}, "Accepted and ignored."),
    doc="Read from several inputs at once.",
)
