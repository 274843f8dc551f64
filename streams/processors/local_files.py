"""Files a processor config may name (a JSON schema, grok pattern files), kept inside the
definitions directory.

Bento reads such paths from the whole filesystem. A gateway serves definitions written through
its management API and substituted from requests, so a path there must not reach the host's
other files (``/etc/shadow`` as a pattern file would echo its lines in error texts): relative
paths resolve against the definitions directory and a path that ends up outside it, by ``..``,
an absolute path or a symbolic link, is refused when the stream is built.
"""

from __future__ import annotations

import os

from streams.contracts import ConfigError


def inside(root: str, path: str, where: str) -> str:
    """The real path of ``path`` (relative to ``root``), or ``ConfigError`` when it leaves ``root``."""
    base = os.path.realpath(root)
    real = os.path.realpath(path if os.path.isabs(path) else os.path.join(base, path))
    if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
        raise ConfigError(f"{where}: {path} is outside the definitions directory {base}")
    return real


def read_text(root: str, path: str, where: str) -> str:
    """The UTF-8 text of a file inside ``root``; ``ConfigError`` when it is outside or unreadable."""
    real = inside(root, path, where)
    try:
        with open(real, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
