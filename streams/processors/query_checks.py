"""Load-time checks shared by processors whose config holds a query in another language.

A query may carry ``$tyk_context`` placeholders, which are substituted per request; the check
compiles the text with each placeholder blank, as the definitions validator does for Bloblang,
so a query that is broken whatever the request is reported by ``lint`` with its config path.
"""

from __future__ import annotations

from collections.abc import Callable

from streams import context

Problems = list[tuple[tuple[str | int, ...], str]]


def blank_placeholders(text: str) -> str:
    """``text`` with every ``$tyk_context`` placeholder replaced by the empty string."""
    return str(context.substitute({"query": text}, {}, enabled=False)["query"])


def compiles(compile_text: Callable[[str], object]) -> Callable[[object], Problems]:
    """A ``Field.check`` that reports the ``ValueError`` text of ``compile_text(query)``."""

    def check(value: object) -> Problems:
        if not isinstance(value, str):
            return []
        try:
            compile_text(blank_placeholders(value))
        except ValueError as exc:
            return [((), str(exc))]
        return []

    return check
