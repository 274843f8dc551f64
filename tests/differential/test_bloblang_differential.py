"""Differential test: our Bloblang against Benthos v4 (the Go reference in tests/bloblang_ref).

Each example is a mapping run on a message by ``streams.bloblang.parse(src).apply(content,
metadata)`` and by the reference, which handles the message as Benthos's ``mapping`` processor
does. The examples (tests/differential/gen.py) are: generated mappings over the language; calls
of every method and function of our registry with assorted targets and arguments; the
conformance corpus's mappings on messages they were not written for; and fixed cases (the seed's
mappings and every discrepancy found so far). They must agree on everything a user can see:
parse error or not (and its exact text), execution error or not (and its exact text), deleted or
not, the payload bytes, and the metadata (values with their types).

The reference binary is built by ``tests/bloblang_ref/build.sh`` (CI does it in tests/run.sh); a
missing binary fails the test unless ``STREAMS_SKIP_DIFFERENTIAL=1``. Runs are derandomized so CI
is stable; ``STREAMS_DIFFERENTIAL_EXAMPLES=5000`` runs more examples locally, and
``STREAMS_DIFFERENTIAL_SEED=<n>`` explores a different (still reproducible) part of the space.
``python -m tests.differential.collect`` lists every discrepancy of a long run, grouped.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings

from tests.differential import error_cases
from tests.differential.gen import (
    CORPUS,
    corpus_cases,
    corpus_examples,
    library_calls,
    mappings,
    messages,
)
from tests.differential.ref import REF_BINARY, RefEvaluator, run_ours

MAX_EXAMPLES = int(os.environ.get("STREAMS_DIFFERENTIAL_EXAMPLES", "300"))
SEED = int(os.environ.get("STREAMS_DIFFERENTIAL_SEED", "0"))

Outcome = dict[str, Any]


# Differences we accept, each with its reason. Keep this short: the point is to find bugs.
# A predicate gets (mapping, content, ours, reference) and returns True when the difference is
# the documented one.
def _reads_this_after_merge(mapping: str, content: bytes, ours: Outcome, theirs: Outcome) -> bool:
    head, sep, tail = mapping.partition(".merge(")
    return bool(sep) and "this" in tail


KNOWN_DIFFERENCES: list[tuple[str, Callable[[str, bytes, Outcome, Outcome], bool], str]] = [
    # (name, predicate, reason). Benthos quirks are matched wherever that is safe; these are not.
    (
        "merge aliases the input",
        _reads_this_after_merge,
        "Benthos's merge() writes into the nested objects of its target, so later reads of `this` "
        "see the merged keys (`[this.merge({\"obj\":{\"x\":1}}), this]` shows x twice). Our values "
        "are never mutated in place: messages fanned out to several outputs share them.",
    ),
]


@pytest.fixture(scope="module")
def ref() -> Any:
    if not REF_BINARY.exists():
        if os.environ.get("STREAMS_SKIP_DIFFERENTIAL") == "1":
            pytest.skip("STREAMS_SKIP_DIFFERENTIAL=1 and the Go reference is not built")
        pytest.fail(
            f"{REF_BINARY} is missing: build it with tests/bloblang_ref/build.sh "
            "(or set STREAMS_SKIP_DIFFERENTIAL=1 to skip the differential test)",
            pytrace=False,
        )
    evaluator = RefEvaluator()
    yield evaluator
    evaluator.close()


def _show(outcome: Outcome) -> str:
    if "content" in outcome:
        return f"content={outcome['content']!r} metadata={outcome['metadata']!r}"
    return repr(outcome)


def compare(ref: RefEvaluator, mapping: str, content: bytes, metadata: dict[str, str]) -> None:
    theirs = ref.run(mapping, content, metadata)
    ours = run_ours(mapping, content, metadata)
    if ours == theirs:
        return
    # NOTE: a mapping whose Benthos result varies between runs (Go's random map order shows
    # through some methods) has no single right answer: not a discrepancy.
    if any(ref.run(mapping, content, metadata) != theirs for _ in range(3)):
        return
    for name, applies, _reason in KNOWN_DIFFERENCES:
        if applies(mapping, content, ours, theirs):
            return
    pytest.fail(
        "Bloblang differs from Benthos\n"
        f"mapping:\n{mapping}\n"
        f"input:    {content!r}\n"
        f"metadata: {metadata!r}\n"
        f"ours:     {_show(ours)}\n"
        f"benthos:  {_show(theirs)}",
        pytrace=False,
    )


def differential(test):
    """The hypothesis settings every property test here shares: seeded and derandomized unless
    STREAMS_DIFFERENTIAL_SEED asks for another run, no example database, no deadline."""
    return seed(SEED)(
        settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=SEED == 0,
            database=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.function_scoped_fixture,
            ],
        )(test)
    )


@differential
@given(mapping=mappings(), message=messages())
def test_generated_mappings_match_benthos(ref: RefEvaluator, mapping: str, message: tuple[bytes, dict[str, str]]) -> None:
    content, metadata = message
    compare(ref, mapping, content, metadata)


@differential
@given(mapping=library_calls(), message=messages())
def test_library_calls_match_benthos(ref: RefEvaluator, mapping: str, message: tuple[bytes, dict[str, str]]) -> None:
    """Every registered method and function, called on assorted values with assorted arguments."""
    content, metadata = message
    compare(ref, mapping, content, metadata)


CORPUS_CASES = corpus_cases()


@pytest.mark.skipif(not CORPUS_CASES, reason=f"no conformance corpus at {CORPUS} (set BLOBLANG_CORPUS)")
@differential
@given(example=corpus_examples(CORPUS_CASES or [{"mapping": "root = this"}]))
def test_corpus_mappings_on_other_messages_match_benthos(ref: RefEvaluator, example: tuple[str, bytes, dict[str, str]]) -> None:
    """The corpus's real-world mappings, run on messages they were not written for."""
    mapping, content, metadata = example
    compare(ref, mapping, content, metadata)


# Hand-picked cases: the seed's mappings and corners that generated examples reach only by luck.
# Each runs on every CI run with a readable id.
DOC = b'{"user_id":"alice","n":5,"f":5.0,"big":9007199254740993,"tiny":1e-300,"s":"<a&b>","arr":[3,1,2]}'
FIXED_CASES = [
    ("seed-worker", 'root = this.merge({ "result": "bar" })', DOC),
    ("seed-in", 'root = this\nroot.user_id = "alice"\nroot.job_id = "fixed"', DOC),
    ("seed-out-keep", 'root = if this.user_id != "alice" {\n  deleted()\n}', DOC),
    ("seed-out-drop", 'root = if this.user_id != "bob" {\n  deleted()\n}', DOC),
    ("float-text-kept", "root = this", b'{"f":5.0,"g":1e400,"h":-0.0,"i":1E2}'),
    ("int-float-mix", "root = [this.n + this.f, this.n / 2, this.n * 1.0, 7 / 7, this.big + 1, this.n % 3]", DOC),
    ("html-not-escaped", 'root.s = this.s + "é中😀\\u2028"', DOC),
    ("raw-string-root", "root = this.s", DOC),
    ("bytes-root", "root = content()", b"not json \xff"),
    ("non-json-this", "root = this.a", b"not json"),
    ("shorthand", "this.arr.sort()", DOC),
    (
        "number-strings",
        (
            "root = [this.f.string(), this.tiny.string(), (1000000000.0 * 1000000000000.0).string(),"
            " (0.1 + 0.2).string(), (this.n * 1.0).string(), this.big.string()]"
        ),
        DOC,
    ),
    ("format", 'root = "%v %v %d %.3f %s %q %x".format(this.f, this.n, 42, 2.5, this.s, this.s, 255)', DOC),
    ("meta-types", 'meta a = 5\nmeta b = 2.5\nmeta c = "x"\nmeta d = [1, "two"]\nmeta e = content()', DOC),
    ("meta-replace", 'meta = {"only": "this"}\nroot = @', DOC),
    ("meta-read-input", 'root.k = @k1\nroot.all = @', DOC),
    ("divide-by-zero", "root = this.n / 0", DOC),
    ("not-null", "root = this.missing.not_null()", DOC),
    ("catch-or", 'root = [this.missing.or("d"), this.s.number().catch(-1)]', DOC),
    ("parse-error-line-break", "foo = bar bar = baz", DOC),
    ("parse-error-unicode-column", 'root = "é中" + this.(', DOC),
    ("let-and-match", 'let x = this.n\nroot = match $x { 5 => "five", _ => "other" }', DOC),
    # Discrepancies the generated examples found once, kept as fixed regressions.
    ("slice-splits-utf8", 'root.a = "é".slice(0, 1)', DOC),
    ("merge-shares-nested-input", 'root = [this.merge({"obj":{"x":1}}), this]', b'{"obj":{"id":7}}'),
    ("literal-slice-folded", 'root = "".slice(2, 1)', DOC),
    ("empty-array-string", 'root = {"a": [], "b": {}}.string()', DOC),
    ("json-error-quotes-backslash", 'root = "\\\\x".parse_json()', DOC),
    ("args-before-target", "root = this.missing.append(this.n - this.x)", DOC),
    ("missing-meta", 'root = meta("nope").uppercase()', DOC),
    ("cast-null", "root = this.missing.int64()", DOC),
    ("cast-json-float", "root = [this.f.uint64(), this.g.int64()].catch(err -> err)", b'{"f":3.0,"g":1e3}'),
    ("empty-message", "root = this", b""),
    # The document is parsed on the first ``this``: its failure names the path that asked.
    ("empty-message-path", "root = this.a.b", b""),
    ("non-json-path", "root = this.a.b", b"{not json"),
    ("first-path-names-the-error", "root.x = this.missing\nroot.y = this.a.b", b"{not json"),
    ("doc-parsed-once", "root.x = this.a.b\nroot.y = this.a\nroot.z = this", b'{"a":{"b":1.50}}'),
    ("infinite-float-payload", 'root = ["Inf".number()]', DOC),
    ("line-after-multibyte", 'root = "é中"\nroot.a = 1', DOC),
    ("strconv-error-quotes-input", 'root = "\\"5\\"".number()', DOC),
    ("json-function-empty-message", 'root = json("a")', b""),
    ("timestamp-year-beyond-9999-payload", "root = [1000000000000000.timestamp()]", DOC),
    ("unix-micro-wraps-int64", "root = 10000000000000000.ts_unix_micro()", DOC),
    ("json-incomplete-number", "root = this", b"5."),
    ("json-negative-zero-int", "root = [this, this.format_json()]", b"-0"),
    ("fmt-infinities", 'root = "%q %v %x %.1f %d".format("Inf".number(), "-Inf".number(), "NaN".number(), "Inf".number(), "Inf".number())', DOC),
    ("ts-unix-of-huge-float", "root = this.f.ts_unix()", b'{"f":1e21}'),
    ("error-quotes-invalid-utf8", 'root = "😀".slice(0, 1).ts_parse("")', DOC),
    ("invalid-utf8-metadata", 'meta a = "😀".slice(0, 1)\nroot = @a', DOC),
    ("case-mapping-invalid-utf8", 'meta a = "é".slice(1).lowercase()\nroot = "é".slice(1).uppercase()', DOC),
    ("reverse-invalid-utf8", 'root = ["aé😀b".slice(2, 6).reverse(), "aé😀b".slice(2, 6).lowercase()]', DOC),
    ("split-utf8-rejoined", 'root = ["😀".slice(0, 2) + "😀".slice(2), "aé😀b".slice(2, 6).repeat(2)]', DOC),
    ("zone-name-with-backslash", 'root = "2024-01-01T00:00:00Z".ts_format("2006", "a\\\\b")', DOC),
    ("parse-json-number-beyond-float64", 'root = ["[1, 1e400]".parse_json().catch(e -> e), "{\\"a\\":-1e309}".parse_json().catch(0)]', DOC),
    ("parse-json-number-beyond-float64-deleted", 'root.b = "1e400".parse_json().catch(deleted())', DOC),
]


@pytest.mark.parametrize(("mapping", "content"), [c[1:] for c in FIXED_CASES], ids=[c[0] for c in FIXED_CASES])
def test_fixed_cases_match_benthos(ref: RefEvaluator, mapping: str, content: bytes) -> None:
    compare(ref, mapping, content, {"k1": "v1", "k2": "<&>"})


@pytest.mark.parametrize("mapping", error_cases.MAPPINGS)
def test_errors_inside_queries_are_wrapped_as_benthos_does(ref: RefEvaluator, mapping: str) -> None:
    assert "exec_error" in ref.run(mapping, error_cases.INPUT), "each case is one that fails in Benthos"
    compare(ref, mapping, error_cases.INPUT, {})


def _sort_documents() -> list[tuple[str, bytes]]:
    """Arrays of 5 to 1000 records with few distinct keys, in random, ascending and descending
    order: Go's sort.Slice is unstable above 12 elements, so equal keys show its exact steps."""
    rnd = random.Random(7)
    docs = []
    for size in (5, 12, 13, 20, 49, 50, 64, 100, 300, 1000):
        for shape in ("random", "ascending", "descending"):
            distinct = rnd.choice((2, 3, 7))
            items = [{"k": rnd.randrange(distinct), "id": i} for i in range(size)]
            if shape != "random":
                items.sort(key=lambda d: d["k"], reverse=shape == "descending")
            docs.append((f"{size}-{shape}", json.dumps({"a": items}).encode()))
    return docs


SORT_MAPPINGS = [
    "root = this.a.sort_by(v -> v.k).map_each(v -> v.id)",
    "root = this.a.sort(v -> v.left.k < v.right.k).map_each(v -> v.id)",
    "root = this.a.sort(v -> v.left.k > v.right.k).map_each(v -> v.id)",
    "root = this.a.map_each(v -> v.k.string()).sort()",
    # The element an error names is the one being compared at that moment of Go's sort.
    'root = this.a.map_each(v -> if v.id == 11 { "x" } else { v.k }).sort_by(v -> v)',
    "root = this.a.map_each(v -> if v.id == 4 { null } else { v.k }).sort()",
]


@pytest.mark.parametrize("mapping", SORT_MAPPINGS)
@pytest.mark.parametrize(("name", "content"), _sort_documents(), ids=[d[0] for d in _sort_documents()])
def test_sort_leaves_equal_keys_in_gos_order(ref: RefEvaluator, mapping: str, name: str, content: bytes) -> None:
    compare(ref, mapping, content, {})


AES_KEYS = {"aes128": "0123456789abcdef", "aes192": "0123456789abcdef01234567", "aes256": "0123456789abcdef0123456789abcdef"}
AES_PLAINTEXTS = ["", "hello", "0123456789abcdef", "0123456789abcdef0123456789abcdef", "é中😀 a text longer than one AES block"]


@pytest.mark.parametrize("key", list(AES_KEYS.values()), ids=list(AES_KEYS))
@pytest.mark.parametrize("scheme", ["ctr", "gcm", "ofb", "cbc"])
def test_aes_matches_benthos_and_reads_its_ciphertext(ref: RefEvaluator, scheme: str, key: str) -> None:
    iv = "fedcba987654" if scheme == "gcm" else "fedcba9876543210"
    args = f'"{scheme}", "{key}", "{iv}"'
    for plain in AES_PLAINTEXTS:
        sealing = f"root = {json.dumps(plain, ensure_ascii=False)}.encrypt_aes({args}).encode(\"hex\")"
        compare(ref, sealing, b"{}", {})
        sealed = ref.run(sealing, b"{}")
        if "content" not in sealed:
            continue  # cbc refuses partial blocks; compare() checked the error text
        opening = f'root = "{sealed["content"].decode()}".decode("hex").decrypt_aes({args})'
        compare(ref, opening, b"{}", {})
        assert run_ours(opening, b"{}")["content"] == plain.encode()


def _lz4_inputs() -> list[tuple[str, bytes]]:
    rnd = random.Random(11)
    inputs = [("empty", b""), ("short", b"hello"), ("fourteen", b"x" * 14), ("fifteen", b"x" * 15),
              ("repeated", b"a" * 1000), ("json", json.dumps([{"id": i, "v": i % 7} for i in range(400)]).encode())]
    for size in (40, 300, 5000, 70000):
        inputs.append((f"random-{size}", bytes(rnd.choice(b"abcd ") for _ in range(size))))
    inputs.append(("incompressible", bytes(rnd.randrange(256) for _ in range(3000))))
    return inputs


@pytest.mark.parametrize("level", [None, 0, 1, 5, 9, 10, 24])
@pytest.mark.parametrize(("name", "data"), _lz4_inputs(), ids=[i[0] for i in _lz4_inputs()])
def test_lz4_frames_are_benthos_frames(ref: RefEvaluator, level: int | None, name: str, data: bytes) -> None:
    """Byte-equal frames from compress("lz4", level), and decompress("lz4") reads Benthos's."""
    arg = "" if level is None else f", {level}"
    packing = f'root = content().compress("lz4"{arg}).encode("base64")'
    compare(ref, packing, data, {})
    packed = ref.run(packing, data)
    if "content" not in packed:
        return  # a level pierrec/lz4 refuses; compare() checked the error text
    unpacking = f'root = "{packed["content"].decode()}".decode("base64").decompress("lz4")'
    compare(ref, unpacking, b"{}", {})
    assert run_ours(unpacking, b"{}")["content"] == data


def _damaged(frame: bytes, rnd: random.Random) -> list[bytes]:
    """Every truncation of a frame, some single-byte changes, and frames around it."""
    cases = [frame[:cut] for cut in range(len(frame))]
    for _ in range(20):
        changed = bytearray(frame)
        changed[rnd.randrange(len(changed))] = rnd.randrange(256)
        cases.append(bytes(changed))
    skippable = b"\x5a\x2a\x4d\x18\x03\x00\x00\x00abc"
    cases += [frame + frame, skippable + frame, skippable[:-1], frame + b"\x00", frame + b"junkjunk"]
    return cases


@pytest.mark.parametrize("text", ["", "hello", "hello hello hello hello hello hello", "abc " * 100])
def test_lz4_reader_ends_and_fails_as_benthos_does(ref: RefEvaluator, text: str) -> None:
    """decompress("lz4") on Benthos's frames cut short, altered or concatenated: the same
    clean ends, the same error texts (checksums, magic numbers, block sizes, bad blocks)."""
    written = ref.run(f'root = {json.dumps(text)}.compress("lz4").encode("hex")', b"{}")
    frame = bytes.fromhex(written["content"].decode())
    for data in _damaged(frame, random.Random(text)):
        compare(ref, f'root = "{data.hex()}".decode("hex").decompress("lz4").encode("hex")', b"{}", {})


# strftime/strptime of Benthos v4.80 (timefmt-go v0.1.8): negative years, centuries and Unix
# times, the padding of negative numbers, %g's 69 threshold, %:::z.
TIMEFMT_CASES = [
    "root = (-70000000000).ts_strftime(\"%Y|%C|%y|%G|%g|%s\")",
    "root = (-62198755200).ts_strftime(\"%Y|%C|%y|%G|%g|%s\")",
    "root = (-62135596800).ts_strftime(\"%Y|%C|%y|%G|%g|%s\")",
    "root = (-62167219200).ts_strftime(\"%Y %C %y %G %g %s %4Y %1C %3y\")",
    "root = (-100000000000).ts_strftime(\"%Y %C %y %G %g %s %_6Y %-Y\")",
    "root = (-1).ts_strftime(\"%s %Y\")",
    "root = (-1).ts_strftime(\"%s\", \"UTC\")",
    "root = 1700000000.ts_strftime(\"%Y %C %y %G %g %s\")",
    "root = \"-0001-01-01\".ts_strptime(\"%Y-%m-%d\")",
    "root = \"-123-01-01\".ts_strptime(\"%Y-%m-%d\")",
    "root = \"-5\".ts_strptime(\"%s\")",
    "root = \"-1700000000\".ts_strptime(\"%s\")",
    "root = \"-0050 01 5\".ts_strptime(\"%G %V %u\")",
    "root = \"68\".ts_strptime(\"%g\")",
    "root = \"69\".ts_strptime(\"%g\")",
    "root = \"70\".ts_strptime(\"%g\")",
    "root = \"2024-01-01 +05:30:00\".ts_strptime(\"%Y-%m-%d %:::z\")",
    "root = \"2024-01-01 +05\".ts_strptime(\"%Y-%m-%d %:::z\")",
    "root = \"2024-01-01 +05:30\".ts_strptime(\"%Y-%m-%d %:::z\")",
    "root = \"2024-01-01 +0530\".ts_strptime(\"%Y-%m-%d %:::z\")",
    "root = (-70000000000).ts_strftime(\"%F %D %x %c\")",
    "root = \"-5\".ts_strptime(\"%C\")",
    "root = \"99999999999999999999\".ts_strptime(\"%s\")",
    "root = \"+05:30:1\".ts_strptime(\"%::z\")",
    "root = \"+05\".ts_strptime(\"%::::z\")",
    "root = (-100000000000).ts_strftime(\"%_6Y|%06Y|%-C|%_3y|%:::z\", \"Asia/Kolkata\")",
]


@pytest.mark.parametrize("mapping", TIMEFMT_CASES)
def test_strftime_and_strptime_edges_match_benthos(ref: RefEvaluator, mapping: str) -> None:
    compare(ref, mapping, b"{}", {})


def test_reference_rejects_and_accepts_as_benthos_does(ref: RefEvaluator) -> None:
    """Guards the harness itself: the reference must report the three outcomes distinctly."""
    assert ref.run("foo = bar bar = baz", b"{}") == {"parse_error": "line 1 char 11: expected line break"}
    err = ref.run("root = this.a.uppercase()", b"{}")["exec_error"]
    assert re.fullmatch(r"failed assignment \(line 1\): expected string value, got null from field `this.a`", err)
    assert ref.run("root = deleted()", b"x") == {"deleted": True}
    assert ref.run("root = this", b'{"b":1,"a":5.0}', {"m": "v"}) == {
        "content": b'{"a":5.0,"b":1}',
        "metadata": {"m": {"str": "v"}},
    }
