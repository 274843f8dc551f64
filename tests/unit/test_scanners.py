"""Each Bento scanner alone: bytes fed in (whole, and one byte at a time, which must give the same
messages), messages out. Cases follow Bento's scanner tests and docs; configs are checked with
their positions as the definitions validator reports them."""

from __future__ import annotations

import bz2
import gzip
import io
import tarfile
import zlib
from typing import Any

import cramjam
import pytest

from streams.message import Message
from streams.scanners import catalog
from streams.scanners.base import ScanError
from streams.scanners.legacy_codec import scanner_of_codec


def scan(conf: Any, data: bytes, name: str = "", step: int = 0) -> list[Message]:
    """The messages of ``data`` fed in pieces of ``step`` bytes (0: all at once)."""
    scanner = catalog.make(conf)(name)
    out: list[Message] = []
    pieces = [data[i : i + step] for i in range(0, len(data), step)] if step else [data]
    for piece in pieces:
        out += scanner.feed(piece)
    return out + scanner.end()


def contents(conf: Any, data: bytes, name: str = "") -> list[bytes]:
    """The payloads of ``data``, asserted to be the same whatever size the chunks come in."""
    whole = [m.content for m in scan(conf, data, name)]
    for step in (1, 3, 7):
        assert [m.content for m in scan(conf, data, name, step)] == whole, f"fed {step} bytes at a time"
    return whole


# -- lines --------------------------------------------------------------------------------------


def test_lines_end_at_line_breaks_without_their_carriage_return_and_keep_a_last_unterminated_line() -> None:
    assert contents({"lines": {}}, b"first\r\nsecond\n\nthird") == [b"first", b"second", b"", b"third"]
    assert contents({"lines": {}}, b"") == []
    assert contents({"lines": {}}, b"a\n") == [b"a"]


def test_lines_with_a_custom_delimiter_and_omit_empty() -> None:
    assert contents({"lines": {"custom_delimiter": "X"}}, b"firstXsecondXXthird") == [b"first", b"second", b"", b"third"]
    conf = {"lines": {"custom_delimiter": "X", "omit_empty": True}}
    assert contents(conf, b"firstXsecondXXthird") == [b"first", b"second", b"third"]
    assert contents({"lines": {"custom_delimiter": "||"}}, b"a\r||b") == [b"a\r", b"b"]


def test_a_line_over_max_buffer_size_fails_after_the_lines_before_it() -> None:
    scanner = catalog.make({"lines": {"max_buffer_size": 8}})("")
    assert [m.content for m in scanner.feed(b"short\n123456789")] == [b"short"]
    with pytest.raises(ScanError, match=r"token too long: more than max_buffer_size \(8 bytes\)"):
        scanner.feed(b"0")


# -- chunker, to_the_end -------------------------------------------------------------------------


def test_chunker_cuts_fixed_sizes_and_a_shorter_last_chunk() -> None:
    assert contents({"chunker": {"size": 4}}, b"abcdefghij") == [b"abcd", b"efgh", b"ij"]
    assert contents({"chunker": {"size": 5}}, b"abcdefghij") == [b"abcde", b"fghij"]


def test_to_the_end_is_the_whole_source_as_one_message() -> None:
    assert contents({"to_the_end": {}}, b"a\nb\nc") == [b"a\nb\nc"]
    assert contents({"to_the_end": {}}, b"") == [b""]


# -- re_match -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "data", "expected"),
    [
        ("(?m)^", "foo\nbar\nbaz", ["foo\n", "bar\n", "baz"]),
        ("split", "foo\nbar\nsplit\nbaz\nsplitsplit", ["foo\nbar\n", "split\nbaz\n", "split", "split"]),
        ("\\n", "split", ["split"]),
        ("\\n", "foo\nbar\nsplit\nbaz", ["foo", "\nbar", "\nsplit", "\nbaz"]),
        (
            "(?m)^\\d\\d:\\d\\d:\\d\\d",
            "20:20:22 ERROR\nCode\n20:20:21 INFO\n20:20:21 INFO\n20:20\n20:20:22 ERROR\nCode\n2022",
            ["20:20:22 ERROR\nCode\n", "20:20:21 INFO\n", "20:20:21 INFO\n20:20\n", "20:20:22 ERROR\nCode\n2022"],
        ),
        ("split", "", []),
    ],
)
def test_re_match_cuts_where_each_match_starts(pattern: str, data: str, expected: list[str]) -> None:
    whole = [m.content.decode() for m in scan({"re_match": {"pattern": pattern}}, data.encode())]
    assert whole == expected


# -- csv ----------------------------------------------------------------------------------------


def values(conf: Any, data: bytes) -> list[Any]:
    got = [(m.value, m.metadata, m.error) for m in scan(conf, data)]
    assert [(m.value, m.metadata, m.error) for m in scan(conf, data, step=1)] == got
    return got


def test_csv_rows_become_objects_named_by_the_header_row_with_their_row_number() -> None:
    data = b"a,b,c\na1,b1,c1\na2,b2,c2\n"
    assert values({"csv": {}}, data) == [
        ({"a": "a1", "b": "b1", "c": "c1"}, {"csv_row": 0}, None),
        ({"a": "a2", "b": "b2", "c": "c2"}, {"csv_row": 1}, None),
    ]
    assert values({"csv": {"custom_delimiter": "|"}}, b"a|b\r\n1|2") == [({"a": "1", "b": "2"}, {"csv_row": 0}, None)]


def test_csv_without_a_header_row_gives_arrays_and_quoted_fields_keep_commas_quotes_and_line_breaks() -> None:
    data = b'x,"y, ""z""\r\nw"\n\n1,2\n'
    assert values({"csv": {"parse_header_row": False}}, data) == [
        (["x", 'y, "z"\nw'], {"csv_row": 0}, None),
        (["1", "2"], {"csv_row": 1}, None),
    ]


def test_csv_quotes_follow_go_rules_strict_and_lazy() -> None:
    with pytest.raises(ScanError, match='parse error on line 1, column 2: bare " in non-quoted-field'):
        scan({"csv": {"parse_header_row": False}}, b'a"b,c\n')
    with pytest.raises(ScanError, match='parse error on line 1, column 4: extraneous or missing " in quoted-field'):
        scan({"csv": {"parse_header_row": False}}, b'"a"b,c\n')
    lazy = {"csv": {"parse_header_row": False, "lazy_quotes": True}}
    assert values(lazy, b'a"b,"c"d"\n') == [(['a"b', 'c"d'], {"csv_row": 0}, None)]


def test_csv_rows_must_have_as_many_fields_as_the_first_unless_continue_on_error_flags_them() -> None:
    data = b"a,b\n1,2\n3\n4,5\n"
    scanner = catalog.make({"csv": {}})("")
    assert [m.value for m in scanner.feed(data)] == [{"a": "1", "b": "2"}]
    with pytest.raises(ScanError, match="^record on line 3: wrong number of fields$"):
        scanner.end()
    assert values({"csv": {"continue_on_error": True}}, data) == [
        ({"a": "1", "b": "2"}, {"csv_row": 0}, None),
        ({"a": "3"}, {"csv_row": 1}, "record on line 3: wrong number of fields"),
        ({"a": "4", "b": "5"}, {"csv_row": 2}, None),
    ]
    unclosed = 'record on line 2; parse error on line 4, column 1: extraneous or missing " in quoted-field'
    assert values({"csv": {"continue_on_error": True}}, b'a,b\n"x\n1,2\n') == [({}, {"csv_row": 0}, unclosed)]
    assert values({"csv": {"continue_on_error": True}}, b'a,b\nx"y,1\n1,2\n') == [
        ({}, {"csv_row": 0}, 'parse error on line 2, column 2: bare " in non-quoted-field'),
        ({"a": "1", "b": "2"}, {"csv_row": 1}, None),
    ]


@pytest.mark.parametrize("step", [0, 1, 2])
def test_csv_lines_are_counted_once_however_the_bytes_arrive(step: int) -> None:
    with pytest.raises(ScanError, match="^record on line 5: wrong number of fields$"):
        scan({"csv": {}}, b"a,b\n\r\n\n1,2\n3\n", step=step)


def test_csv_expected_headers_and_number_of_fields() -> None:
    conf = {"csv": {"expected_headers": ["a", "b"]}}
    assert values(conf, b"a,b\n1,2\n") == [({"a": "1", "b": "2"}, {"csv_row": 0}, None)]
    with pytest.raises(ScanError, match="expected_headers don't match file contents"):
        scan(conf, b"a,c\n1,2\n")
    with pytest.raises(ScanError, match="record on line 1: wrong number of fields"):
        scan({"csv": {"expected_number_of_fields": 3}}, b"a,b\n1,2\n")


# -- json_documents -----------------------------------------------------------------------------


def test_json_documents_cuts_concatenated_values_whatever_separates_them() -> None:
    data = b'{"a":"a0"}\n{"a":"a1"}{"a":"a2"} 12 [1, "x"] "s" true null 3.5\n'
    got = [(m.value) for m in scan({"json_documents": {}}, data)]
    assert got == [{"a": "a0"}, {"a": "a1"}, {"a": "a2"}, 12, [1, "x"], "s", True, None, 3.5]
    assert contents({"json_documents": {}}, data)[3] == b"12"  # not cut after "1" when fed by byte


def test_json_documents_fails_at_the_first_value_that_is_not_json_after_the_good_ones() -> None:
    scanner = catalog.make({"json_documents": {}})("")
    assert [m.value for m in scanner.feed(b'{"a":1} nope {"a":2}')] == [{"a": 1}]
    with pytest.raises(ScanError, match="invalid JSON document: Expecting value"):
        scanner.end()
    with pytest.raises(ScanError, match="invalid JSON document"):
        scan({"json_documents": {}}, b'{"a":')


# -- skip_bom, decompress, tar -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfhello", b"hello"),
        (b"\xff\xfe\x00\x00hello", b"hello"),
        (b"\xfe\xffhello", b"hello"),
        (b"\xef\xbb\xbf\xef\xbb\xbfx", b"\xef\xbb\xbfx"),  # one mark only
        (b"\xef\xbb", b"\xef\xbb"),
        (b"hello", b"hello"),
        (b"", b""),
    ],
)
def test_skip_bom_drops_one_byte_order_mark(data: bytes, expected: bytes) -> None:
    assert contents({"skip_bom": {}}, data) == [expected]


def test_skip_bom_feeds_its_child() -> None:
    assert contents({"skip_bom": {"into": {"lines": {}}}}, b"\xef\xbb\xbfa\nb") == [b"a", b"b"]


@pytest.mark.parametrize(
    ("algorithm", "pack"),
    [
        ("gzip", gzip.compress),
        ("pgzip", lambda b: gzip.compress(b[:5]) + gzip.compress(b[5:])),  # two members back to back
        ("zlib", zlib.compress),
        ("flate", lambda b: zlib.compress(b, wbits=-15)),
        ("bzip2", bz2.compress),
        ("snappy", lambda b: bytes(cramjam.snappy.compress(b))),
        ("lz4", lambda b: bytes(cramjam.lz4.compress(b))),
    ],
)
def test_decompress_feeds_the_decompressed_bytes_to_its_child(algorithm: str, pack: Any) -> None:
    data = pack(b"one\ntwo\nthree\n")
    assert contents({"decompress": {"algorithm": algorithm, "into": {"lines": {}}}}, data) == [b"one", b"two", b"three"]
    assert contents({"decompress": {"algorithm": algorithm}}, data) == [b"one\ntwo\nthree\n"]  # into to_the_end


def test_decompress_fails_on_bytes_of_another_algorithm_or_a_cut_stream() -> None:
    with pytest.raises(ScanError, match="^gzip: "):
        scan({"decompress": {"algorithm": "gzip"}}, b"not gzip at all")
    with pytest.raises(ScanError, match="unexpected EOF"):
        scan({"decompress": {"algorithm": "gzip"}}, gzip.compress(b"x" * 100)[:-10])


def tar_of(entries: list[tuple[str, bytes]], form: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=form) as archive:
        for name, body in entries:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def test_tar_gives_each_file_with_its_name_long_names_included() -> None:
    long_name = "dir/" + "n" * 150 + ".txt"
    for form in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        data = tar_of([("first.txt", b"hello world"), (long_name, b"x" * 600), ("empty", b"")], form)
        for step in (0, 1, 100):
            got = [(m.metadata["tar_name"], m.content) for m in scan({"tar": {}}, data, step=step)]
            assert got == [("first.txt", b"hello world"), (long_name, b"x" * 600), ("empty", b"")]


def test_tar_fails_on_a_cut_archive_or_a_bad_header() -> None:
    data = tar_of([("a", b"x" * 1000)])
    with pytest.raises(ScanError, match="unexpected EOF"):
        scan({"tar": {}}, data[:900])
    with pytest.raises(ScanError, match="invalid tar header"):
        scan({"tar": {}}, b"y" * 512)


# -- switch -------------------------------------------------------------------------------------


SWITCH = {
    "switch": [
        {"re_match_name": r"\.csv$", "scanner": {"csv": {}}},
        {"re_match_name": r"\.csv\.gz$", "scanner": {"decompress": {"algorithm": "gzip", "into": {"csv": {}}}}},
        {"scanner": {"to_the_end": {}}},
    ]
}


def test_switch_picks_the_first_case_matching_the_source_name_and_falls_through_to_a_catch_all() -> None:
    assert [m.value for m in scan(SWITCH, b"a\n1\n", "/export/day.csv")] == [{"a": "1"}]
    assert [m.value for m in scan(SWITCH, gzip.compress(b"a\n2\n"), "/export/day.csv.gz")] == [{"a": "2"}]
    assert [m.content for m in scan(SWITCH, b"a\n1\n", "/export/day.txt")] == [b"a\n1\n"]


def test_switch_without_a_matching_case_fails_the_source() -> None:
    with pytest.raises(ScanError, match="source details did not match against any scanners"):
        scan({"switch": [{"re_match_name": "x$", "scanner": {"lines": {}}}]}, b"a", "/y")


# -- configs ------------------------------------------------------------------------------------


def test_config_problems_are_reported_with_their_path_inside_the_scanner_config() -> None:
    assert catalog.problems({"lines": {"max_bufer_size": 3}}) == [
        (("lines", "max_bufer_size"), "unknown field (did you mean 'max_buffer_size'?)")
    ]
    assert catalog.problems({"decompress": {"into": {"csvv": {}}}}) == [
        (("decompress", "into", "csvv"), "unknown scanner (did you mean 'csv'?)"),
        (("decompress", "algorithm"), "missing required field"),
    ]
    assert catalog.problems({"switch": [{"scanner": {"lines": {"omit_empty": "yes"}}}, {"re_match_name": "x"}]}) == [
        (("switch", 0, "scanner", "lines", "omit_empty"), "expected a boolean, got a string"),
        (("switch", 1, "scanner"), "missing required field"),
    ]
    assert catalog.problems({"lines": {}, "csv": {}}) == [((), "a scanner config names exactly one scanner, got 2 keys")]
    assert catalog.problems("lines") == [((), "expected a scanner object such as {lines: {}}, got a string")]


def test_values_only_a_scanner_can_judge_are_checked_by_building_it() -> None:
    assert catalog.problems({"re_match": {"pattern": "("}}) == [
        (("re_match", "pattern"), "invalid regular expression: missing ), unterminated subpattern at position 0")
    ]
    assert catalog.problems({"skip_bom": {"into": {"decompress": {"algorithm": "zip"}}}}) == [
        (
            ("skip_bom", "into", "decompress", "algorithm"),
            "decompression type not recognised: zip (expected one of: gzip, pgzip, zlib, flate, bzip2, snappy, lz4)",
        )
    ]
    assert catalog.problems({"chunker": {"size": 0}}) == [(("chunker", "size"), "must be at least 1 byte, got 0")]
    assert catalog.problems({"csv": {"parse_header_row": False, "expected_headers": ["a"]}}) == [
        (("csv", "expected_headers"), "expected_headers is set but parse_header_row is false")
    ]


def test_the_type_form_is_read_and_avro_is_refused_with_its_reason() -> None:
    assert contents({"type": "lines", "lines": {"custom_delimiter": ";"}}, b"a;b") == [b"a", b"b"]
    assert contents({"type": "to_the_end"}, b"a;b") == [b"a;b"]
    assert catalog.problems({"avro": {}}) == [(("avro",), catalog.REFUSED["avro"])]
    assert "not supported by this gateway" in catalog.REFUSED["avro"]


# -- xml_documents --------------------------------------------------------------------------------

XML = {"xml_documents": {"operator": "to_json"}}


@pytest.mark.parametrize(
    "data, documents",
    [
        (b"<a>a0</a>\n<a>a1</a>\n<a>a2</a>\n<a>a3</a>\n<a>a4</a>\n", [{"a": f"a{i}"} for i in range(5)]),
        (b"<a>a0</a>invalid\n<a>a1</a>\n", [{"a": "a0"}, {"a": "a1"}]),
        (b"<a>\n\t\ta0\n\t</a>\n<a>\n\ta1\n</a>\n<a>\n\ta2\n</a>\n", [{"a": "a0"}, {"a": "a1"}, {"a": "a2"}]),
        (b"<a><b>ab0</b></a>\n<a><b>ab1</b></a>\n", [{"a": {"b": "ab0"}}, {"a": {"b": "ab1"}}]),
        (
            b"<a>\n\t<b>\n\t\tab0\n\t</b>\n\t<c>\n\t\tac0\n\t</c>\n</a>\n<a>\n\t<b>\n\t\tab1\n\t</b>\n\t<c>\n\t\tac1\n\t</c>\n</a>\n",
            [{"a": {"b": "ab0", "c": "ac0"}}, {"a": {"b": "ab1", "c": "ac1"}}],
        ),
        (
            b'<?xml version="1.0"?>\n<!-- first --><r n="1"><x>1</x><x>2</x></r><r n=2/>',
            [{"r": {"-n": "1", "x": ["1", "2"]}}, {"r": {"-n": "2"}}],
        ),
        (b"", []),
        (b"  only text  ", []),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\xe9</a>\n<b>\xc3\xa9</b>', [{"a": "caf\u00e9"}, {"b": "\u00e9"}]),
    ],
)
def test_xml_documents_gives_a_message_per_document(data: bytes, documents: list[Any]) -> None:
    for step in (0, 1, 3, 7):
        assert [m.value for m in scan(XML, data, step=step)] == documents, f"fed {step} bytes at a time"


def test_xml_documents_accepts_cast_but_like_bento_keeps_values_as_strings() -> None:
    conf = {"xml_documents": {"operator": "to_json", "cast": True}}
    assert [m.value for m in scan(conf, b"<a n='1'>true</a>")] == [{"a": {"#text": "true", "-n": "1"}}]


def test_xml_documents_fails_at_the_first_bad_document_after_the_good_ones() -> None:
    scanner = catalog.make(XML)("")
    # </c> closes <b> (the decoder is lenient), so the </b> after it is a stray end tag.
    assert [m.value for m in scanner.feed(b"<a>1</a><b>2</c></b><c/>")] == [{"a": "1"}, {"b": "2"}]
    with pytest.raises(ScanError, match=r"^xml.Decoder.Token\(\) - XML syntax error on line 1: unexpected end element </b>$"):
        scanner.end()
    unfinished = catalog.make(XML)("")
    assert [m.value for m in unfinished.feed(b"<a>1</a><b>")] == [{"a": "1"}]
    with pytest.raises(ScanError, match="unexpected EOF"):
        unfinished.end()


def test_xml_documents_needs_the_to_json_operator() -> None:
    assert catalog.problems({"xml_documents": {}}) == [(("xml_documents", "operator"), "operator not recognised: ")]
    assert catalog.problems({"xml_documents": {"operator": "to_yaml"}}) == [
        (("xml_documents", "operator"), "operator not recognised: to_yaml")
    ]
    assert catalog.problems({"xml_documents": {"operator": "to_json", "cats": True}}) == [
        (("xml_documents", "cats"), "unknown field (did you mean 'cast'?)")
    ]


# -- the deprecated codec string -----------------------------------------------------------------


def test_a_deprecated_codec_reads_as_the_equivalent_scanner() -> None:
    assert contents(scanner_of_codec("lines", 100), b"a\r\nb") == [b"a", b"b"]
    assert contents(scanner_of_codec("delim:a/b", 100), b"1a/b2") == [b"1", b"2"]
    assert contents(scanner_of_codec("regex:(?m)^#", 100), b"#1\n#2") == [b"#1\n", b"#2"]
    assert contents(scanner_of_codec("chunker:2", 100), b"abc") == [b"ab", b"c"]
    assert contents(scanner_of_codec("all-bytes", 100), b"a\nb") == [b"a\nb"]
    data = gzip.compress(b"\xef\xbb\xbfa;b\n1;2\n")
    assert [m.value for m in scan(scanner_of_codec("gzip/skipbom/csv:;", 100), data)] == [{"a": "1", "b": "2"}]
    with pytest.raises(ScanError, match="token too long"):
        scan(scanner_of_codec("lines", 4), b"12345\n")


def test_codecs_not_taken_are_named() -> None:
    with pytest.raises(ValueError, match="unable to follow codec 'csv' with 'tar'"):
        scanner_of_codec("csv/tar", 100)
    with pytest.raises(ValueError, match="^'multipart' is not supported"):
        scanner_of_codec("lines/multipart", 100)
    with pytest.raises(ValueError, match="^'csv-safe' is not supported"):
        scanner_of_codec("csv-safe", 100)
    with pytest.raises(ValueError, match="^'chunker:x' is not supported"):
        scanner_of_codec("chunker:x", 100)
