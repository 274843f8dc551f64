"""Batch-shaping processors as Bento documents and tests them: noop, bounds_check, split,
select_parts, insert_part, archive and unarchive, compress and decompress."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from typing import Any

import pytest

from streams.contracts import ConfigError
from streams.processors import archive_formats
from tests.unit.processor_harness import Harness, contents, errors, jmsgs, msgs


@pytest.fixture
def h(tmp_path: Any) -> Harness:
    return Harness(tmp_path)


def test_noop_passes_the_batch_on(h: Harness) -> None:
    assert contents(h.run([{"noop": {}}], msgs("a", "b"))) == [b"a", b"b"]


@pytest.mark.parametrize(
    "conf, batch, kept",
    [
        ({}, ["hello", "world"], True),
        ({"max_parts": 2}, ["a", "b", "c"], False),
        ({"min_parts": 3}, ["a", "b"], False),
        ({"max_part_size": 5}, ["hello", "world!"], False),  # one message too big drops the batch
        ({"min_part_size": 2}, ["ab", "c"], False),
        ({}, [""], False),  # Bento's default min_part_size is 1
    ],
)
def test_bounds_check_drops_whole_batches_out_of_bounds(h: Harness, conf: Any, batch: list[str], kept: bool) -> None:
    out = h.run([{"bounds_check": conf}], msgs(*batch))
    assert contents(out) == ([b.encode() for b in batch] if kept else [])


def test_split_makes_batches_of_size(h: Harness) -> None:
    out = h.batches([{"split": {"size": 2}}], msgs("1", "2", "3", "4", "5"))
    assert [contents(b) for b in out] == [[b"1", b"2"], [b"3", b"4"], [b"5"]]


def test_split_default_size_is_one(h: Harness) -> None:
    assert [contents(b) for b in h.batches([{"split": {}}], msgs("a", "b"))] == [[b"a"], [b"b"]]


def test_split_by_byte_size_keeps_an_oversized_message_alone(h: Harness) -> None:
    out = h.batches([{"split": {"size": 0, "byte_size": 5}}], msgs("ab", "cd", "efghij", "k"))
    assert [contents(b) for b in out] == [[b"ab", b"cd"], [b"efghij"], [b"k"]]


def test_processors_after_a_split_see_each_batch_apart(h: Harness) -> None:
    out = h.batches([{"split": {"size": 2}}, {"archive": {"format": "lines"}}], msgs("a", "b", "c"))
    assert [contents(b) for b in out] == [[b"a\nb\n"], [b"c\n"]]


@pytest.mark.parametrize(
    "parts, expected",
    [
        ([0, 3], [b"0", b"3"]),
        ([-1], [b"4"]),
        ([-5, 4], [b"0", b"4"]),
        ([2, 2], [b"2", b"2"]),
        ([5, -6, 1], [b"1"]),  # out of range on either side: skipped
        ([9], []),
    ],
)
def test_select_parts_picks_indexes(h: Harness, parts: list[int], expected: list[bytes]) -> None:
    assert contents(h.run([{"select_parts": {"parts": parts}}], msgs("0", "1", "2", "3", "4"))) == expected


def test_select_parts_copies_what_it_selects(h: Harness) -> None:
    out = h.run([{"select_parts": {"parts": [0, 0]}}, {"mutation": "meta n = batch_index().string()"}], msgs("x"))
    assert [m.metadata["n"] for m in out] == ["0", "1"]


@pytest.mark.parametrize(
    "index, expected",
    [
        (0, ["hello world", "1", "2"]),
        (1, ["1", "hello world", "2"]),
        (2, ["1", "2", "hello world"]),
        (5, ["1", "2", "hello world"]),
        (-1, ["1", "2", "hello world"]),
        (-2, ["1", "hello world", "2"]),
        (-3, ["hello world", "1", "2"]),
        (-10, ["hello world", "1", "2"]),
    ],
)
def test_insert_part_at_index(h: Harness, index: int, expected: list[str]) -> None:
    out = h.run([{"insert_part": {"content": "hello world", "index": index}}], msgs("1", "2", k="v"))
    assert contents(out) == [e.encode() for e in expected]
    assert [m.metadata for m in out if m.content == b"hello world"] == [{}]


def test_insert_part_interpolates_against_the_first_message(h: Harness) -> None:
    out = h.run([{"insert_part": {"content": '${! json("id") }-${! batch_size() }'}}], jmsgs({"id": "a"}, {"id": "b"}))
    assert contents(out)[-1] == b"a-2"


def test_archive_lines_joins_with_a_trailing_newline_and_keeps_first_metadata(h: Harness) -> None:
    batch = msgs("hello world first part", "hello world second part", "third part", "fourth", "5")
    batch[0].metadata["first"] = "yes"
    [out] = h.run([{"archive": {"format": "lines"}}], batch)
    assert out.content == b"hello world first part\nhello world second part\nthird part\nfourth\n5\n"
    assert out.metadata == {"first": "yes"}


def test_archive_concatenate_and_json_array(h: Harness) -> None:
    assert contents(h.run([{"archive": {"format": "concatenate"}}], msgs("ab", "cd"))) == [b"abcd"]
    [out] = h.run([{"archive": {"format": "json_array"}}], jmsgs({"a": 1}, [2], "x"))
    assert json.loads(out.content) == [{"a": 1}, [2], "x"]


def test_archive_json_array_flags_the_batch_when_a_message_is_not_json(h: Harness) -> None:
    out = h.run([{"archive": {"format": "json_array"}}], msgs('{"a":1}', "not json"))
    assert contents(out) == [b'{"a":1}', b"not json"]
    assert all(e and e.startswith("failed to create archive: failed to parse message as JSON") for e in errors(out))


def test_archive_binary_is_bentos_blob(h: Harness) -> None:
    [out] = h.run([{"archive": {"format": "binary"}}], msgs("hello", "", "world"))
    assert out.content == b"\x00\x00\x00\x03" + b"\x00\x00\x00\x05hello" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x05world"


def test_archive_tar_names_files_by_path(h: Harness) -> None:
    batch = jmsgs({"doc": {"id": "foo", "body": "hello world 1"}}, {"doc": {"id": "bar", "body": "hello world 2"}})
    [out] = h.run([{"archive": {"format": "tar", "path": '${!json("doc.id")}.json'}}], batch)
    with tarfile.open(fileobj=io.BytesIO(out.content)) as tar:
        files = {m.name: (tar.extractfile(m) or io.BytesIO()).read() for m in tar}
        modes = {m.mode for m in tar}
    assert files == {"foo.json": batch[0].content, "bar.json": batch[1].content}
    assert modes == {0o666}


def test_archive_zip_deflates_each_file(h: Harness) -> None:
    [out] = h.run([{"archive": {"format": "zip", "path": "${! batch_index() }.txt"}}], msgs("a" * 100, "b"))
    with zipfile.ZipFile(io.BytesIO(out.content)) as archive:
        assert {i.filename: archive.read(i) for i in archive.infolist()} == {"0.txt": b"a" * 100, "1.txt": b"b"}
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}


@pytest.mark.parametrize("fmt", ["tar", "zip", "binary"])
def test_unarchive_reverses_archive_keeping_metadata(h: Harness, fmt: str) -> None:
    procs = [{"archive": {"format": fmt, "path": "f${! batch_index() }"}}, {"unarchive": {"format": fmt}}]
    out = h.run(procs, msgs("one", "two", "three", topic="t"))
    assert contents(out) == [b"one", b"two", b"three"]
    assert all(m.metadata["topic"] == "t" for m in out)
    if fmt != "binary":
        assert [m.metadata["archive_filename"] for m in out] == ["f0", "f1", "f2"]


XML_DOCS = "<root><foo>bar</foo></root><root>inner</root><root><num>1</num></root><root><bool>true</bool></root>"


@pytest.mark.parametrize(
    "fmt, body, expected",
    [
        ("lines", "foo\nbar\nbaz", [b"foo", b"bar", b"baz"]),
        ("json_documents", '{"foo":"bar"} {"baz":"buz"}\n[1,2]\n"x"5', [b'{"foo":"bar"}', b'{"baz":"buz"}', b"[1,2]", b"x", b"5"]),
        ("json_array", '[{"a":1},"b",3]', [b'{"a":1}', b"b", b"3"]),
        ("csv", "id,name\n1,foo\n2,bar\n", [b'{"id":"1","name":"foo"}', b'{"id":"2","name":"bar"}']),
        ("csv:\t", "id\tname\n1\tfoo", [b'{"id":"1","name":"foo"}']),
        ("xml_documents_to_json", XML_DOCS, [b'{"root":{"foo":"bar"}}', b'{"root":"inner"}', b'{"root":{"num":"1"}}', b'{"root":{"bool":"true"}}']),
        ("xml_documents_to_json:cast", XML_DOCS, [b'{"root":{"foo":"bar"}}', b'{"root":"inner"}', b'{"root":{"num":1}}', b'{"root":{"bool":true}}']),
        ("xml_documents_to_json", "\n<a x='1'/>\n<!-- c -->\n<b>2</b>\n", [b'{"a":{"-x":"1"}}', b'{"b":"2"}']),
    ],
)
def test_unarchive_formats(h: Harness, fmt: str, body: str, expected: list[bytes]) -> None:
    out = h.run([{"unarchive": {"format": fmt}}], msgs(body))
    assert contents(out) == expected and errors(out) == [None] * len(expected)


def test_unarchive_json_map_keys_into_metadata(h: Harness) -> None:
    out = h.run([{"unarchive": {"format": "json_map"}}], msgs('{"a":{"x":1},"b":2}'))
    assert [(m.metadata["archive_key"], m.content) for m in out] == [("a", b'{"x":1}'), ("b", b"2")]


@pytest.mark.parametrize(
    "fmt, body, error",
    [
        ("json_array", '{"a":1}', "failed to parse message into JSON array: invalid type 'map[string]interface {}'"),
        ("json_map", "[1]", "failed to parse message into JSON map: invalid type '[]interface {}'"),
        ("csv", "a,b\n1,2,3", "failed to parse message as csv: row has too many values"),
        ("csv", "a,b\n1", "failed to parse message as csv: row has too few values"),
        ("binary", "\x00\x00\x00\x02\x00\x00\x00\x01a", "serialised message bytes were in unexpected format"),
        ("xml_documents_to_json", "<a>1</a>\n<b>", "xml.Decoder.Token() - XML syntax error on line 2: unexpected EOF"),
    ],
)
def test_unarchive_keeps_and_flags_what_it_cannot_read(h: Harness, fmt: str, body: str, error: str) -> None:
    out = h.run([{"unarchive": {"format": fmt}}], msgs(body, body))
    assert contents(out) == [body.encode()] * 2
    assert errors(out) == [error, error]


def test_unarchive_refuses_an_unknown_format_or_a_long_delimiter(h: Harness) -> None:
    with pytest.raises(ConfigError, match="archive format not recognised: rar"):
        h.build([{"unarchive": {"format": "rar"}}])
    with pytest.raises(ConfigError, match="single character delimiter"):
        h.build([{"unarchive": {"format": "csv:ab"}}])


@pytest.mark.parametrize("algorithm", ["gzip", "pgzip", "zlib", "flate", "snappy", "lz4"])
def test_compress_then_decompress_gives_the_payload_back(h: Harness, algorithm: str) -> None:
    body = b"hello world, " * 50
    compressed = h.run([{"compress": {"algorithm": algorithm}}], msgs(body))
    assert compressed[0].content != body and len(compressed[0].content) < len(body)
    out = h.run([{"decompress": {"algorithm": algorithm}}], compressed)
    assert contents(out) == [body] and errors(out) == [None]


def test_gzip_is_standard_gzip(h: Harness) -> None:
    [out] = h.run([{"compress": {"algorithm": "gzip", "level": 9}}], msgs("some text"))
    assert gzip.decompress(out.content) == b"some text"
    [back] = h.run([{"decompress": {"algorithm": "gzip"}}], msgs(gzip.compress(b"from python")))
    assert back.content == b"from python"


def test_decompress_flags_data_that_is_not_compressed(h: Harness) -> None:
    [out] = h.run([{"decompress": {"algorithm": "gzip"}}], msgs("plain"))
    assert out.content == b"plain"
    assert out.error and out.error.startswith("failed to decompress message: ")


def test_binary_blob_round_trip_and_truncation() -> None:
    parts = [b"", b"a", b"\x00" * 300]
    blob = archive_formats.pack_binary(parts)
    assert archive_formats.unpack_binary(blob) == parts
    for cut in range(len(blob)):
        with pytest.raises(archive_formats.ArchiveError):
            archive_formats.unpack_binary(blob[:cut])
