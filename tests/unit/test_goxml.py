"""XML to values as Bento converts it (Go's non-strict ``encoding/xml`` read into a map by mxj):
the conversion rules, the decoder's lenient syntax and error texts, streams of documents, and
hostile input. Expected values are Bento's documented examples and test cases, and otherwise
what Go's decoder and mxj v2.7.0, set up as Bento sets them, give for the same bytes."""

from __future__ import annotations

import math

import pytest

from streams.bloblang import goxml
from streams.bloblang.goxml import Truncated, XmlError, documents, next_document, to_map

ROOT_WITH_ELEMENTS = b"""<root>
  <title>This is a title</title>
  <description tone="boring">This is a description</description>
  <elements id="1">foo1</elements>
  <elements id="2">foo2</elements>
  <elements>foo3</elements>
</root>"""


@pytest.mark.parametrize(
    "xml, value",
    [
        (b"<root>\n  <next>foo1</next>\n</root>", {"root": {"next": "foo1"}}),
        (b"<root>\n  <next>foo&amp;bar</next>\n</root>", {"root": {"next": "foo&bar"}}),
        (
            b"<root>\n  <next>foo1</next>\n  <inner>\n  \t<thing>10</thing>\n  </inner>\n</root>",
            {"root": {"inner": {"thing": "10"}, "next": "foo1"}},
        ),
        (
            b"<root>\n  <next>foo1</next>\n  <next>foo2</next>\n  <next>foo3</next>\n</root>",
            {"root": {"next": ["foo1", "foo2", "foo3"]}},
        ),
        (
            b'<root isRooted="true">\n  <next withinRoot="yes">foo1</next>\n  <inner>\n'
            b'  \t<thing someAttr="is boring" someAttr2="is also boring">10</thing>\n  </inner>\n</root>',
            {
                "root": {
                    "-isRooted": "true",
                    "inner": {"thing": {"#text": "10", "-someAttr": "is boring", "-someAttr2": "is also boring"}},
                    "next": {"#text": "foo1", "-withinRoot": "yes"},
                }
            },
        ),
        (
            ROOT_WITH_ELEMENTS,
            {
                "root": {
                    "description": {"#text": "This is a description", "-tone": "boring"},
                    "elements": [{"#text": "foo1", "-id": "1"}, {"#text": "foo2", "-id": "2"}, "foo3"],
                    "title": "This is a title",
                }
            },
        ),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<a><b>Hello world!</b></a>', {"a": {"b": "Hello world!"}}),
    ],
)
def test_bentos_xml_cases(xml: bytes, value: object) -> None:
    assert to_map(xml) == value


@pytest.mark.parametrize(
    "xml, value",
    [
        (b"<a/>", {"a": ""}),
        (b"<a>  </a>", {"a": ""}),
        (b"<a x='1'/>", {"a": {"-x": "1"}}),
        (b"<a>t1<b>c</b>t2</a>", {"a": {"#text": "t1", "b": "c"}}),  # text first: it wins
        (b"<a><b>c</b>t2</a>", {"a": {"#text": "t2", "b": "c"}}),
        (b"<a>t1<!-- c -->t2</a>", {"a": "t2"}),  # the last piece of text is the value
        (b"<a><![CDATA[<y>&amp;]]></a>", {"a": "<y>&amp;"}),
        (b"<a><b/><b/><c/><b>t</b></a>", {"a": {"b": ["", "", "t"], "c": ""}}),
        (b"<a><b><c>deep</c></b><b><c>d2</c><c>d3</c></b></a>", {"a": {"b": [{"c": "deep"}, {"c": ["d2", "d3"]}]}}),
        (b"<a:x xmlns:a='u'><b:y>1</b:y><y>2</y></a:x>", {"x": {"-a": "u", "y": ["1", "2"]}}),
        (b"<a xml:lang='en' xmlns='u' xmlns:p='v'>t</a>", {"a": {"#text": "t", "-lang": "en", "-p": "v", "-xmlns": "u"}}),
        (b"<?pi stuff?><!-- c --><a>1</a>trailing<b/>", {"a": "1"}),
        (b"\xef\xbb\xbf<a>bom</a>", {"a": "bom"}),
        (b"<a>\r\nx\ry\r</a>", {"a": "x\ny"}),
        (b"<a>&#65;&#x42;&#X43;</a>", {"a": "AB&#X43;"}),
        (b"<a>&#;&#x;&;& &amp</a>", {"a": "&#;&#x;&;& &amp"}),
        (b"<\xc3\xa9l\xc3\xa8ve>\xc3\xa9</\xc3\xa9l\xc3\xa8ve>", {"\u00e9l\u00e8ve": "\u00e9"}),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<a>caf\xe9 \x80</a>', {"a": "caf\u00e9 \u20ac"}),  # read as windows-1252
        (b'<?xml version="1.0" encoding="UTF-16"?><\x00a\x00>\x00\xe9\x00<\x00/\x00a\x00>\x00', {"a": "\u00e9"}),  # little-endian
    ],
)
def test_conversion_rules(xml: bytes, value: object) -> None:
    assert to_map(xml) == value


@pytest.mark.parametrize(
    "xml, value",
    [
        (b"<n id=99>123</n>", {"n": {"#text": "123", "-id": "99"}}),  # unquoted value
        (b"<a b c=d e='f'/>", {"a": {"-b": "b", "-c": "d", "-e": "f"}}),  # no value: the name
        (b"<a b=>t</a>", {"a": {"#text": "t", "-b": ""}}),
        (b"<a>foo&lt;&ndash;&circ;&amp;bar</a>", {"a": "foo<&ndash;&circ;&bar"}),  # unknown entities kept
        (b"<a x='a&amp;b&ndash;c'/>", {"a": {"-x": "a&b&ndash;c"}}),
        (b"<a><b></a>", {"a": {"b": ""}}),  # a stray end tag closes the open elements
        (b"<a><b><c></a>", {"a": {"b": {"c": ""}}}),
        (b"<a></b>", {"a": ""}),
    ],
)
def test_lenient_syntax_bento_accepts(xml: bytes, value: object) -> None:
    assert to_map(xml) == value


def test_cast_turns_numbers_and_booleans_as_go_parses_them() -> None:
    xml = (
        b"<a><b>1</b><b>2.5</b><c>true</c><d>T</d><e>yes</e><f>nan</f><g>Inf</g><h>-inf</h><i>1e3</i>"
        b"<j>0x10p0</j><k>1_000</k><l>+5</l><m>.5</m><n>FALSE</n><o>1e400</o><p>0</p></a>"
    )
    assert to_map(xml, cast=True) == {
        "a": {
            "b": [1, 2.5], "c": True, "d": True, "e": "yes", "f": "nan", "g": "Inf", "h": "-inf", "i": 1000,
            "j": 16, "k": 1000, "l": 5, "m": 0.5, "n": False, "o": "1e400", "p": 0,
        }
    }  # fmt: skip
    assert to_map(b"<a i='1' j='t' k='x'>2</a>", cast=True) == {"a": {"#text": 2, "-i": 1, "-j": True, "-k": "x"}}
    assert to_map(b"<a>1</a>", cast=False) == {"a": "1"}
    assert isinstance(goxml.cast_value("7"), float)
    assert goxml.cast_value("+Inf") == math.inf  # only nan, inf and -inf are kept as text


@pytest.mark.parametrize(
    "xml, error",
    [
        (b"", "EOF"),
        (b"just text", "EOF"),
        (b"<a><b>x</b>", "xml.Decoder.Token() - XML syntax error on line 1: unexpected EOF"),
        (
            b"<a>\n  <b>\n    <c>1</c>\n  </b>\n  <d>]]></d>\n</a>",
            "xml.Decoder.Token() - XML syntax error on line 5: unescaped ]]> not in CDATA section",
        ),
        (b"<a><b xmlns:x='u'></a>", "xml.Decoder.Token() - XML syntax error on line 1: unexpected end element </a>"),
        (b"<x:a></y:a>", "xml.Decoder.Token() - XML syntax error on line 1: element <a> in space x closed by </a> in space y"),
        (b"</a><a/>", "xml.Decoder.Token() - XML syntax error on line 1: unexpected end element </a>"),
        (b"<a>\xff</a>", "xml.Decoder.Token() - XML syntax error on line 1: invalid UTF-8"),
        (b"<a>&#0;</a>", "xml.Decoder.Token() - XML syntax error on line 1: illegal character code U+0000"),
        (
            b"<a><!-- x -- y --></a>",
            'xml.Decoder.Token() - XML syntax error on line 1: invalid sequence "--" not allowed in comments',
        ),
        (b"<a><![CDATA[x", "xml.Decoder.Token() - XML syntax error on line 1: unexpected EOF in CDATA section"),
        (b"<1a/>", "xml.Decoder.Token() - XML syntax error on line 1: invalid XML name: 1a"),
        (b"<a></a x>", "xml.Decoder.Token() - XML syntax error on line 1: invalid characters between </a and >"),
        (b"<a x='<'/>", "xml.Decoder.Token() - XML syntax error on line 1: unescaped < inside quoted string"),
        (b'<?xml version="1.1"?><a/>', 'xml.Decoder.Token() - xml: unsupported version "1.1"; only version 1.0 is supported'),
        (
            b'<?xml version="1.0" encoding="nope"?><a/>',
            'xml.Decoder.Token() - xml: opening charset "nope": unsupported charset: "nope"',
        ),
    ],
)
def test_errors_read_as_bentos(xml: bytes, error: str) -> None:
    with pytest.raises(XmlError) as caught:
        to_map(xml)
    assert str(caught.value) == error


def test_declared_entities_are_never_expanded_nor_fetched() -> None:
    laughs = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    assert to_map(laughs) == {"lolz": "&lol2;"}
    external = b'<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>'
    assert to_map(external) == {"foo": "&xxe;"}
    commented = b"<!DOCTYPE a [<!ENTITY e 'boom'> <!-- c > -->]><a>&e;</a>"
    assert to_map(commented) == {"a": "&e;"}


def test_nesting_deeper_than_the_recursion_limit_is_read() -> None:
    depth = 100_000
    value: object = to_map(b"<a>" * depth + b"x" + b"</a>" * depth)
    for _ in range(depth):
        assert isinstance(value, dict)
        value = value["a"]
    assert value == "x"


def test_documents_of_a_stream_as_bentos_scanner_reads_them() -> None:
    assert list(documents(b"<a>a0</a>\n<a>a1</a>\n<a>a2</a>\n")) == [{"a": "a0"}, {"a": "a1"}, {"a": "a2"}]
    assert list(documents(b"<a>a0</a>invalid\n<a>a1</a>\n")) == [{"a": "a0"}, {"a": "a1"}]
    assert list(documents(b"<a>\n\t\ta0\n\t</a>\n<a>\n\ta1\n</a>\n")) == [{"a": "a0"}, {"a": "a1"}]
    assert list(documents(b"<a>a0</a>\n<b>\n</a>")) == [{"a": "a0"}, {"b": ""}]
    assert list(documents(b"")) == []


def test_a_bad_document_stops_the_stream_after_the_good_ones() -> None:
    got = []
    with pytest.raises(XmlError, match=r"on line 1: unexpected end element </a>"):
        for doc in documents(b"<a>a0</a>\n<a>\n<b>x</c></a>\n<a><b>\n"):
            got.append(doc)
    assert got == [{"a": "a0"}, {"a": {"b": "x"}}]  # </c> closed b and a; the </a> after is stray


def test_next_document_says_where_it_ends_and_when_more_bytes_are_needed() -> None:
    data = b"<a>1</a> <b>2"
    assert next_document(data, 0) == ({"a": "1"}, 8)
    with pytest.raises(Truncated):
        next_document(data, 8)
    assert next_document(b"<a>1</a>  ", 8) is None
    with pytest.raises(Truncated):
        next_document(b"<a>1</a> tex", 8, final=False)  # text that may go on
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a><b>2</b>'
    doc, end = next_document(latin, 0)  # type: ignore[misc]
    assert (doc, latin[end:]) == ({"a": "\u00e9"}, b"<b>2</b>")  # the end is where it was in the input
