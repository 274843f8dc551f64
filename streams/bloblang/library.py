"""Imports every ``lib_*.py`` module so their functions and methods are registered.

Modules are discovered by name so a library module added by another author is picked up
without editing this file; a module that fails to import is reported once on stderr and
skipped, so one broken module cannot take the whole language down.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

_LOADED = False


def load() -> None:
    """Register the whole library (idempotent)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import streams.bloblang as pkg

    importlib.import_module("streams.bloblang.lib_core")
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("lib_") and info.name != "lib_core":
            try:
                importlib.import_module(f"streams.bloblang.{info.name}")
            except Exception as exc:  # noqa: BLE001 - report and keep the rest usable
                print(f"streams.bloblang: library module {info.name} failed to load: {exc!r}", file=sys.stderr)
