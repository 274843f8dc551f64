"""Where the gateway remembers which file owns each listen path, so that a newcomer never takes
a path over from the API that serves it (``streams.listenpaths`` decides; this module keeps).

Two places, read in this order:

* ``<definitions dir>/.listen-paths.json``: beside the definitions, so every host sharing the
  directory reads the same owners (a host started later agrees with the ones already serving).
  Written when the directory is writable; a read-only directory (a mounted ConfigMap) is fine.
* the host's state file (``HostState``, namespace ``LISTEN_PATH_OWNERS``): every worker of the
  host, and a worker restarted later, agrees even when the directory is read-only.

Either may be missing or unreadable: then the older file wins (``listenpaths.claim_order``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable

from streams.definitions import error_summary
from streams.engine.host import HostState
from streams.engine.logs import StreamLog

LISTEN_PATH_OWNERS = "_listen_path_owners"
"""The host-state cache holding, per listen path, the file name of the API that serves it."""

SHARED_FILE = ".listen-paths.json"
"""The owners file in the definitions directory (hidden, so it is never read as a definition)."""


class ListenPathOwners:
    """Reads and stores the owner (a file name in the definitions directory) of listen paths."""

    def __init__(self, definitions_dir: str, host: Callable[[], HostState], log: StreamLog) -> None:
        self.path = os.path.join(definitions_dir, SHARED_FILE)
        self._host = host
        self._log = log
        self._shared = self._read_shared()

    def _read_shared(self) -> dict[str, str]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            self._log.warning(f"{SHARED_FILE} not readable, ignored: {error_summary(exc)}")
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def owner(self, listen_path: str) -> str | None:
        """The file that owned ``listen_path`` before, or None when none is known."""
        shared = self._shared.get(listen_path)
        if shared:
            return shared
        try:
            stored = self._host().cache_get(LISTEN_PATH_OWNERS, listen_path)
        except Exception as exc:  # noqa: BLE001 - without the state file, the older file wins
            self._log.warning(f"listen path owners not readable, deciding by file age: {error_summary(exc)}")
            return None
        return stored.decode() if stored else None

    def store(self, owners: dict[str, str]) -> None:
        """Remember ``owners`` (listen path -> file name) in both places, best effort."""
        for listen_path, file in owners.items():
            try:
                if self._host().cache_get(LISTEN_PATH_OWNERS, listen_path) != file.encode():
                    self._host().cache_set(LISTEN_PATH_OWNERS, listen_path, file.encode())
            except Exception as exc:  # noqa: BLE001 - the API serves anyway
                self._log.warning(f"listen path owner not stored: {error_summary(exc)}", listen_path=listen_path)
        merged = {**self._shared, **owners}
        if merged == self._shared:
            return
        directory = os.path.dirname(self.path)
        try:
            # Atomic: every writer writes the same decision; a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(prefix=SHARED_FILE, dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(merged, fh, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError:
            return  # a read-only definitions directory: the host state is enough on this host
        self._shared = merged
