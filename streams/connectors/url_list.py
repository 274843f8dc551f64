"""The ``urls`` check every broker connector shares: its own parser decides, the validator reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.contracts import ConfigError

Problems = list[tuple[tuple[str | int, ...], str]]


def url_list_check(parse: Callable[[Any, str], object]) -> Callable[[Any], Problems]:
    """A ``Field`` check for a ``urls`` list: the message ``parse`` raises for the first bad URL,
    so load-time validation and connecting refuse the same URLs with the same words."""

    def url_problems(urls: Any) -> Problems:
        try:
            parse(urls, "urls")
        except ConfigError as exc:
            return [((), str(exc).removeprefix("urls: "))]
        return []

    return url_problems
