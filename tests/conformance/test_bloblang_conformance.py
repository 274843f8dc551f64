"""Conformance of the Bloblang implementation against the shared corpus (803 cases taken from
Benthos's own specs and tests; see ``shared/conformance/bloblang/README.md``).

Every case runs in its ``eval`` mode. Cases listed in ``bloblang_xfail.txt`` (``id<TAB>reason``)
are expected to fail: they are reported when they pass (so the list can shrink) but only an
unexpected failure fails the suite. Nondeterministic cases are skipped with their reason.
Stateful cases (``counter()``, ``count()``) of one example run in ``io_index`` order against one
parsed mapping, as upstream does.

``python tests/conformance/test_bloblang_conformance.py`` prints the pass rate and the failures
grouped by the method or function they involve (``--write-xfail`` rewrites the list).
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from streams import bloblang
from streams.bloblang.values import JsonFloat
from streams.message import Message

CORPUS = Path(os.environ.get("BLOBLANG_CORPUS", "/work/shared/conformance/bloblang/examples.jsonl"))
XFAIL_FILE = Path(__file__).with_name("bloblang_xfail.txt")


def load_cases() -> list[dict]:
    if not CORPUS.exists():
        return []
    with CORPUS.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_xfail() -> dict[str, str]:
    out: dict[str, str] = {}
    if XFAIL_FILE.exists():
        for line in XFAIL_FILE.read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            cid, _, reason = line.partition("\t")
            out[cid] = reason
    return out


# ---------------------------------------------------------------------------------------------
# Building inputs


def _from_bytes_marker(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"$bytes"}:
            return v["$bytes"].encode()
        return {k: _from_bytes_marker(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_bytes_marker(x) for x in v]
    return v


def build_batch(case: dict) -> tuple[list[Message], int]:
    index = case.get("index", 0) or 0
    if case.get("batch"):
        batch = []
        for entry in case["batch"]:
            m = Message((entry.get("content") or "").encode(), entry.get("metadata"))
            if entry.get("error"):
                m.error = entry["error"]
            batch.append(m)
    else:
        content = case.get("input")
        m = Message((content or "").encode(), case.get("metadata"))
        batch = [m]
        if "batch" in case and not case["batch"] and content is None:
            batch = [m]
    for k, err in (case.get("message_errors") or {}).items():
        i = int(k)
        if i < len(batch):
            batch[i].error = err
    return batch, index


def same_value(a: Any, b: Any) -> bool:
    """Structural equality keeping bool/int/float apart (Go's typed comparison)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, JsonFloat):
        a = float(a)
    if isinstance(b, JsonFloat):
        b = float(b)
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, float) and isinstance(b, float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, (bytes, str)) and isinstance(b, (bytes, str)):
        return type(a) is type(b) and a == b
    return type(a) is type(b) and a == b


def loose_value(a: Any, b: Any) -> bool:
    """Doc cases: structural equality where numbers compare by value."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(loose_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(loose_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _error_matches(case: dict, text: str) -> bool:
    exp = case["error"]
    if case.get("error_match") == "contains":
        return exp in text
    return text == exp


# ---------------------------------------------------------------------------------------------
# Running one case: returns None on success, else a description of the mismatch.


def run_case(case: dict, mapping: Any = None) -> str | None:
    mode = case["eval"]
    src = case["mapping"]
    try:
        return _MODES[mode](case, src, mapping)
    except RecursionError:
        return "RecursionError"


def _parse(src: str) -> Any:
    return bloblang.parse(src, allow_impure=True)


def _mode_mapping(case: dict, src: str, mapping: Any) -> str | None:
    try:
        m = mapping or _parse(src)
    except bloblang.ParseError as exc:
        return f"parse error: {exc}"
    batch, index = build_batch(case)
    try:
        out = m.apply_message(batch[index], batch, index)
    except bloblang.MappingError as exc:
        if "error" in case:
            return None if _error_matches(case, str(exc)) else f"error {str(exc)!r} != {case['error']!r}"
        return f"unexpected error: {exc}"
    if "error" in case:
        return f"expected error {case['error']!r}, got output {out.content if out else None!r}"
    if case.get("deleted") or case.get("output") == "<Message deleted>":
        return None if out is None else f"expected deletion, got {out.content!r}"
    if out is None:
        return "message deleted unexpectedly"
    got = out.content
    want = case["output"].encode()
    if case["kind"] == "doc":
        if got != want:
            try:
                if not loose_value(json.loads(got), json.loads(want)):
                    return f"output {got!r} != {want!r}"
            except ValueError:
                return f"output {got!r} != {want!r}"
    elif got != want:
        return f"output {got!r} != {want!r}"
    if "output_metadata" in case:
        exp_meta = _from_bytes_marker(case["output_metadata"])
        if not loose_value(out.metadata, exp_meta):
            return f"metadata {out.metadata!r} != {exp_meta!r}"
    return None


def _query_this(case: dict) -> Any:
    if "this_value" in case:
        return _from_bytes_marker(case["this_value"])
    from streams.bloblang import runtime

    return runtime._UNSET


def _run_query(case: dict, src: str, as_string: bool) -> tuple[Any, str | None]:
    """The query's result (text or value) for the case's batch, or the failure to report."""
    try:
        q = bloblang.parse_query(src, allow_impure=True)
    except bloblang.ParseError as exc:
        return None, f"parse error: {exc}"
    batch, index = build_batch(case)
    execute = q.execute_to_string if as_string else q.execute
    try:
        return execute(batch, index, _query_this(case)), None
    except bloblang.MappingError as exc:
        return None, f"unexpected error: {exc}"


def _mode_query(case: dict, src: str, mapping: Any) -> str | None:
    got, failure = _run_query(case, src, as_string=True)
    if failure is not None:
        return failure
    return None if got == case["output"] else f"output {got!r} != {case['output']!r}"


def _mode_query_value(case: dict, src: str, mapping: Any) -> str | None:
    got, failure = _run_query(case, src, as_string=False)
    if failure is not None:
        return failure
    want = _from_bytes_marker(case["output_value"])
    return None if same_value(got, want) else f"value {got!r} != {want!r}"


def _mode_query_error(case: dict, src: str, mapping: Any) -> str | None:
    try:
        q = bloblang.parse_query(src, allow_impure=True)
    except bloblang.ParseError as exc:
        return f"parse error: {exc}"
    batch, index = build_batch(case)
    try:
        got = q.execute(batch, index, _query_this(case))
    except bloblang.MappingError as exc:
        return None if _error_matches(case, str(exc)) else f"error {str(exc)!r} != {case['error']!r}"
    return f"expected error, got {got!r}"


def _mode_query_parse_error(case: dict, src: str, mapping: Any) -> str | None:
    from streams.bloblang.parser import parse_query_error_plain

    plain = "no position prefix" in (case.get("notes") or "")
    if plain:
        text = parse_query_error_plain(src)
        if text is None:
            return "parsed without error"
    else:
        try:
            bloblang.parse_query(src, allow_impure=True)
        except bloblang.ParseError as exc:
            text = str(exc)
        else:
            return "parsed without error"
    return None if _error_matches(case, text) else f"error {text!r} != {case['error']!r}"


def _mode_query_parse_remaining(case: dict, src: str, mapping: Any) -> str | None:
    try:
        q = bloblang.parse_query(src, allow_impure=True)
    except bloblang.ParseError as exc:
        return f"parse error: {exc}"
    return None if q.remaining == case["output"] else f"remaining {q.remaining!r} != {case['output']!r}"


def _mode_interpolation(case: dict, src: str, mapping: Any) -> str | None:
    try:
        it = bloblang.parse_interpolation(src)
    except bloblang.ParseError as exc:
        return f"parse error: {exc}"
    batch, index = build_batch(case)
    try:
        got = it.render(batch[index] if batch else None, batch, index)
    except bloblang.MappingError as exc:
        return f"unexpected error: {exc}"
    return None if got == case["output"] else f"output {got!r} != {case['output']!r}"


def _mode_interpolation_parse_error(case: dict, src: str, mapping: Any) -> str | None:
    try:
        bloblang.parse_interpolation(src)
    except bloblang.ParseError as exc:
        return None if _error_matches(case, str(exc)) else f"error {str(exc)!r} != {case['error']!r}"
    return "parsed without error"


def _mode_parse_error(case: dict, src: str, mapping: Any) -> str | None:
    try:
        _parse(src)
    except bloblang.ParseError as exc:
        text = str(exc)
        if not _error_matches(case, text):
            return f"error {text!r} != {case['error']!r}"
        if "error_line" in case and (exc.line, exc.column) != (case["error_line"], case["error_column"]):
            return f"position {(exc.line, exc.column)} != {(case['error_line'], case['error_column'])}"
        return None
    return "parsed without error"


def _mode_value(case: dict, src: str, mapping: Any) -> str | None:
    try:
        m = mapping or _parse(src)
    except bloblang.ParseError as exc:
        if "error" in case:
            return None if _error_matches(case, str(exc)) else f"parse error {exc}"
        return f"parse error: {exc}"
    value = _from_bytes_marker(case.get("input_value"))
    try:
        if case["source"].endswith("internal/bloblang/package_test.go"):
            # These upstream tests map a message part set from a structured value.
            out = m.apply_message(Message.from_value(value))
            got = None if out is None else _as_structured(out)
        elif case["eval"] == "overlay":
            got = m.query_value(value, overlay=_from_bytes_marker(case.get("overlay_value")))
        else:
            got = m.query_value(value)
    except bloblang.MappingError as exc:
        if "error" in case:
            return None if _error_matches(case, str(exc)) else f"error {str(exc)!r} != {case['error']!r}"
        return f"unexpected error: {exc}"
    if "error" in case:
        return f"expected error {case['error']!r}, got {got!r}"
    want = _from_bytes_marker(case.get("output_value"))
    return None if same_value(_plain(got), want) else f"value {got!r} != {want!r}"


def _as_structured(msg: Message) -> Any:
    if msg.has_value:
        return msg.value
    try:
        return msg.value
    except ValueError:
        return msg.content.decode("utf-8", "replace")


def _plain(v: Any) -> Any:
    """Timestamps and other runtime-only values as the Go test would see them."""
    from streams.bloblang.values import Timestamp, to_string

    if isinstance(v, Timestamp):
        return to_string(v)
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


_MODES = {
    "mapping": _mode_mapping,
    "query": _mode_query,
    "query_value": _mode_query_value,
    "query_error": _mode_query_error,
    "query_parse_error": _mode_query_parse_error,
    "query_parse_remaining": _mode_query_parse_remaining,
    "interpolation": _mode_interpolation,
    "interpolation_parse_error": _mode_interpolation_parse_error,
    "parse_error": _mode_parse_error,
    "value": _mode_value,
    "overlay": _mode_value,
}


def _group_key(case: dict) -> tuple | None:
    if "io_index" not in case:
        return None
    return (case["name"], case["source"], case["line"], case.get("example_index"), case["mapping"])


def run_all(cases: list[dict]) -> dict[str, str | None]:
    """Run every case; stateful example groups share one parsed mapping in io_index order."""
    results: dict[str, str | None] = {}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for c in cases:
        key = _group_key(c)
        if key is not None and c["eval"] == "mapping":
            groups[key].append(c)
        else:
            results[c["id"]] = run_case(c)
    for key, members in groups.items():
        members.sort(key=lambda c: c["io_index"])
        try:
            shared = _parse(members[0]["mapping"])
        except bloblang.ParseError:
            shared = None
        for c in members:
            results[c["id"]] = run_case(c, shared)
    return results


_CASES = load_cases()
_XFAIL = load_xfail()
_RESULTS: dict[str, str | None] | None = None


def _results() -> dict[str, str | None]:
    global _RESULTS
    if _RESULTS is None:
        _RESULTS = run_all(_CASES)
    return _RESULTS


# Reasons a corpus case cannot be reproduced outside Benthos itself. The other "nondeterministic"
# cases are stateful (counter(), count()) or touch the file system: run_all plays the stateful
# ones in io_index order against one parsed mapping, so they are asserted like the rest.
_UNREPRODUCIBLE = ("compress", "tracing_span")


def not_reproducible(case: dict) -> bool:
    reasons = " ".join(case.get("nondeterministic_reasons", []))
    return any(word in reasons for word in _UNREPRODUCIBLE)


@pytest.mark.skipif(not _CASES, reason="conformance corpus not found")
@pytest.mark.parametrize("case", _CASES, ids=[c["id"] for c in _CASES])
def test_case(case: dict) -> None:
    if not_reproducible(case):
        pytest.skip("nondeterministic: " + "; ".join(case.get("nondeterministic_reasons", [])))
    problem = _results()[case["id"]]
    if case["id"] in _XFAIL:
        if problem is None:
            pytest.xfail(f"UNEXPECTED PASS (remove from bloblang_xfail.txt): {case['id']}")
        pytest.xfail(_XFAIL[case["id"]])
    assert problem is None, problem


def _summary(write_xfail: bool) -> None:
    res = run_all(_CASES)
    det = [c for c in _CASES if not c.get("nondeterministic")]
    passed = [c for c in det if res[c["id"]] is None]
    print(f"deterministic: {len(passed)}/{len(det)} pass ({100 * len(passed) / max(1, len(det)):.1f}%)")
    nd = [c for c in _CASES if c.get("nondeterministic")]
    print(f"nondeterministic (skipped in pytest): {sum(1 for c in nd if res[c['id']] is None)}/{len(nd)} pass")
    by_mode: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in det:
        by_mode[c["eval"]][1] += 1
        if res[c["id"]] is None:
            by_mode[c["eval"]][0] += 1
    for mode, (p, t) in sorted(by_mode.items()):
        print(f"  {mode:28s} {p}/{t}")
    failing = [c for c in det if res[c["id"]] is not None]
    by_name: dict[str, list[dict]] = defaultdict(list)
    for c in failing:
        by_name[c["name"].split("/")[0] if c["kind"] == "parser" else c["name"]].append(c)
    for name, cs in sorted(by_name.items(), key=lambda kv: -len(kv[1])):
        print(f"\n== {name} ({len(cs)})")
        for c in cs[:6]:
            print(f"  {c['id']}: {res[c['id']]}"[:400])
    unexpected_pass = [cid for cid in _XFAIL if res.get(cid) is None]
    if unexpected_pass:
        print("\nunexpected passes:", ", ".join(unexpected_pass))
    if write_xfail:
        lines = ["# Bloblang conformance cases expected to fail: id<TAB>reason (see test_bloblang_conformance.py)"]
        for c in failing:
            reason = _XFAIL.get(c["id"]) or (res[c["id"]] or "").replace("\t", " ").replace("\n", " ")[:300]
            lines.append(f"{c['id']}\t{reason}")
        XFAIL_FILE.write_text("\n".join(lines) + "\n")
        print(f"\nwrote {len(failing)} entries to {XFAIL_FILE}")


if __name__ == "__main__":
    _summary("--write-xfail" in sys.argv)
