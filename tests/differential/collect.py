"""Survey of discrepancies: run many generated examples without stopping at the first difference,
group the differences and print the shortest examples of each group.

    python -m tests.differential.collect [--examples 3000] [--seed 0] [--per-group 3]

The pytest test stops at the first difference (and shrinks it); this is for triage, when one wants
the list of distinct bugs at once. Known differences of the test file are left out.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.differential.gen import (
    corpus_cases,
    corpus_examples,
    library_calls,
    mappings,
    messages,
)
from tests.differential.ref import RefEvaluator, run_ours
from tests.differential.test_bloblang_differential import KNOWN_DIFFERENCES


def kind(outcome: dict[str, Any]) -> str:
    return next(iter(outcome))


def signature(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    k_ours, k_theirs = kind(ours), kind(theirs)
    if k_ours != k_theirs:
        detail = theirs.get(k_theirs) if k_theirs != "content" else ours.get(k_ours)
        return f"{k_ours} vs {k_theirs}: {_coarse(str(detail))}"
    if k_ours in ("parse_error", "exec_error") and _unpositioned(ours[k_ours]) == _unpositioned(theirs[k_theirs]):
        return f"{k_ours}: same text, different line/column"
    if k_ours == "content":
        what = "payload" if ours["content"] != theirs["content"] else "metadata"
        return f"content: {what} differs"
    return f"{k_ours} text: {_coarse(str(theirs[k_theirs]))}"


def _unpositioned(text: str) -> str:
    return re.sub(r"^failed assignment \(line \d+\)|^line \d+ char \d+", "", text)


def _coarse(text: str) -> str:
    text = re.sub(r"^failed assignment \(line \d+\): ", "", text)
    text = re.sub(r"^line \d+ char \d+: ", "", text)
    text = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|\d+", "_", text)
    return text[:70]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-group", type=int, default=3)
    parser.add_argument("--library", action="store_true", help="survey the registry-driven calls instead")
    parser.add_argument("--corpus", action="store_true", help="survey corpus mappings on other messages instead")
    parser.add_argument("--dump", help="also write every discrepancy to this file, one JSON object a line")
    args = parser.parse_args()

    ref = RefEvaluator()
    groups: dict[str, list[tuple[str, bytes, dict[str, str], dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    total = [0, 0]

    if args.corpus:
        examples = corpus_examples(corpus_cases())
    else:
        examples = st.tuples(library_calls() if args.library else mappings(), messages()).map(
            lambda pair: (pair[0], *pair[1])
        )

    @seed(args.seed)
    @settings(
        max_examples=args.examples,
        deadline=None,
        derandomize=args.seed == 0,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(examples)
    def survey(example: tuple[str, bytes, dict[str, str]]) -> None:
        mapping, content, metadata = example
        theirs = ref.run(mapping, content, metadata)
        ours = run_ours(mapping, content, metadata)
        total[0] += 1
        if ours == theirs or any(p(mapping, content, ours, theirs) for _, p, _ in KNOWN_DIFFERENCES):
            return
        total[1] += 1
        groups[signature(ours, theirs)].append((mapping, content, metadata, ours, theirs))

    try:
        survey()
    finally:
        ref.close()

    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for sig, cases in groups.items():
                for mapping, content, metadata, ours, theirs in cases:
                    row = {"group": sig, "mapping": mapping, "input": content.decode("utf-8", "replace"),
                           "metadata": metadata, "ours": _short(ours), "benthos": _short(theirs)}
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{total[0]} examples, {total[1]} differ, {len(groups)} groups\n")
    for sig, cases in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"=== [{len(cases)}] {sig}")
        seen = set()
        for mapping, content, metadata, ours, theirs in sorted(cases, key=lambda c: len(c[0]) + len(c[1])):
            if mapping in seen:
                continue
            seen.add(mapping)
            print(f"  mapping:  {mapping!r}\n  input:    {content[:200]!r}  metadata={metadata!r}")
            print(f"  ours:     {_short(ours)}\n  benthos:  {_short(theirs)}\n")
            if len(seen) >= args.per_group:
                break
    return 0


def _short(outcome: dict[str, Any]) -> str:
    if "content" in outcome:
        return f"content={outcome['content'][:300]!r} metadata={outcome['metadata']!r}"[:600]
    return repr(outcome)[:400]


if __name__ == "__main__":
    raise SystemExit(main())
