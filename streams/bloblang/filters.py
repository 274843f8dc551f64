"""Mappings that only decide whether a message is kept, recognised from their syntax tree.

The seed's per-user stream filters the shared ``completed`` topic with

    root = if this.user_id != "alice" {
      deleted()
    }

and every user's instance runs it on every record of the topic. A ``FieldFilter`` says what such
a mapping does without running it: a message whose field is not equal to the literal is deleted.
The engine asks it first (``FieldFilter.deletes``) and skips the mapping's run for such records;
for the others, and whenever it cannot tell, the mapping runs as before, so what it decides is
what the mapping would have decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.bloblang import nodes as N
from streams.bloblang import runtime
from streams.bloblang.values import DELETE


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """``root = if this.<path> != "<value>" { deleted() }`` (either operand order)."""

    path: tuple[str, ...]
    value: str
    field_annotation: str
    value_annotation: str
    field_first: bool

    def deletes(self, message: Any) -> bool:
        """True when the mapping would delete ``message``. False when it would keep it, and
        also whenever this cannot tell (not JSON, a comparison that fails): the mapping then
        runs and gives its own answer or error. Reads the message's parsed value, which stays
        on the message (``Message.value``), so a message shared by many filters is parsed once."""
        field = field_value(message, self.path)
        if field is CANNOT_TELL:
            return False
        try:
            if self.field_first:
                return bool(runtime.not_equal_op(field, self.value, self.field_annotation, self.value_annotation))
            return bool(runtime.not_equal_op(self.value, field, self.value_annotation, self.field_annotation))
        except Exception:  # noqa: BLE001 - cannot tell: the mapping decides, errors and all
            return False


CANNOT_TELL: Any = object()
"""``field_value`` of a message the mapping cannot read (not JSON, say)."""

_last: tuple[Any, tuple[str, ...], Any] = (None, (), None)
"""The last message read, the path and what was there. PERF: one record is checked by every
user's filter in turn (the same path each time), and the read was most of a check."""


def field_value(message: Any, path: tuple[str, ...]) -> Any:
    """``this.<path>`` of ``message`` as the mapping reads it, or ``CANNOT_TELL`` when that
    fails (the mapping then fails too, with its own error)."""
    global _last
    last = _last  # NOTE: one read of an immutable tuple: consistent even if another thread sets it
    if last[0] is message and last[1] == path:
        return last[2]
    try:
        field = runtime.this_path(runtime.Context([message], 0), path)
    except Exception:  # noqa: BLE001 - the mapping reports it
        field = CANNOT_TELL
    _last = (message, path, field)
    return field


def field_filter(prog: N.Program) -> FieldFilter | None:
    """The ``FieldFilter`` ``prog`` is, or None for any other mapping."""
    if prog.maps or len(prog.statements) != 1:
        return None
    stmt = prog.statements[0]
    if not (isinstance(stmt, N.Assign) and stmt.kind == "root" and not stmt.path):
        return None
    query = stmt.query
    if not (isinstance(query, N.IfExpr) and query.otherwise is None and len(query.branches) == 1):
        return None
    cond, then = query.branches[0]
    if not (isinstance(then, N.Literal) and then.value is DELETE):
        return None
    if not (isinstance(cond, N.BinOp) and cond.op == "!="):
        return None
    for field, literal, field_first in ((cond.left, cond.right, True), (cond.right, cond.left, False)):
        if (
            isinstance(field, N.FieldRef)
            and field.source == "this"
            and not field.named
            and isinstance(literal, N.Literal)
            and type(literal.value) is str
        ):
            return FieldFilter(tuple(field.path), literal.value, field.annotation, literal.annotation, field_first)
    return None
