"""``streams.bloblang.filters``: which mappings are field filters, and that a filter's "deletes"
is exactly what running the mapping decides (checked against the mapping itself)."""

from __future__ import annotations

import itertools

import pytest

from streams import bloblang
from streams.bloblang.filters import FieldFilter
from streams.message import Message

SEED = 'root = if this.user_id != "alice" {\n  deleted()\n}\n'


@pytest.mark.parametrize(
    ("source", "path", "value"),
    [
        (SEED, ("user_id",), "alice"),
        ('root = if "alice" != this.user.id { deleted() }', ("user", "id"), "alice"),
        ('root = if this.user_id != "" { deleted() }', ("user_id",), ""),
    ],
)
def test_a_keep_or_delete_by_one_field_mapping_is_a_filter(source: str, path: tuple[str, ...], value: str) -> None:
    found = bloblang.parse(source).field_filter
    assert isinstance(found, FieldFilter) and (found.path, found.value) == (path, value)


@pytest.mark.parametrize(
    "source",
    [
        'root = if this.user_id == "alice" { deleted() }',  # keeps the others
        'root = if this.user_id != "alice" { deleted() } else { this }',
        'root = if this.user_id != 5 { deleted() }',  # not a string literal
        'root = if this.user_id != this.owner { deleted() }',
        'root = if meta("user") != "alice" { deleted() }',
        'root = if this.user_id != "alice" { "gone" }',
        'root = if this.user_id != "alice" { deleted() }\nroot.seen = true',  # a second statement
        'root.x = if this.user_id != "alice" { deleted() }',  # not the whole root
        'root = this',
    ],
)
def test_any_other_mapping_is_not(source: str) -> None:
    assert bloblang.parse(source).field_filter is None


DOCUMENTS = [
    b'{"user_id":"alice","n":1}',
    b'{"user_id":"bob"}',
    b'{"user_id":"Alice"}',
    b'{"user_id":"alice "}',
    b'{"user_id":""}',
    b'{"user_id":5}',
    b'{"user_id":5.0}',
    b'{"user_id":null}',
    b'{"user_id":true}',
    b'{"user_id":["alice"]}',
    b'{"user_id":{"id":"alice"}}',
    b'{"user":{"id":"alice"}}',
    b'{"user":{"id":7}}',
    b'{"user":"alice"}',
    b"{}",
    b"[]",
    b'["alice"]',
    b'"alice"',
    b"5",
    b"null",
    b"",
    b"not json",
    b'{"user_id":"al\\u0069ce"}',
]
MAPPINGS = [
    SEED,
    'root = if "alice" != this.user_id { deleted() }',
    'root = if this.user.id != "alice" { deleted() }',
    'root = if this.user_id != "" { deleted() }',
]


@pytest.mark.parametrize(("source", "content"), list(itertools.product(MAPPINGS, DOCUMENTS)))
def test_the_filter_says_delete_exactly_when_the_mapping_deletes_cleanly(source: str, content: bytes) -> None:
    mapping = bloblang.parse(source)
    assert mapping.field_filter is not None
    try:
        result = mapping.apply_message(Message(content))
        deleted = result is None
    except bloblang.MappingError:
        deleted = False  # an error is the mapping's to report: the filter must say "run it"
    assert mapping.field_filter.deletes(Message(content)) is deleted


def test_the_filter_leaves_the_parsed_value_on_a_shared_message() -> None:
    shared = Message(b'{"user_id":"bob"}')
    assert bloblang.parse(SEED).field_filter.deletes(shared)
    assert shared.has_value and shared.copy().value == {"user_id": "bob"}
