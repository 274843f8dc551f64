"""``workflow`` processor: named ``branch`` processors run in tiers (``order``, or resolved
from what each branch's mappings read and write, see ``workflow_dag``), each message's outcome
recorded in its document at ``meta_path``: ``succeeded`` and ``skipped`` branch names (sorted),
``failed`` (name -> error), and the record of an earlier run as ``previous``.

As in Bento: every branch of a tier maps its request from the message as the tier found it,
and the results are folded back in tier order; a branch that succeeded or was skipped in an
earlier run recorded in the message, or that the record's ``apply`` list leaves out, is skipped;
with an empty ``meta_path`` a message with failed branches is flagged
``workflow branches failed: [a b]`` instead. Branches may be ``processor_resources`` entries
that are ``branch`` processors (named in ``order`` or ``branch_resources``).
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang.paths import dot_path_to_slice
from streams.contracts import ConfigError, Processor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors.branch import SPEC as BRANCH_SPEC
from streams.processors.branch import BranchProcessor
from streams.processors.workflow_dag import NAME, DagError, resolve, verify
from streams.registry import Field


class _Record:
    """One message's outcome of one run."""

    def __init__(self, names: list[str]) -> None:
        self.succeeded = set(names)
        self.skipped: set[str] = set()
        self.failed: dict[str, str] = {}

    def skip(self, name: str) -> None:
        self.succeeded.discard(name)
        self.skipped.add(name)

    def fail(self, name: str, why: str) -> None:
        self.succeeded.discard(name)
        self.skipped.discard(name)
        self.failed[name] = why

    def as_object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.succeeded:
            out["succeeded"] = sorted(self.succeeded)
        if self.skipped:
            out["skipped"] = sorted(self.skipped)
        if self.failed:
            out["failed"] = dict(self.failed)
        return out


class WorkflowProcessor(Processor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.meta_path = dot_path_to_slice(conf["meta_path"]) if conf["meta_path"] else []
        self.branches = self._branches(conf, res)
        self.owned = [b for n, b in self.branches.items() if n in (conf["branches"] or {})]
        """Inline branches; resource branches belong to the stream, which closes them."""
        try:
            if conf["order"]:
                self.tiers = verify(conf["order"], list(self.branches))
            else:
                used = {n: b.targets_used() for n, b in self.branches.items()}
                provided = {n: b.targets_provided() for n, b in self.branches.items()}
                self.tiers = resolve(used, provided)
        except DagError as exc:
            raise ConfigError(f"{res.path}: {exc}") from None
        res.logger().debug(f"workflow order: {self.tiers}")

    @staticmethod
    def _branches(conf: dict[str, Any], res: Resources) -> dict[str, BranchProcessor]:
        inline = conf["branches"] or {}
        if not isinstance(inline, dict):
            raise ConfigError(f"{res.path}.branches: expected an object of named branches")
        out: dict[str, BranchProcessor] = {}
        for name, body in inline.items():
            if not NAME.match(str(name)):
                raise ConfigError(f"{res.path}.branches: workflow branch name '{name}' contains invalid characters")
            out[name] = BRANCH_SPEC.factory(_filled(body, f"{res.path}.branches.{name}"), res.child(f"{res.path}.branches.{name}"))
        named = list(conf["branch_resources"] or []) + [n for tier in conf["order"] or [] for n in tier if n not in inline]
        for name in named:
            if name in inline and name in (conf["branch_resources"] or []):
                raise ConfigError(f"{res.path}: branch resource name '{name}' collides with an explicit branch")
            found = res.scope.processor_resources.get(name)
            if name not in res.scope.processor_labels:
                raise ConfigError(f"{res.path}: processor resource '{name}' was not found")
            if found is not None and not isinstance(found, BranchProcessor):
                raise ConfigError(f"{res.path}: processor resource '{name}' is not a branch processor")
            if found is None:
                raise ConfigError(f"{res.path}: processor resource '{name}' must be listed before the workflow's stream uses it")
            out[name] = found
        return out

    def process(self, batch: list[Message], txn: Transaction) -> list[Message]:
        names = [n for tier in self.tiers for n in tier]
        records = [_Record(names) for _ in batch]
        skips = [self._skips(msg, names) for msg in batch]
        for tier in self.tiers:
            snapshot = [m.copy() for m in batch]
            results: dict[str, list[Message | str | None]] = {}
            for name in tier:
                results[name] = [
                    None if name in skips[i] else self.branches[name].result_for(snapshot[i], snapshot, i)
                    for i in range(len(batch))
                ]
            for name in tier:
                for i, (msg, result) in enumerate(zip(batch, results[name], strict=True)):
                    if result is None:
                        records[i].skip(name)
                        continue
                    error = result if isinstance(result, str) else self.branches[name].overlay(msg, result)
                    if error is not None:
                        records[i].fail(name, error)
        for msg, record in zip(batch, records, strict=True):
            self._record(msg, record)
        return batch

    def _skips(self, msg: Message, names: list[str]) -> set[str]:
        record = _at(msg, self.meta_path) if self.meta_path else None
        if not isinstance(record, dict):
            return set()
        skip: set[str] = set()
        apply = record.get("apply")
        if isinstance(apply, list) and apply:
            skip = set(names) - {a for a in apply if isinstance(a, str)}
        for key in ("succeeded", "skipped"):
            done = record.get(key)
            if isinstance(done, list):
                skip |= {n for n in done if n in names}
        return skip

    def _record(self, msg: Message, record: _Record) -> None:
        if not self.meta_path:
            if record.failed:
                msg.error = f"workflow branches failed: [{' '.join(sorted(record.failed))}]"
            return
        try:
            doc = msg.value
        except ValueError as exc:
            msg.error = str(exc)
            return
        current = record.as_object()
        previous = _at(msg, self.meta_path)
        if previous is not None:
            current["previous"] = previous
        msg.set_value(_set(doc, self.meta_path, current))

    def close(self) -> None:
        for branch in self.owned:
            branch.close()


def _at(msg: Message, path: list[str]) -> Any:
    try:
        node = msg.value
    except ValueError:
        return None
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _set(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    base = dict(doc) if isinstance(doc, dict) else {}
    base[path[0]] = _set(base.get(path[0]), path[1:], value)
    return base


def _filled(body: Any, where: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: expected a branch object")
    out = dict(body)
    for f in BRANCH_SPEC.fields:
        if f.name not in out:
            if f.required:
                raise ConfigError(f"{where}.{f.name}: required field missing")
            out[f.name] = f.default
    return out


def _factory(conf: dict[str, Any], res: Resources) -> WorkflowProcessor:
    return WorkflowProcessor(conf, res)


SPEC = registry.processor(
    "workflow",
    _factory,
    Field("meta_path", "string", "meta.workflow", "Dot path of the run record in each document (empty: flag errors)."),
    Field("order", "any", [], "Explicit tiers of branch names, e.g. [[foo, bar], [baz]]."),
    Field("branch_resources", "string_list", [], "Names of branch processor resources to include."),
    Field("branches", "object", {}, "Named branch processors (request_map, processors, result_map)."),
    doc="Run named branches in dependency order, recording each message's outcome.",
)
