"""``switch`` processor: each message goes through the processors of the first case whose
``check`` (a Bloblang query) is true; ``fallthrough`` continues into the next case."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import ConfigError, Processor, Transaction
from streams.engine.pipeline import run_processors
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class _Case:
    def __init__(self, conf: dict[str, Any], res: Resources, where: str) -> None:
        check = str(conf.get("check") or "").strip()
        self.check = res.child(where).mapping(f"root = {check}\n", "check") if check else None
        self.procs = res.build_processors(conf.get("processors") or [], f"{where}.processors")
        self.fallthrough = bool(conf.get("fallthrough", False))
        self.log = res.logger()

    def matches(self, msg: Message, batch: list[Message], index: int) -> bool:
        if self.check is None:
            return True
        try:
            out = self.check.apply_message(msg, batch, index)
        except MappingError as exc:
            self.log.debug(f"switch check failed: {exc}")
            return False
        return out is not None and out.value is True


class SwitchProcessor(Processor):
    def __init__(self, cases: list[_Case]) -> None:
        self.cases = cases

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        out: list[Message] = []
        for index, msg in enumerate(batch):
            current = [msg]
            falling = False
            for case in self.cases:
                if not current:
                    break
                if falling or case.matches(current[0], batch, index):
                    current = run_processors(case.procs, current, txn)
                    falling = case.fallthrough
                    if not falling:
                        break
            out.extend(current)
        return out

    def close(self) -> None:
        for case in self.cases:
            for p in case.procs:
                p.close()


def _factory(conf: dict[str, Any], res: Resources) -> SwitchProcessor:
    cases = conf["cases"]
    if not isinstance(cases, list):
        raise ConfigError(f"{res.path}: expected a list of cases")
    return SwitchProcessor([_Case(c or {}, res, f"{res.path}.{i}") for i, c in enumerate(cases)])


SPEC = registry.processor(
    "switch",
    _factory,
    Field("cases", "any", doc="List of {check, processors, fallthrough}."),
    scalar_field="cases",
    doc="Run different processors depending on the message.",
)
