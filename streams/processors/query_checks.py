"""Load-time checks shared by processors whose config holds a query in another language.

``compiles`` compiles the text when the definition is loaded, so a query that is broken is
reported by ``lint`` with its config path instead of failing the first request.

``$tyk_context`` placeholders are refused in jq and JMESPath queries, grok expressions and JSON
schemas (``no_placeholders``): the gateway substitutes request values safely into Bloblang, topic
names and interpolated strings, but a value pasted into another language could end a string
literal and change the query (``x" or true or "`` would make a per-user filter pass everyone's
messages) or bring a regular expression that backtracks for ever. Request values belong in a
``mapping``, a ``switch`` check or ``$metadata`` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from streams import context

Problems = list[tuple[tuple[str | int, ...], str]]


def no_placeholders(what: str) -> Callable[[object], Problems]:
    """A ``Field.check`` refusing ``$tyk_context`` placeholders anywhere in the value (strings,
    lists and objects alike), since a request value cannot be written safely into ``what``."""

    def check(value: object, path: tuple[str | int, ...] = ()) -> Problems:
        if isinstance(value, str):
            if context.PLACEHOLDER.search(value):
                return [(path, f"a $tyk_context placeholder cannot be put safely into {what}; "
                               "use the request value in a mapping, a switch check or $metadata instead")]
            return []
        if isinstance(value, dict):
            return [p for k, v in value.items() for p in check(v, (*path, str(k)))]
        if isinstance(value, list):
            return [p for i, v in enumerate(value) for p in check(v, (*path, i))]
        return []

    return check


def compiles(compile_text: Callable[[str], object], what: str) -> Callable[[object], Problems]:
    """A ``Field.check``: no placeholders (``no_placeholders``), then the ``ValueError`` text of
    ``compile_text(query)``."""
    refuse = no_placeholders(what)

    def check(value: object) -> Problems:
        if not isinstance(value, str):
            return []
        refused = refuse(value)
        if refused:
            return refused
        try:
            compile_text(value)
        except ValueError as exc:
            return [((), str(exc))]
        return []

    return check
