"""State shared by every worker process of one host, so that the host behaves as one gateway
(DESIGN §10): which worker runs an input that must run once per host (``HostLease``), and how far
such an input got (``progress``).

Leases are ``flock`` locks on files under ``<data_dir>/host/``: the kernel releases a lock the
moment its process dies, however it died, so another worker can take the input over at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re


def _safe_name(name: str) -> str:
    """A file name for ``name``: readable where it can be, unique by its hash."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"


class HostLease:
    """An exclusive, non-blocking claim on ``name`` among the processes of this host."""

    def __init__(self, directory: str, name: str) -> None:
        self.name = name
        self.path = os.path.join(directory, _safe_name(name) + ".lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lease if no other process holds it; never blocks."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def gateway_run_id() -> str:
    """Names this run of the gateway: the same in every worker of one gunicorn master (and in
    the workers it forks to replace dead ones), new when the gateway restarts. The master's pid
    with its start time (a pid alone may be reused)."""
    ppid = os.getppid()
    try:
        with open(f"/proc/{ppid}/stat") as f:
            started = f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "0"
    return f"{ppid}.{started}"


class HostState:
    """Per-host shared state under ``<data_dir>/host/``."""

    def __init__(self, data_dir: str) -> None:
        self.directory = os.path.join(data_dir, "host")
        os.makedirs(self.directory, exist_ok=True)
        self.run_id = gateway_run_id()

    def lease(self, name: str) -> HostLease:
        return HostLease(self.directory, name)

    def progress(self, name: str) -> int:
        """The last value ``set_progress`` stored for ``name`` on this host (0 when none)."""
        try:
            with open(os.path.join(self.directory, _safe_name(name) + ".progress")) as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def set_progress(self, name: str, value: int) -> None:
        """Store ``value`` for ``name`` atomically (write a temporary file, then rename)."""
        path = os.path.join(self.directory, _safe_name(name) + ".progress")
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(str(int(value)))
        os.replace(tmp, path)

    def close(self) -> None:
        """Nothing to release yet (leases are released by their holders)."""
