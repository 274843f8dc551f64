"""``generate`` input: messages made by a Bloblang mapping, on an interval or as fast as possible.

It runs once per host (``streams.engine.singleton``). With a ``count``, the batches already
acknowledged are recorded in the host state after each one, so a worker that takes the input over
from one that died goes on from there instead of starting again; the record belongs to this run
of the gateway (``HostState.run_id``), so a restarted gateway generates anew, as Bento does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import Input, Stopping
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


def parse_interval(text: str) -> float:
    """``1s``, ``@every 1s`` or "" (as fast as possible); cron expressions are not supported."""
    text = str(text or "").strip()
    if text.startswith("@every"):
        text = text[len("@every") :].strip()
    return parse_duration(text, 0.0)


class GenerateInput(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.mapping = res.mapping(conf["mapping"], "mapping")
        self.interval = parse_interval(conf["interval"])
        self.count = int(conf["count"])
        self.batch_size = max(1, int(conf["batch_size"]))
        self.log = res.logger()
        self.host = res.host
        self.progress_name = f"{res.scope.instance_key}/{res.path}/{res.host.run_id}"

    def make_batch(self) -> list[Message]:
        """One batch; a mapping that deletes the message yields fewer messages."""
        batch: list[Message] = []
        for _ in range(self.batch_size):
            try:
                msg = self.mapping.apply_message(Message(b""))
            except MappingError as exc:
                self.log.error(f"generate mapping failed: {exc}")
                continue
            if msg is not None:
                batch.append(msg)
        return batch

    def run(self, deliver: Callable[[list[Message]], bool], stopping: Stopping) -> None:
        made = self.host.progress(self.progress_name) if self.count else 0
        if self.count and made >= self.count:
            return
        if made:
            self.log.info(f"generate goes on after {made} of {self.count} batches")
        while not stopping.is_set():
            batch = self.make_batch()
            delay = 0.1
            while batch and not deliver([m.copy() for m in batch]):
                if stopping.wait(delay):
                    return
                delay = min(delay * 2, 5.0)
            made += 1
            if self.count:
                self.host.set_progress(self.progress_name, made)
            if self.count and made >= self.count:
                return
            if stopping.wait(self.interval):
                return


def _factory(conf: dict[str, Any], res: Resources) -> GenerateInput:
    return GenerateInput(conf, res)


SPEC = registry.input(
    "generate",
    _factory,
    Field("mapping", "string", doc="Bloblang mapping that builds each message."),
    Field("interval", "string", "1s", "Time between batches (`@every 1s` accepted); empty = no pause."),
    Field("count", "int", 0, "Batches to generate before stopping; 0 = unlimited."),
    Field("batch_size", "int", 1, "Messages per batch."),
    Field("auto_replay_nacks", "bool", True, "Accepted; failed writes are always retried."),
    doc="Generate messages with a Bloblang mapping.",
)
