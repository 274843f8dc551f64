"""``group_by`` processor: splits a batch into one batch per group, a message joining the first
group whose ``check`` gives true (a check that fails counts as false); each group's processors
run on its batch. Messages of no group form a last batch, untouched. ``group_by_value``: one
batch per distinct interpolated ``value``, in the order values first appear."""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang import MappingError
from streams.contracts import ConfigError, Processor, Transaction
from streams.engine.pipeline import run_batches
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors.query import Query
from streams.registry import Field


class _Group:
    def __init__(self, conf: Any, res: Resources, where: str) -> None:
        if not isinstance(conf, dict) or not isinstance(conf.get("check"), str) or not conf["check"]:
            raise ConfigError(f"{where}.check: a group needs a check")
        self.check = Query(res.child(where), conf["check"], "check")
        self.procs = res.build_processors(conf.get("processors") or [], f"{where}.processors")


class GroupByProcessor(Processor):
    def __init__(self, groups: list[_Group], res: Resources) -> None:
        self.groups = groups
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        return [m for part in self.process_batches(batch, txn) for m in part]

    def process_batches(self, batch: list[Message], txn: Transaction) -> list[list[Message]]:
        members: list[list[Message]] = [[] for _ in self.groups]
        rest: list[Message] = []
        for index, msg in enumerate(batch):
            for group, into in zip(self.groups, members, strict=True):
                if self._holds(group, batch, index):
                    into.append(msg)
                    break
            else:
                rest.append(msg)
        out: list[list[Message]] = []
        for group, part in zip(self.groups, members, strict=True):
            if part:
                out.extend(run_batches(group.procs, part, txn))
        if rest:
            out.append(rest)
        return out

    def _holds(self, group: _Group, batch: list[Message], index: int) -> bool:
        try:
            return group.check.holds(batch, index)
        except MappingError as exc:
            self.log.debug(f"group_by check failed: {exc}")
            return False

    def close(self) -> None:
        for group in self.groups:
            for p in group.procs:
                p.close()


class GroupByValueProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.value = res.interpolation(conf["value"])
        self.log = res.logger()

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        return [m for part in self.process_batches(batch, txn) for m in part]

    def process_batches(self, batch: list[Message], txn: Transaction) -> list[list[Message]]:
        groups: dict[str, list[Message]] = {}
        for index, msg in enumerate(batch):
            try:
                key = self.value.render(msg, batch, index)
            except MappingError as exc:
                self.log.debug(f"group_by_value value failed: {exc}")
                key = ""
            groups.setdefault(key, []).append(msg)
        return list(groups.values())


def _group_by(conf: dict[str, Any], res: Resources) -> GroupByProcessor:
    groups = conf["groups"]
    if not isinstance(groups, list):
        raise ConfigError(f"{res.path}: expected a list of groups")
    return GroupByProcessor([_Group(g, res, f"{res.path}.{i}") for i, g in enumerate(groups)], res)


def _group_by_value(conf: dict[str, Any], res: Resources) -> GroupByValueProcessor:
    return GroupByValueProcessor(conf, res)


SPEC = registry.processor(
    "group_by",
    _group_by,
    Field("groups", "any", doc="List of {check, processors}."),
    scalar_field="groups",
    doc="Split a batch into groups by condition.",
)
SPEC_VALUE = registry.processor(
    "group_by_value",
    _group_by_value,
    Field("value", "string", doc="Interpolated value that groups messages."),
    doc="Split a batch into groups by an interpolated value.",
)
