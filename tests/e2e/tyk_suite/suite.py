"""What every module of the Tyk suite shares: its definition files, a gateway serving them, lint.

The suite replays the stream tests of the Tyk Gateway against this gateway from outside: each
Tyk test's definition is a data file in ``definitions/`` (Tyk's ``setUpStreamAPI`` turned into a
whole OAS document: keyless, listen path ``/<api>/``), served by a real ``gunicorn -w 2``
(``tests.e2e.server``) and driven with the real clients of ``tests.e2e.clients``. A definition may
hold ``${NAME}`` markers (a broker address, a topic unique to the run) filled in when it is laid
out, so a rerun against the same broker never reads an earlier run's records.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.server import ROOT, Gunicorn, serve_definitions

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
WORKERS = 2
"""Tyk runs one gateway process; two workers make sure nothing depends on landing on one."""


def definition_text(name: str, **values: str) -> str:
    """The data file ``definitions/<name>`` with its ``${KEY}`` markers replaced by ``values``."""
    text = (DEFINITIONS / name).read_text()
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    assert "${" not in text.replace("${!", ""), f"{name}: a marker was left unfilled"
    return text


def serve(tmp: Path, names: list[str], env: dict[str, str] | None = None, **values: str) -> Gunicorn:
    """A ``gunicorn wsgi:app -w 2`` whose definitions directory holds exactly ``names``."""
    return serve_definitions(tmp, {name: definition_text(name, **values) for name in names}, workers=WORKERS, env=env)


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """``python -m streams lint PATH...`` as a user runs it (exit 1 and one line per problem)."""
    return subprocess.run(
        [sys.executable, "-m", "streams", "lint", *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
