"""The keys every process knows, folded from the keys log in log order; no I/O.

Each record of the log is ``key_hash -> session document`` (JSON) or ``key_hash -> empty``
(deleted). Every process folds the same log, so every worker and host ends with the same table.
A process that wrote a record applies it at once (``apply`` with the record's offset); the same
record read back later, or an older one arriving late, changes nothing (``seen``).
"""

from __future__ import annotations

import json
import logging

from streams.auth.sessions import KeySession, SessionInvalid, read_session

log = logging.getLogger("streams.auth")


def encode(session: KeySession | None) -> bytes:
    """A log record's value: the session document, or empty for a deleted key."""
    if session is None:
        return b""
    return json.dumps(session.document, separators=(",", ":"), sort_keys=True).encode()


def decode(value: bytes | None) -> KeySession | None:
    """The session a record holds (None: deleted); ``SessionInvalid`` on a foreign record."""
    if not value:
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        raise SessionInvalid("not JSON") from None
    return read_session(doc)


class KeyTable:
    """Sessions by key hash, and how far into the log the fold has read."""

    def __init__(self) -> None:
        self._sessions: dict[str, KeySession] = {}
        self._applied: dict[str, int] = {}  # key hash -> offset of the record in force
        self.read_to = 0
        """The next log offset the fold has not seen."""

    def get(self, key_hash: str) -> KeySession | None:
        return self._sessions.get(key_hash)

    def hashes(self) -> list[str]:
        return sorted(self._sessions)

    def apply(self, key_hash: str, session: KeySession | None, offset: int) -> bool:
        """Fold one record; False when a record at or after ``offset`` was already applied for
        this key (its own write read back, or a stale one)."""
        if self._applied.get(key_hash, -1) >= offset:
            return False
        self._applied[key_hash] = offset
        if session is None:
            self._sessions.pop(key_hash, None)
        else:
            self._sessions[key_hash] = session
        return True

    def apply_record(self, key: bytes | None, value: bytes | None, offset: int) -> None:
        """Fold a record as read from the log (a record without a key, or not understood, is
        skipped with a warning)."""
        self.read_to = max(self.read_to, offset + 1)
        if not key:
            log.warning("keys log: record at %d has no key, skipped", offset)
            return
        try:
            session = decode(value)
        except SessionInvalid as exc:
            log.warning("keys log: record at %d not understood (%s), skipped", offset, exc)
            return
        self.apply(key.decode("ascii", "replace"), session, offset)
