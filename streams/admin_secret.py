"""The management secret a gateway makes for itself when none is configured (DESIGN §11).

Without ``STREAMS_SECRET`` / ``STREAMS_SECRET_FILE`` the management API and the console still
need a secret, and every worker of the host must accept the same one. The first process to ask
writes a random secret to ``<STREAMS_DATA_DIR>/management-secret`` (mode 0600) and every other
process reads it there; the file appears complete or not at all (written aside, then ``link``ed,
which never overwrites), so two processes racing at start agree on one value. It stays for later
runs of the gateway, as a bookmarked console URL keeps working after a restart; deleting the file
makes a new one at the next start.

The gunicorn master asks first (``gunicorn.conf.py``, before any worker exists) and logs the
console URL with the secret in its fragment once, as Jupyter logs its token; a fragment never
reaches a server's access log.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass

SECRET_FILE = "management-secret"
CONSOLE_PATH = "/tyk/console/"


@dataclass(frozen=True)
class HostSecret:
    """The secret and whether this call made it (only the maker announces it)."""

    value: str
    created: bool


def secret_path(data_dir: str) -> str:
    return os.path.join(os.path.abspath(data_dir), SECRET_FILE)


def ensure_secret(data_dir: str) -> HostSecret:
    """The host's generated secret, made now when the data directory holds none yet.

    Raises ``OSError`` when the directory cannot be written or the file read."""
    path = secret_path(data_dir)
    existing = _read(path)
    if existing:
        return HostSecret(existing, created=False)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".management-secret-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
            created = True
        except FileExistsError:  # another process of the host was first: its secret counts
            created = False
    finally:
        os.unlink(tmp)
    value = _read(path)
    if not value:
        raise OSError(f"{path} is empty")
    return HostSecret(value, created)


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except FileNotFoundError:
        return ""


def console_url(bind: str, secret: str | None = None) -> str:
    """Where a browser on this host finds the console; with ``secret`` the page signs itself in
    from the URL fragment (``#secret=...``). An any-address bind is shown as loopback."""
    if bind.startswith(("unix:", "fd://")):
        return CONSOLE_PATH + (f"#secret={secret}" if secret else "")
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{port}{CONSOLE_PATH}"
    return f"{url}#secret={secret}" if secret else url
