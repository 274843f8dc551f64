"""What the engine expects of inputs, outputs and processors, and how a config becomes one.

Component modules (``streams/inputs``, ``streams/outputs``, ``streams/processors``) register a
factory ``factory(config: dict, res: Resources) -> component`` with ``streams.registry``; the
config they receive has every declared field, defaults filled in. Components are plain objects
fed messages (sans-IO where they can be): the engine owns greenlets, queues and commits.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams import registry
from streams.message import Message

if TYPE_CHECKING:
    from streams.engine.resources import Resources


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

    def run(self, deliver: Callable[[list[Message]], bool], stopping: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; called once when its instance closes."""


def run_restarting(inp: Input, deliver: Callable[[list[Message]], bool], stopping: Any, log: Any) -> None:
    """Run ``inp`` until it finishes on its own or ``stopping`` is set. An input that fails
    (broker unreachable, a rebalance gone wrong) is restarted with a growing pause instead of
    staying dead in this worker; uncommitted records are read again after a restart."""
    delay = 0.5
    while not stopping.is_set():
        try:
            inp.run(deliver, stopping)
            return  # finished on its own (e.g. generate's count reached)
        except Exception:  # any failure restarts the input
            log.exception(f"input failed; restarting in {delay:g}s")
        if stopping.wait(delay):
            return
        delay = min(delay * 2, 30.0)


_META_KEYS = {"label", "processors"}


def split_component(kind: str, conf: Any, path: str) -> tuple[str, Any, dict[str, Any]]:
    """``{"kafka": {...}, "label": "x"}`` -> ("kafka", {...}, {"label": "x"})."""
    if not isinstance(conf, dict):
        raise ConfigError(f"{path}: expected an object with one {kind} type")
    names = [k for k in conf if k not in _META_KEYS]
    if len(names) != 1:
        raise ConfigError(f"{path}: expected exactly one {kind} type, found {sorted(names) or 'none'}")
    meta = {k: conf[k] for k in conf if k in _META_KEYS}
    return names[0], conf[names[0]], meta


def resolve(kind: str, conf: Any, path: str) -> tuple[registry.ComponentSpec, dict[str, Any], dict[str, Any]]:
    """The registered spec and the defaults-filled config of one component config."""
    registry.load_all()
    name, body, meta = split_component(kind, conf, path)
    if name in registry.UNSAFE[kind]:
        raise ConfigError(f"{path}.{name}: the {kind} {name!r} is refused: it reaches the host")
    spec = registry.TABLES[kind].get(name)
    if spec is None:
        raise ConfigError(f"{path}.{name}: unknown {kind} type {name!r}")
    if spec.scalar_field and not isinstance(body, dict):
        body = {spec.scalar_field: body}
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ConfigError(f"{path}.{name}: expected an object")
    filled = dict(body)
    for f in spec.fields:
        if f.name not in filled:
            if f.required:
                raise ConfigError(f"{path}.{name}.{f.name}: required field missing")
            filled[f.name] = copy.deepcopy(f.default)
    return spec, filled, meta


def build_processor(conf: Any, res: Resources, path: str) -> Processor:
    spec, filled, _ = resolve("processor", conf, path)
    return spec.factory(filled, res.child(f"{path}.{spec.name}"))


def build_processors(confs: Any, res: Resources, path: str) -> list[Processor]:
    if confs is None:
        return []
    if not isinstance(confs, list):
        raise ConfigError(f"{path}: expected a list of processors")
    return [build_processor(c, res, f"{path}.{i}") for i, c in enumerate(confs)]


def build_output(conf: Any, res: Resources, path: str) -> Output:
    spec, filled, meta = resolve("output", conf, path)
    out = spec.factory(filled, res.child(f"{path}.{spec.name}"))
    procs = build_processors(meta.get("processors"), res, f"{path}.processors")
    if procs:
        from streams.engine.pipeline import ProcessedOutput

        return ProcessedOutput(out, procs)
    return out


def build_input(conf: Any, res: Resources, path: str) -> tuple[str, Input, list[Processor]]:
    """The input's type name, the input, and its own ``processors`` (run before the pipeline)."""
    spec, filled, meta = resolve("input", conf, path)
    inp = spec.factory(filled, res.child(f"{path}.{spec.name}"))
    return spec.name, inp, build_processors(meta.get("processors"), res, f"{path}.processors")
