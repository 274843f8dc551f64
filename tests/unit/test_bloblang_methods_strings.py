"""String Manipulation methods, called through the method registry with Benthos's texts."""

from __future__ import annotations

from typing import Any

import pytest

import streams.bloblang.lib_strings  # noqa: F401  (registers the methods)
from streams.bloblang.errors import ExecError
from streams.bloblang.gofmt import go_sprintf, go_unquote
from streams.bloblang.registry import METHODS
from streams.bloblang.values import JsonFloat, go_quote


def call(name: str, target: Any, *args: Any) -> Any:
    return METHODS[name].impl(target, *args)


@pytest.mark.parametrize(
    "name, target, args, expected",
    [
        ("capitalize", "the foo bar", (), "The Foo Bar"),
        ("capitalize", "hELLO wORLD", (), "Hello World"),
        ("capitalize", "they're here", (), "They're Here"),
        ("capitalize", "foo-bar baz_qux", (), "Foo-Bar Baz_qux"),
        ("capitalize", b"abc def", (), b"Abc Def"),
        ("uppercase", "hello world", (), "HELLO WORLD"),
        ("uppercase", "straße", (), "STRAßE"),
        ("capitalize", "ßa", (), "Ssa"),
        # An ideograph stands alone as a word, so the letter after it starts a new one.
        ("capitalize", "x中'a", (), "X中'A"),
        ("capitalize", "ΑΣ ΑΣΑ", (), "Ας Ασα"),
        ("capitalize", "ｱc٣\xadǆ", (), "ｱC٣\xadǆ"),
        ("lowercase", "İSTANBUL", (), "istanbul"),
        ("uppercase", b"abc", (), b"ABC"),
        ("lowercase", "User@Example.COM", (), "user@example.com"),
        ("contains", "this foo that", ("foo",), True),
        ("contains", "a1b", (1,), True),
        ("contains", b"bytes", ("yte",), True),
        ("contains", ["this", "foo"], ("foo",), True),
        ("contains", [10.3, 20.0, "huh"], (20,), True),
        ("contains", [2, 3, 40], (20,), False),
        ("contains", {"a": "x", "b": 5}, (5.0,), True),
        ("has_prefix", "foobar", ("foo",), True),
        ("has_prefix", "barfoo", ("foo",), False),
        ("has_suffix", b"barfoo", ("foo",), True),
        ("index_of", "foobar", ("bar",), 3),
        ("index_of", "the cat meowed", ("meow",), 8),
        ("index_of", "héllo", ("l",), 3),
        ("index_of", "abc", ("z",), -1),
        ("length", "hello world", (), 11),
        ("length", "héllo", (), 6),
        ("length", ["first", "second"], (), 2),
        ("length", {"a": 1, "b": 2}, (), 2),
        ("escape_html", "<script>alert('xss')</script>", (), "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;"),
        ("escape_html", '"q"', (), "&#34;q&#34;"),
        ("unescape_html", "&lt;p&gt;Hello &amp; goodbye&lt;/p&gt;", (), "<p>Hello & goodbye</p>"),
        ("escape_url_query", "hello world!", (), "hello+world%21"),
        ("escape_url_query", "foo & bar", (), "foo+%26+bar"),
        ("escape_url_query", "é~", (), "%C3%A9~"),
        ("unescape_url_query", "foo+%26+bar", (), "foo & bar"),
        ("escape_url_path", "foo & bar", (), "foo%20&%20bar"),
        ("escape_url_path", "a/b;c,d?e", (), "a%2Fb%3Bc%2Cd%3Fe"),
        ("unescape_url_path", "my%20document+x.pdf", (), "my document+x.pdf"),
        ("quote", "foo\nbar", (), '"foo\\nbar"'),
        ("quote", "tab\there \x01 é", (), '"tab\\there \\x01 é"'),
        ("unquote", '"foo\\nbar"', (), "foo\nbar"),
        ("unquote", "`raw\\n`", (), "raw\\n"),
        ("unquote", '"\\u00e9\\x41\\101"', (), "éAA"),
        ("filepath_join", ["/foo/", "bar.txt"], (), "/foo/bar.txt"),
        ("filepath_join", ["a", "", "../b", "./c"], (), "b/c"),
        ("filepath_join", ["", ""], (), ""),
        ("filepath_split", "/foo/bar.txt", (), ["/foo/", "bar.txt"]),
        ("filepath_split", "baz.txt", (), ["", "baz.txt"]),
        ("format", "%s(%v): %v", ("lance", 37, 13), "lance(37): 13"),
        ("repeat", "bob", (3,), "bobbobbob"),
        ("repeat", "bob", (0,), ""),
        ("repeat", b"ab", (2,), b"abab"),
        ("replace_all", "The foo ate my foo", ("foo", "dog"), "The dog ate my dog"),
        ("replace_all", "abc", ("", "-"), "-a-b-c-"),
        ("replace", b"aXa", ("a", "b"), b"bXb"),
        (
            "replace_all_many",
            "<i>Hello</i> <b>World</b>",
            (["<b>", "&lt;b&gt;", "</b>", "&lt;/b&gt;", "<i>", "&lt;i&gt;", "</i>", "&lt;/i&gt;"],),
            "&lt;i&gt;Hello&lt;/i&gt; &lt;b&gt;World&lt;/b&gt;",
        ),
        ("replace_many", "aab", (["a", "b", "b", "c"],), "ccc"),
        ("reverse", "backwards", (), "sdrawkcab"),
        ("reverse", "héllo", (), "olléh"),
        ("reverse", b"abc", (), b"cba"),
        ("slice", "foo bar", (0, 2), "fo"),
        ("slice", "foo bar", (4, None), "bar"),
        ("slice", "foo bar", (-4, None), " bar"),
        ("slice", "foo bar", (0, -4), "foo"),
        ("slice", ["foo", "bar", "baz", "buz", "bev"], (-2, None), ["buz", "bev"]),
        ("slice", "abc", (1, 100), "bc"),
        ("slice", "abc", (-100, None), "abc"),
        ("split", "foo,bar,baz", (",",), ["foo", "bar", "baz"]),
        ("split", "foo,,qux", (",", True), ["foo", None, "qux"]),
        ("split", "héy", ("",), ["h", "é", "y"]),
        ("split", "", ("",), []),
        ("split", "", (",",), [""]),
        ("split", b"a,b", (",",), [b"a", b"b"]),
        ("trim", "  something happened! ", (), "something happened!"),
        ("trim", "!!!watch out!?", ("!?",), "watch out"),
        ("trim", "\x1cx\x1c", (), "\x1cx\x1c"),
        ("trim_prefix", "foobar_blobton", ("foobar_",), "blobton"),
        ("trim_prefix", "unchanged", ("foobar_",), "unchanged"),
        ("trim_suffix", "blobton_foobar", ("_foobar",), "blobton"),
    ],
)
def test_string_methods(name: str, target: Any, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, target, *args) == expected


@pytest.mark.parametrize(
    "name, target, args, error",
    [
        ("uppercase", 5, (), "expected string value, got number (5)"),
        ("capitalize", None, (), "expected string value, got null"),
        ("contains", 5, ("x",), "expected string, array or object value, got number (5)"),
        ("length", True, (), "expected string, array or object value, got bool (true)"),
        ("escape_html", [1], (), "expected string value, got array"),
        ("unescape_url_query", "foo%zzbar", (), 'invalid URL escape "%zz"'),
        ("unescape_url_path", "ab%4", (), 'invalid URL escape "%4"'),
        ("unquote", "foo", (), "invalid syntax"),
        ("unquote", '"a\\qb"', (), "invalid syntax"),
        ("filepath_join", "nope", (), 'expected array value, got string ("nope")'),
        ("filepath_join", ["a", 1], (), "path element 1: expected string value, got number (1)"),
        ("repeat", "x", (-1,), "invalid count, must be greater than or equal to zero: -1"),
        (
            "replace_all_many",
            "x",
            (["a", "b", "c"],),
            "invalid arg, replacements should be in pairs and must therefore be even: [a b c]",
        ),
        ("replace_all_many", "x", (["a", 1],), "invalid replacement value at index 1: expected string value, got number (1)"),
        ("slice", "abc", (2, 1), "lower slice bound 2 must be lower than upper (1)"),
        (
            "slice",
            "abc",
            (5, None),
            "lower slice bound 5 must be lower than or equal to upper bound (3) and target length (3)",
        ),
        ("slice", 5, (0, None), "expected array or string value, got number (5)"),
        ("reverse", [1, 2], (), "expected string value, got array"),
    ],
)
def test_string_method_errors(name: str, target: Any, args: tuple[Any, ...], error: str) -> None:
    with pytest.raises(ExecError) as err:
        call(name, target, *args)
    assert str(err.value) == error


@pytest.mark.parametrize(
    "fmt, args, expected",
    [
        ("%d|%5.2f|%-4d|%04d", (5, 3.14159, 7, -42), "5| 3.14|7   |-042"),
        ("%x %X %o %b %#x", (255, 255, 8, 5, 255), "ff FF 10 101 0xff"),
        ("%q %v %v %t", ('a"b', [1, "a", None], {"b": 1, "a": [2]}, True), '"a\\"b" [1 a <nil>] map[a:[2] b:1] true'),
        ("%v %v %v", (1e6, 1.5, 100000.0), "1e+06 1.5 100000"),
        ("%e %g %.3g %.1f", (123456.789, 0.00001234, 1234.5678, 2.25), "1.234568e+05 1.234e-05 1.23e+03 2.2"),
        ("%s %x", (b"hi", "hi"), "hi 6869"),
        ("%T %T %T %T", (1, 1.0, "s", [1]), "int64 float64 string []interface {}"),
        ("%d %s", ("x",), "%!d(string=x) %!s(MISSING)"),
        ("%s", ("a", 1), "a%!(EXTRA int64=1)"),
        ("%d", (1.5,), "%!d(float64=1.5)"),
        ("100%% %5s|%-5s|", ("ab", "cd"), "100%    ab|cd   |"),
        ("%+d % d %+.1f", (3, 3, 2.0), "+3  3 +2.0"),
        ("%*d|%.*f", (4, 7, 2, 3.14159), "   7|3.14"),
        ("%c%c %U", (72, 105, 0x1F600), "Hi U+1F600"),
        ("%", (), "%!(NOVERB)"),
        ("%v", (None,), "<nil>"),
        ("%[2]d %[1]d %d", (1, 2), "2 1 2"),
        ("%[3]d", (1, 2), "%!d(BADINDEX)"),
        ("%05s|%x|%#g", ("ab", 3.5, 1.0), "000ab|0x1.cp+01|1.00000"),
        ("%s", ({"b": [JsonFloat("1.5"), 2.5, "x", None]},), "map[b:[1.5 %!s(float64=2.5) x <nil>]]"),
        ("%v %f", (JsonFloat("5.0"), JsonFloat("5.0")), "5.0 %!f(json.Number=5.0)"),
        ("%s", (None,), "%!s(<nil>)"),
    ],
)
def test_go_sprintf(fmt: str, args: tuple[Any, ...], expected: str) -> None:
    assert go_sprintf(fmt, args) == expected


def test_quote_round_trips_through_unquote() -> None:
    for text in ["plain", "new\nline", 'q"uote', "back\\slash", "é and \u2028", "\x00\x7f"]:
        assert go_unquote(go_quote(text)) == text


BENTHOS_CASES = [
    ("root = this.s.unescape_html()", "{\"s\":\"&#x;&#;&#0;&#150;&#9999999999;&notit;&not&copyx&amp;lt;\"}"),
    ("root = this.s.capitalize()", "{\"s\":\"ｱc٣\\u00adǆﬁΑ _·中cÉ\\u00adc1 '\\u05e9BΣ ǅ)σ'ｱⓐⓐ\"}"),
    ("root = this.s.capitalize()", "{\"s\":\"x\u4e2d'a b\u4e2d'\u00e9 x.'a\"}"),
    ("root = this.s.bytes().capitalize()", "{\"s\":\"x\u4e2d'a\"}"),
    ("root = \"%v %d\".format(this.n, this.n)", "{\"n\":9223372036854775807}"),
    ("root = \"%s\".format(this.a)", "{\"a\":{\"b\":[1,2.5,\"x\",null]}}"),
    ("root = \"%d\".format(this.a)", "{\"a\":[1,2]}"),
    ("root = \"%d %d %d %d\".format(this.n.int64(), this.n.round(), this.n.ceil(), this.n.abs())", "{\"n\":5}"),
    ("root = \"%v|%5d|%-6s|%T\".format(this.n, this.n, this.n, this.n)", "{\"n\":5}"),
    ("root = this.s.capitalize()", "{\"s\":\"2nd place they're here foo.bar foo_bar o'neil ÉCOLE éa ǆemal ßa\"}"),
    ("root = this.s.capitalize()", "{\"s\":\"hello   world\\tx-y/z\"}"),
    ("root = this.s.uppercase()", "{\"s\":\"straße ǆ ﬁ\"}"),
    ("root = this.s.lowercase()", "{\"s\":\"İSTANBUL ǅ\"}"),
    ("root = this.s.length()", "{\"s\":\"héllo 😀\"}"),
    ("root = this.s.index_of(\"l\")", "{\"s\":\"héllo\"}"),
    ("root = this.s.slice(1, 3)", "{\"s\":\"héllo\"}"),
    ("root = this.s.slice(-2)", "{\"s\":\"héllo😀\"}"),
    ("root = this.s.reverse()", "{\"s\":\"héllo😀\"}"),
    ("root = this.s.quote()", "{\"s\":\"a\\u0000b\\u007f\\u00adc\\u2028d\\u00a0e😀\\u200b\\ufeff\"}"),
    ("root = this.s.unquote()", "{\"s\":\"'a'\"}"),
    ("root = this.s.unquote()", "{\"s\":\"'ab'\"}"),
    ("root = this.s.unquote()", "{\"s\":\"\\\"\\\\u00e9\\\\U0001F600\\\\101\\\\x41\\\"\"}"),
    ("root = this.s.unquote()", "{\"s\":\"\\\"\\\\'\\\"\"}"),
    ("root = this.s.unquote()", "{\"s\":\"`a\\\\nb`\"}"),
    ("root = this.s.escape_url_query()", "{\"s\":\"a b&c=d/e?f~g*h'i(j)k!l@m$n+o,p;q:r#s[t]u é\"}"),
    ("root = this.s.unescape_url_query()", "{\"s\":\"%zz\"}"),
    ("root = this.s.unescape_url_query()", "{\"s\":\"abc%\"}"),
    ("root = this.s.unescape_url_query()", "{\"s\":\"a%4\"}"),
    ("root = this.s.escape_html()", "{\"s\":\"<a href=\\\"x\\\">'&'</a>\"}"),
    ("root = this.s.unescape_html()", "{\"s\":\"&amp;&lt;&#39;&#x41;&copy;&notanentity;&amp\"}"),
    ("root = this.s.filepath_join()", "{\"s\":[\"a\",\"\",\"b/../c\",\"/d\"]}"),
    ("root = this.s.filepath_join()", "{\"s\":[\"\",\"x\"]}"),
    ("root = this.s.filepath_join()", "{\"s\":[]}"),
    ("root = this.s.filepath_join()", "{\"s\":[\"a\",1]}"),
    ("root = this.s.filepath_split()", "{\"s\":\"/a/b/\"}"),
    ("root = this.s.filepath_split()", "{\"s\":\"/\"}"),
    ("root = \"%v %v %v %v %v\".format(this.a, this.b, this.c, this.d, this.e)", "{\"a\":1,\"b\":1.5,\"c\":\"s\",\"d\":[1,\"x\",null,true],\"e\":{\"k\":{\"z\":1,\"a\":2}}}"),
    ("root = \"%d %s %x %q %5.1f %-6v| %06d %+d %e %g %G %t %T\".format(5, \"str\", 255, \"q\\\"\", 3.14159, \"ab\", -42, 3, 1234.5678, 0.000012345, 1e21, true, 1.5)", "{}"),
    ("root = \"%d %s\".format(\"x\")", "{}"),
    ("root = \"%s\".format(\"a\", 1, 2.5, null)", "{}"),
    ("root = \"%v|%s|%d\".format(null, null, null)", "{}"),
    ("root = \"%v %v\".format(1e6, 123456789.0)", "{}"),
    ("root = \"%x %X % x %#x\".format(\"hi\", \"hi\", \"hi\", \"hi\")", "{}"),
    ("root = \"%v %s %d\".format(this.b, this.b, this.b)", "{\"b\":\"aGk=\"}"),
    ("root = \"%v\".format(this.n)", "{\"n\":5.0}"),
    ("root = \"%v\".format(this.n)", "{\"n\":18446744073709551615}"),
    ("root = \"%5.2s|%.0f|%.3e|%08.3f|%x|%o|%b|%c|%U\".format(\"abcdef\", 2.5, 123.456, -3.14159, -255, 8, 5, 65, 9731)", "{}"),
    ("root = \"%v\".format(1.0/3.0)", "{}"),
    ("root = \"%3c|%-3c|%q\".format(65, 66, 67)", "{}"),
    ("root = \"%!\".format(1)", "{}"),
    ("root = \"%\".format()", "{}"),
    ("root = \"%[1]d %[1]v\".format(5)", "{}"),
    ("root = \"%*d|%-*d|\".format(5, 1, 4, 2)", "{}"),
    ("root = \"%v\".format(\"2020-01-02T03:04:05Z\".ts_parse(\"2006-01-02T15:04:05Z07:00\"))", "{}"),
    ("root = this.s.repeat(3)", "{\"s\":\"é\"}"),
    ("root = this.s.replace_all(\"\", \"-\")", "{\"s\":\"héy\"}"),
    ("root = this.s.replace_all_many([\"a\",\"b\",\"b\",\"c\"])", "{\"s\":\"ab\"}"),
    ("root = this.s.replace_all_many([\"a\",\"b\",\"c\"])", "{\"s\":\"ab\"}"),
    ("root = this.s.replace_all_many([\"a\",1])", "{\"s\":\"ab\"}"),
    ("root = this.s.replace_all_many([1,\"a\"])", "{\"s\":\"ab\"}"),
    ("root = this.s.split(\"\")", "{\"s\":\"héy\"}"),
    ("root = this.s.split(\"\")", "{\"s\":\"\"}"),
    ("root = this.s.trim()", "{\"s\":\"\\u001c\\u0085 \\u00a0 x \\u3000\\u200b\"}"),
    ("root = this.s.trim(\"ab\")", "{\"s\":\"abxba\"}"),
    ("root = this.s.trim(\"\")", "{\"s\":\" x \"}"),
    ("root = this.s.contains(1)", "{\"s\":\"a1b\"}"),
    ("root = this.s.contains(1.5)", "{\"s\":\"a1.5b\"}"),
    ("root = this.s.contains(null)", "{\"s\":\"anullb\"}"),
    ("root = this.s.contains([1])", "{\"s\":\"a[1]b\"}"),
    ("root = this.s.contains({\"a\":\"<\"})", "{\"s\":\"{\\\"a\\\":\\\"\\\\u003c\\\"}\"}"),
    ("root = this.s.contains(\"1\")", "{\"s\":[1,2]}"),
    ("root = this.s.contains(1)", "{\"s\":[\"1\",2]}"),
    ("root = this.s.contains(true)", "{\"s\":[1]}"),
    ("root = this.s.contains(1)", "{\"s\":[true]}"),
    ("root = this.s.has_prefix(\"\")", "{\"s\":\"x\"}"),
    ("root = this.s.trim_prefix(\"a\").trim_suffix(\"a\")", "{\"s\":\"aaa\"}"),
    ("root = this.s.slice(0, 0)", "{\"s\":\"abc\"}"),
    ("root = this.s.slice(3)", "{\"s\":\"abc\"}"),
    ("root = this.s.slice(4)", "{\"s\":\"abc\"}"),
    ("root = this.s.slice(-1, -2)", "{\"s\":\"abc\"}"),
    ("root = this.s.slice(1, -5)", "{\"s\":\"abc\"}"),
    ("root = this.s.slice(2, 1)", "{\"s\":\"abc\"}"),
    ("root = this.s.slice(0, 0)", "{\"s\":[1]}"),
    ("root = this.s.length()", "{\"s\":5}"),
    ("root = this.s.uppercase()", "{\"s\":5}"),
    ("root = this.s.uppercase()", "{}"),
    ("root = this.s.escape_html()", "{\"s\":5}"),
    ("root = this.s.repeat(-1)", "{\"s\":\"x\"}"),
    ("root = this.s.quote()", "{\"s\":null}"),
    ("root = this.s.contains(\"x\")", "{\"s\":5}"),
    ("root = content().uppercase()", "{\"s\":5}"),
    ("root = content().reverse()", "{\"s\":5}"),
    ("root = content().slice(2,4)", "{\"s\":5}"),
    ("root = content().split(\",\")", "a,b"),
    ("root = content().trim()", "  a  "),
    ("root = content().index_of(\"b\")", "a,b"),
    ("root = this.s.format(1)", "{\"s\":5}"),
    ("root = this.s.bytes().capitalize()", "{\"s\":\"abc def\"}"),
    ("root = this.s.bytes().trim(\"a\")", "{\"s\":\"abca\"}"),
    ("root = this.s.bytes().split(\"\")", "{\"s\":\"héy\"}"),
    ("root = this.s.bytes().repeat(2)", "{\"s\":\"ab\"}"),
    ("root = this.s.bytes().replace_all_many([\"a\",\"b\"])", "{\"s\":\"ab\"}"),
    ("root = this.s.bytes().filepath_split()", "{\"s\":\"a/b\"}"),
    ("root = \"%[2]d %[1]d %d\".format(1, 2)", "{}"),
    ("root = \"%[3]d\".format(1, 2)", "{}"),
    ("root = \"%[x]d\".format(1)", "{}"),
    ("root = \"%[2]*[1]d|\".format(12, 5)", "{}"),
    ("root = \"%-+5d|% 05d|%+.2e|%x\".format(3, 7, 12345.678, 3.5)", "{}"),
    ("root = \"%f %s %d %q\".format(this.n, this.n, this.n, this.n)", "{\"n\":5.5}"),
    ("root = \"%5t|%-5v|%05s|%.2s\".format(true, null, \"ab\", \"héllo\")", "{}"),
    ("root = \"%08.3f|%-8.2f|%+08d|%x|%X\".format(-3.14159, 2.5, 42, -1, \"é\")", "{}"),
    ("root = \"%v %v %v\".format(0.000001, 0.0000001, 1e20)", "{}"),
    ("root = \"%g %g %.2g %#g\".format(100000.0, 1000000.0, 123.0, 1.0)", "{}"),
    ("root = \"%q\".format([\"a\",\"b\"])", "{}"),
    ("root = \"%x\".format([10, 255])", "{}"),
    ("root = \"%v\".format(\"x\".bytes())", "{}"),
    ("root = \"%s %v %x\".format(nothing(), deleted(), 1)", "{}"),
    ("root = \"%c|%c\".format(-1, 1114112)", "{}"),
    ("root = \"%v\".format(-0.0)", "{}"),
    ("root = \"%v %.1f %e\".format(1.0/0.0, 0.05, 0.0)", "{}"),
    ("root = \"%6.2f|%-6.1e|\".format(3.14159, 31415.9)", "{}"),
    ("root = \"%t %t\".format(1, \"true\")", "{}"),
    ("root = \"%b %o %O\".format(-5, -8, 8)", "{}"),
    ("root = \"%U %#U\".format(65, 128512)", "{}"),
]

# --------------------------------------------------------------------------------------------
# Differential checks against Benthos itself (the Go reference built by tests/bloblang_ref): same
# parse errors (with positions), same execution errors, same bytes out.

@pytest.fixture(scope="module")
def benthos() -> Any:
    from tests.differential.ref import REF_BINARY, RefEvaluator

    if not REF_BINARY.exists():
        pytest.skip("the Benthos reference is not built (tests/bloblang_ref/build.sh)")
    ref = RefEvaluator()
    yield ref
    ref.close()


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "metadata"}


@pytest.mark.parametrize("mapping, content", BENTHOS_CASES)
def test_matches_benthos(benthos: Any, mapping: str, content: str) -> None:
    from tests.differential.ref import run_ours

    theirs = _outcome(benthos.run(mapping, content.encode()))
    ours = _outcome(run_ours(mapping, content.encode()))
    assert ours == theirs

