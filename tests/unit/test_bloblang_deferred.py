"""``bloblang.parse(deferred=True)``: parse errors at once, the code generated at the first run."""

from __future__ import annotations

import json

import pytest

from streams import bloblang
from streams.bloblang import MappingError, ParseError
from streams.message import Message

SEED_OUT = 'root = if this.user_id != "alice" {\n  deleted()\n}\n'


def test_a_deferred_mapping_has_no_code_until_it_runs() -> None:
    m = bloblang.parse(SEED_OUT, filename="deferred-a", deferred=True)
    assert "_compiled" not in vars(m)
    assert m.field_filter is not None  # known from the parse alone
    assert m.apply(b'{"user_id":"bob"}') is None
    assert "_compiled" in vars(m)
    kept = m.apply(b'{"user_id":"alice","n":1}')
    assert kept is not None and json.loads(kept.content) == {"user_id": "alice", "n": 1}


@pytest.mark.parametrize(
    ("source", "doc"),
    [
        (SEED_OUT, {"user_id": "alice"}),
        ("root = this\nroot.user_id = \"carol\"\nroot.n = this.n + 1", {"n": 41}),
        ("root.tags = this.tags.map_each(t -> t.uppercase()).sort()", {"tags": ["b", "a"]}),
        ("root = this.missing.number()", {}),
        ("map m {\n  root.v = this\n}\nroot = this.x.apply(\"m\")", {"x": 3}),
    ],
)
def test_deferred_and_eager_mappings_give_the_same_results(source: str, doc: dict) -> None:
    eager = bloblang.parse(source, filename="eager")
    deferred = bloblang.parse(source, filename="deferred", deferred=True)

    def outcome(m: bloblang.Mapping) -> object:
        try:
            out = m.apply_message(Message(json.dumps(doc).encode()))
        except MappingError as exc:
            return ("error", str(exc))
        return None if out is None else out.content

    assert outcome(deferred) == outcome(eager)
    assert outcome(deferred) == outcome(eager)  # and again, compiled by now


def test_a_deferred_parse_still_raises_parse_errors_at_once() -> None:
    with pytest.raises(ParseError):
        bloblang.parse("root = this.(", filename="deferred-bad", deferred=True)
    with pytest.raises(ParseError):
        bloblang.parse("root = nosuchfunction()", filename="deferred-bad2", deferred=True)


def test_a_mapping_that_may_import_is_compiled_at_once(tmp_path) -> None:
    """A deferred compile would read the imported file again, later (and it may have changed)."""
    (tmp_path / "m.blobl").write_text("map up {\n  root = this.uppercase()\n}\n")
    m = bloblang.parse('import "m.blobl"\nroot = this.s.apply("up")', base_dir=str(tmp_path), deferred=True)
    assert "_compiled" in vars(m)
    (tmp_path / "m.blobl").write_text("this is no longer bloblang")
    out = m.apply(b'{"s":"abc"}')
    assert out is not None and out.content == b"ABC"


def test_only_the_compiled_code_is_looked_up_lazily() -> None:
    m = bloblang.parse("root = this", filename="deferred-attr", deferred=True)
    with pytest.raises(AttributeError):
        _ = m.no_such_attribute  # type: ignore[attr-defined]


def test_deferred_mappings_stay_out_of_the_compile_cache() -> None:
    """A stream's components parse deferred, each named after its path (a path per user for a
    stream naming the user): cached, they never hit and crowded out the shared ones."""
    source = 'root = if this.user_id != "dave" {\n  deleted()\n}\n'
    first = bloblang.parse(source, filename="cache-path", deferred=True)
    assert bloblang.parse(source, filename="cache-path", deferred=True) is not first
    eager = bloblang.parse(source, filename="cache-path-eager")
    assert bloblang.parse(source, filename="cache-path-eager") is eager
    assert bloblang.parse(source, filename="cache-path-eager", deferred=True) is eager  # compiled already
