"""The Bloblang runtime library: every ``lib_*.py`` table, merged into the ``FUNCTIONS`` and
``METHODS`` the parser resolves names in.

This is the one list of library modules. A module that fails to import fails the import of
the package (a missing method must not turn into an "unrecognised method" parse error far
from its cause), and a name declared by two modules is an error.
"""

from __future__ import annotations

from streams.bloblang import (
    lib_coercion,
    lib_core,
    lib_encoding,
    lib_ids,
    lib_numbers,
    lib_parsing,
    lib_regex,
    lib_strings,
    lib_structured,
    lib_time,
)
from streams.bloblang.registry import Library, merge

LIBRARIES: tuple[Library, ...] = (
    lib_core.LIBRARY,
    lib_coercion.LIBRARY,
    lib_encoding.LIBRARY,
    lib_ids.LIBRARY,
    lib_numbers.LIBRARY,
    lib_parsing.LIBRARY,
    lib_regex.LIBRARY,
    lib_strings.LIBRARY,
    lib_structured.LIBRARY,
    lib_time.LIBRARY,
)

FUNCTIONS, METHODS = merge(LIBRARIES)
