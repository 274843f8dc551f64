"""``switch`` scanner: the first case whose ``re_match_name`` finds a match in the source's name
(or that has no ``re_match_name``, a catch-all) reads the source with its ``scanner`` (Bento
``internal/impl/pure/scanner_switch.go``). A source no case takes fails.

What a source's name is depends on the input; the ``http_client`` input names a response by the
path of the URL it requested (``/exports/day.csv.gz``), so cases can pick a scanner by extension.
"""

from __future__ import annotations

import re
from typing import Any

from streams.registry import Field
from streams.scanners.base import ScanConfigError, ScanError, Scanner, ScannerMaker, spec


def build(conf: Any) -> ScannerMaker:
    cases: list[tuple[re.Pattern[str] | None, ScannerMaker]] = []
    for i, case in enumerate(conf):
        pattern = case.get("re_match_name")
        try:
            compiled = re.compile(str(pattern)) if pattern is not None else None
        except re.error as exc:
            raise ScanConfigError((i, "re_match_name"), f"invalid regular expression: {exc}") from exc
        cases.append((compiled, case["scanner"]))

    def make(name: str) -> Scanner:
        for pattern, maker in cases:
            if pattern is None or pattern.search(name):
                return maker(name)
        raise ScanError(f"source details did not match against any scanners (source {name!r})")

    return make


SPEC = spec(
    "switch",
    build,
    Field("re_match_name", "string", None, "Pattern searched for in the source's name."),
    Field("scanner", "scanner", doc="The scanner of a source this case takes."),
    list_of=True,
    doc="Choose a scanner by the source's name.",
)
