"""Exception types of the Bloblang implementation.

Public (DESIGN §6): ``BloblangError`` is the base; ``ParseError`` carries ``line`` and ``column``
(1-based) and renders Benthos's positional text; ``MappingError`` is a failure while executing a
mapping. ``ExecError`` is internal: functions and methods raise it with the bare message, and the
runtime adds the context annotation (``field `this.a`: ...``) and the ``failed assignment (line N):``
prefix exactly where Benthos does. ``go_line_col`` is where Benthos says an error is (parse
errors and ``failed assignment (line N)`` both count lines its way).
"""

from __future__ import annotations


class BloblangError(Exception):
    """Base of every error the Bloblang package raises on purpose."""


class ParseError(BloblangError):
    """Bad mapping source. ``str(err)`` is the full Benthos-style text, e.g.
    ``line 1 char 11: expected line break``; ``message`` is the part after the position;
    ``plain`` is Go's ``Error()`` of the same failure (no position, with a snippet of what was
    found), which is what the ``bloblang`` method reports."""

    def __init__(
        self, message: str, line: int = 0, column: int = 0, text: str | None = None, plain: str | None = None
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(text if text is not None else f"line {line} char {column}: {message}")
        self.plain = plain if plain is not None else str(self)


TOO_DEEP = "mapping is nested too deeply"
"""The message of a ``ParseError`` for source nested deeper than Python's recursion allows."""


class MappingError(BloblangError):
    """A mapping failed while running against a message (e.g. ``failed assignment (line 1): ...``)."""


class ExecError(Exception):
    """Raised inside functions and methods; the message is the bare reason (no annotation).

    ``cause`` links to the error this one wraps (Go's ``%w``), so the runtime can find a wrapped
    "no context" error the way Go's ``errors.As`` does. ``annotated`` marks an error that already
    names its source (Go's ``errFrom`` or a type mismatch), which later annotations leave alone."""

    def __init__(self, message: str, *, cause: ExecError | None = None, annotated: bool = False) -> None:
        super().__init__(message)
        self.cause = cause
        self.annotated: bool = annotated or (cause is not None and cause.annotated)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NoContextError(ExecError):
    """``this`` was referenced where there is no context (Go's ``ErrNoContext``)."""

    def __init__(self, field_name: str = "") -> None:
        self.field_name = field_name
        if field_name:
            super().__init__(f"context was undefined, unable to reference `{field_name}`")
        else:
            super().__init__("context was undefined")


def go_line_col(src: str, pos: int) -> tuple[int, int]:
    """Benthos's ``LineAndColOf``: it counts the offset in characters but line lengths in UTF-8
    bytes, so after a multi-byte character its line numbers run early. Error texts reproduce
    that (they are part of what users compare); node positions use ``parser.line_col``."""
    char = pos
    line = 0
    lines = src.split("\n")
    while line < len(lines):
        blen = len(lines[line].encode("utf-8", "surrogateescape"))
        if char < blen + 1:
            break
        char -= blen + 1
        line += 1
    return line + 1, char + 1
