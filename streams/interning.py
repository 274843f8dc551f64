"""One object for equal immutable config values that many stream instances build alike.

PERF: a stream whose config names the user (``$tyk_context``) gets an instance per user, and
each instance parses its components' blocks again; a ``kafka`` input's security settings and
group timeouts came to about 550 bytes per user, all equal. Values built through an ``Interner``
are shared instead; it holds at most ``limit`` of them (then starts over), so a value that does
differ per user (a password from the request) cannot make it grow without bound.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class Interner(Generic[T]):
    """``interner(value)`` is the first value equal to ``value`` it was given, else ``value``."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._values: dict[T, T] = {}

    def __call__(self, value: T) -> T:
        found = self._values.get(value)
        if found is not None:
            return found
        if len(self._values) >= self.limit:
            self._values.clear()
        self._values[value] = value
        return value

    def __len__(self) -> int:
        return len(self._values)
