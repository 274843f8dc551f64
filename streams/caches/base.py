"""What a cache resource offers the ``cache``, ``cached`` and ``dedupe`` processors, and its
errors, worded as Bento words them (``key already exists``, ``key does not exist``).

``ttl`` is in seconds; ``None`` means the cache's ``default_ttl``, 0 means no expiry.
"""

from __future__ import annotations


class CacheError(Exception):
    """A cache operation that failed; the text is what the flagged message carries."""


class KeyExists(CacheError):
    def __init__(self) -> None:
        super().__init__("key already exists")


class KeyNotFound(CacheError):
    def __init__(self) -> None:
        super().__init__("key does not exist")


class Cache:
    """A key/value store with per-key expiry."""

    def get(self, key: str) -> bytes:
        """The live value of ``key``; ``KeyNotFound`` when there is none."""
        raise NotImplementedError

    def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value``, replacing any entry."""
        raise NotImplementedError

    def add(self, key: str, value: bytes, ttl: float | None = None) -> None:
        """Store ``value`` unless a live entry exists (``KeyExists``)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens when it is not there."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the cache holds."""
