"""The pause before an input gives a failed message back to its broker (nack, modified)."""

from __future__ import annotations

PAUSE_MAX = 5.0


class FailurePause:
    """How long to wait before giving a failed message back: doubles per consecutive failure,
    starts again after a success (no I/O: the input sleeps for it)."""

    def __init__(self, first: float = 0.1, most: float = PAUSE_MAX) -> None:
        self.first = first
        self.most = most
        self.next = first

    def failed(self) -> float:
        pause = self.next
        self.next = min(self.next * 2, self.most)
        return pause

    def succeeded(self) -> None:
        self.next = self.first
