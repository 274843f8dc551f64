"""Noticing that the definitions directory changed, without a signal.

Every worker (and every host) sharing a definitions directory must apply what an operator or the
management API of another worker wrote there. Each worker therefore looks at the directory every
``STREAMS_WATCH_INTERVAL`` seconds and reloads when what it sees differs from what it saw.

What it sees (``snapshot``) is, per definition file, the name and the identity of the file it
resolves to (device, inode, size, modification time): ``stat`` follows symbolic links, so a
Kubernetes ConfigMap update (a new ``..data`` directory swapped in behind the same names) and a
``cp`` over a file both show. Hidden names (``.listen-paths.json``, ``..data``) are not
definitions and are skipped, as the loader skips them. A spurious difference costs one reload
that keeps everything (``streams.engine.reload_plan`` compares contents).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import gevent

from streams.definitions import EXTENSIONS
from streams.engine.logs import StreamLog

Snapshot = frozenset[tuple[str, int, int, int, int]]

log = StreamLog(component="watch")


def snapshot(directory: str) -> Snapshot | None:
    """What the directory's definition files are right now; None when it cannot be listed."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    seen = []
    for name in names:
        if name.startswith(".") or not name.endswith(EXTENSIONS):
            continue
        try:
            st = os.stat(os.path.join(directory, name))
        except OSError:
            continue  # vanished, or a dangling link mid-swap: the next look sees the outcome
        seen.append((name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return frozenset(seen)


class DirectoryWatcher:
    """A greenlet that calls ``on_change`` when the directory's snapshot changes.

    ``seen`` records the current snapshot; whoever reloads calls it first, so a reload made for
    another reason (the management API, ``/tyk/reload``) is not repeated by the watcher.
    """

    def __init__(self, directory: str, interval: float, on_change: Callable[[], object]) -> None:
        self.directory = directory
        self.interval = interval
        self.on_change = on_change
        self._last: Snapshot | None = None
        self._greenlet: gevent.Greenlet | None = None

    def seen(self) -> None:
        self._last = snapshot(self.directory)

    def changed(self) -> bool:
        """Whether the directory differs from the last snapshot (and remember the new one)."""
        now = snapshot(self.directory)
        if now is None or now == self._last:
            return False
        self._last = now
        return True

    def start(self) -> None:
        if self.interval > 0 and self._greenlet is None:
            if self._last is None:
                self.seen()
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _run(self) -> None:
        while True:
            gevent.sleep(self.interval)
            try:
                if self.changed():
                    log.info("definitions directory changed: reloading", directory=self.directory)
                    self.on_change()
            except Exception as exc:  # noqa: BLE001 - the watch goes on; the next change retries
                log.exception(f"reload after a directory change failed: {exc}", directory=self.directory)
