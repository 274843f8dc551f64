"""Helpers shared by the Bloblang unit tests that compare against Benthos itself.

``assert_matches_benthos`` runs one mapping through our implementation and the Go reference
(built by tests/bloblang_ref/build.sh; the test skips when it is missing) and compares everything
but metadata. One reference process serves the whole run. ``run_mapping`` gives the ``(output, error)`` pair the tables
of expected Benthos results are written in.
"""

from __future__ import annotations

import atexit
from typing import Any

import pytest

from streams import bloblang
from tests.differential.ref import REF_BINARY, RefEvaluator, run_ours

_reference: RefEvaluator | None = None


def _benthos() -> RefEvaluator:
    global _reference
    if not REF_BINARY.exists():
        pytest.skip("the Benthos reference is not built (tests/bloblang_ref/build.sh)")
    if _reference is None:
        _reference = RefEvaluator()
        atexit.register(_reference.close)
    return _reference


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "metadata"}


def assert_matches_benthos(mapping: str, content: str) -> None:
    """Same parse errors (with positions), same execution errors, same bytes out."""
    theirs = _outcome(_benthos().run(mapping, content.encode()))
    ours = _outcome(run_ours(mapping, content.encode()))
    assert ours == theirs


def run_mapping(mapping: str, payload: str) -> tuple[str | None, str | None]:
    """``(output, None)`` on success, ``(None, error text)`` otherwise; parse errors are
    prefixed ``PARSE: ``."""
    try:
        m = bloblang.parse(mapping)
    except bloblang.ParseError as exc:
        return None, f"PARSE: {exc}"
    try:
        res = m.apply(payload.encode())
    except bloblang.MappingError as exc:
        return None, str(exc)
    assert res is not None
    return res.content.decode(), None
