"""Regular Expression methods: Go RE2 syntax and semantics on Python's re."""

from __future__ import annotations

from typing import Any

import pytest

import streams.bloblang.lib_regex  # noqa: F401  (registers the methods)
from streams.bloblang.errors import ExecError
from streams.bloblang.lib_regex import compile_go
from streams.bloblang.library import METHODS
from tests.unit.bloblang_reference import assert_matches_benthos


def call(name: str, target: Any, *args: Any) -> Any:
    return METHODS[name].impl(target, *args)


@pytest.mark.parametrize(
    "name, target, args, expected",
    [
        ("re_find_all", "paranormal", ("a.",), ["ar", "an", "al"]),
        ("re_find_all", "I have 2 apples and 15 oranges", ("[0-9]+",), ["2", "15"]),
        # Go drops an empty match that abuts the previous match; Python's finditer keeps it.
        ("re_find_all", "baaac", ("a*",), ["", "aaa", ""]),
        ("re_find_all", b"x1y22", ("\\d+",), ["1", "22"]),
        ("re_find_all_submatch", "-axxb-ab-", ("a(x*)b",), [["axxb", "xx"], ["ab", ""]]),
        ("re_find_all_submatch", "ab", ("(x)?b",), [["b", ""]]),
        ("re_find_object", "-axxb-ab-", ("a(?P<foo>x*)b",), {"0": "axxb", "foo": "xx"}),
        ("re_find_object", "-axxb-ab-", ("a(?<foo>x*)(b)",), {"0": "axxb", "foo": "xx", "2": "b"}),
        ("re_find_object", "nothing", ("z(.)",), {}),
        ("re_find_object", b"ab", ("(?P<x>b)",), {"0": b"b", "x": b"b"}),
        (
            "re_find_all_object",
            "option1: value1\noption2: value2",
            ("(?m)(?P<key>\\w+):\\s+(?P<value>\\w+)$",),
            [
                {"0": "option1: value1", "key": "option1", "value": "value1"},
                {"0": "option2: value2", "key": "option2", "value": "value2"},
            ],
        ),
        ("re_match", "there are 10 puppies", ("[0-9]",), True),
        ("re_match", "there are ten puppies", ("[0-9]",), False),
        # Without (?m), Go's $ is the end of the text, not "before a final newline".
        ("re_match", "abc\n", ("c$",), False),
        ("re_match", "abc\n", ("(?m)c$",), True),
        ("re_match", "AbC", ("a(?i)bc",), False),
        ("re_match", "aBC", ("a(?i)bc",), True),
        ("re_match", "é", ("^\\w$",), False),
        ("re_match", "x9", ("^[[:alpha:]][[:digit:]]$",), True),
        ("re_match", "a.b", ("\\Qa.b\\E",), True),
        ("re_match", "axb", ("\\Qa.b\\E",), False),
        ("re_match", "end", ("end\\z",), True),
        ("re_replace_all", "foo ADD 70", ("ADD ([0-9]+)", "+($1)"), "foo +(70)"),
        ("re_replace_all", "alice@example.com", ("(\\w{2})\\w+@", "$1***@"), "al***@example.com"),
        # $1x names a group "1x", which does not exist: Go expands it to nothing.
        ("re_replace_all", "abc", ("(b)", "[$1x|${1}x|$$]"), "a[|bx|$]c"),
        ("re_replace_all", "abc", ("(?P<n>b)", "<$n>"), "a<b>c"),
        ("re_replace_all", "baaac", ("a*", "-"), "-b-c-"),
        ("re_replace", b"abc", ("b", "B"), "aBc"),
        # Flags set mid-group also rule the following alternatives.
        ("re_find_all", "aB C c", ("a(?i)b|c",), ["aB", "C", "c"]),
        ("re_find_all", "ab12cd", ("[[:^alpha:]]+",), ["12"]),
        ("re_find_all", "a1 2b", ("[\\D]+",), ["a", " ", "b"]),
        ("re_find_all", "a1 2b", ("\\W",), [" "]),
        # Go allows a group name twice; the object keeps the later group.
        ("re_find_object", "ab", ("(?P<n>a)(?P<n>b)",), {"0": "ab", "n": "b"}),
        ("re_replace_all", "ab", ("(?P<n>a)(?P<n>b)", "<$n>"), "<a>"),
        ("re_find_object", "ab", ("(?P<1a>a)",), {"0": "a", "1a": "a"}),
        # After an empty match Go moves on; Python would retry the same spot for "a".
        ("re_find_all_submatch", "xa", ("a*?",), [[""], [""], [""]]),
        ("re_replace_all", "xay", ("a*?", "-"), "-x-a-y-"),
        # RE2's \b is ASCII-only.
        ("re_replace_all", "é9ǅ", ("\\b", "|"), "é|9|ǅ"),
    ],
)
def test_regex_methods(name: str, target: Any, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, target, *args) == expected


def test_ungreedy_flag_swaps_quantifiers() -> None:
    assert call("re_find_all", "aaa", "(?U)a+") == ["a", "a", "a"]
    assert call("re_find_all", "aaa", "(?U)a+?") == ["aaa"]


@pytest.mark.parametrize(
    "pattern, error",
    [
        ("(a", "error parsing regexp: missing closing ): `(a`"),
        ("a)", "error parsing regexp: unexpected ): `a)`"),
        ("[a", "error parsing regexp: missing closing ]: `[a`"),
        ("*a", "error parsing regexp: missing argument to repetition operator: `*`"),
        ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
        ("(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
        ("(?!a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`"),
        ("(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"),
        ("a{2000}", "error parsing regexp: invalid repeat count: `{2000}`"),
    ],
)
def test_go_compile_errors(pattern: str, error: str) -> None:
    with pytest.raises(ExecError) as err:
        compile_go(pattern)
    assert str(err.value) == error


def test_patterns_are_cached() -> None:
    assert compile_go("a+b") is compile_go("a+b")


def test_non_string_target() -> None:
    with pytest.raises(ExecError) as err:
        call("re_match", 5, "a")
    assert str(err.value) == "expected string value, got number (5)"


def test_unicode_classes() -> None:
    assert call("re_find_all", "héllo 12 wörld", "\\pL+") == ["héllo", "wörld"]
    pytest.importorskip("regex")
    assert call("re_find_all", "abc αβγ", "\\p{Greek}+") == ["αβγ"]
    assert call("re_find_all", "a b", "\\pZ") == [" "]


def test_pattern_errors_are_not_annotated_with_the_target() -> None:
    # Benthos raises them from the method's constructor, before the target is involved.
    with pytest.raises(ExecError) as err:
        call("re_match", "x", "[z-a]")
    assert str(err.value) == "error parsing regexp: invalid character class range: `z-a`"
    assert err.value.annotated


BENTHOS_CASES = [
    ("root = this.s.re_find_all(\"a*\")", "{\"s\":\"baaac\"}"),
    ("root = this.s.re_find_all(\"\")", "{\"s\":\"héy\"}"),
    ("root = this.s.re_find_all(\"x*\")", "{\"s\":\"héy\"}"),
    ("root = this.s.re_replace_all(\"x*\", \"-\")", "{\"s\":\"héy\"}"),
    ("root = this.s.re_replace_all(\"a|\", \"-\")", "{\"s\":\"bab\"}"),
    ("root = this.s.re_find_all(\"(?i)straSSe\")", "{\"s\":\"STRASSE straße\"}"),
    ("root = this.s.re_find_all(\"(?i)k\")", "{\"s\":\"K k \\u212a\"}"),
    ("root = this.s.re_find_all(\"\\\\w+\")", "{\"s\":\"héllo wörld\"}"),
    ("root = this.s.re_find_all(\"\\\\d+\")", "{\"s\":\"12 ١٢\"}"),
    ("root = this.s.re_find_all(\"\\\\s+\")", "{\"s\":\"a \\u00a0b\\u000bc\"}"),
    ("root = this.s.re_find_all(\"\\\\bé\")", "{\"s\":\"é aé\"}"),
    ("root = this.s.re_find_all(\"[[:^alpha:]]+\")", "{\"s\":\"ab12cd\"}"),
    ("root = this.s.re_find_all(\"[^[:alpha:]]+\")", "{\"s\":\"ab12cd\"}"),
    ("root = this.s.re_find_all(\"[\\\\d\\\\s]+\")", "{\"s\":\"a1 2b\"}"),
    ("root = this.s.re_find_all(\"[^\\\\d]+\")", "{\"s\":\"a1 2b\"}"),
    ("root = this.s.re_find_all(\"[\\\\D]+\")", "{\"s\":\"a1 2b\"}"),
    ("root = this.s.re_find_all(\"\\\\pL+\")", "{\"s\":\"héllo 12 wörld\"}"),
    ("root = this.s.re_find_all(\"\\\\p{Greek}+\")", "{\"s\":\"abc αβγ\"}"),
    ("root = this.s.re_find_all(\"\\\\PL+\")", "{\"s\":\"héllo 12 wörld\"}"),
    ("root = this.s.re_find_all(\"(?s).+\")", "{\"s\":\"a\\nb\"}"),
    ("root = this.s.re_find_all(\".+\")", "{\"s\":\"a\\nb\"}"),
    ("root = this.s.re_find_all(\"(?m)^\\\\w\")", "{\"s\":\"ab\\ncd\"}"),
    ("root = this.s.re_find_all(\"^\\\\w\")", "{\"s\":\"ab\\ncd\"}"),
    ("root = this.s.re_find_all(\"\\\\w$\")", "{\"s\":\"ab\\ncd\\n\"}"),
    ("root = this.s.re_find_all(\"(?U)a+\")", "{\"s\":\"aaa\"}"),
    ("root = this.s.re_find_all(\"(?U)a+?\")", "{\"s\":\"aaa\"}"),
    ("root = this.s.re_find_all(\"a{2}\")", "{\"s\":\"aaaaa\"}"),
    ("root = this.s.re_find_all(\"a{,2}\")", "{\"s\":\"a{,2}\"}"),
    ("root = this.s.re_find_all(\"x{\")", "{\"s\":\"x{\"}"),
    ("root = this.s.re_find_all(\"\\\\x41\\\\x{42}\\\\101\")", "{\"s\":\"ABA\"}"),
    ("root = this.s.re_find_all(\"\\\\Q.*\\\\E+\")", "{\"s\":\".*.*\"}"),
    ("root = this.s.re_find_all(\"[a-c-]+\")", "{\"s\":\"a-b-d\"}"),
    ("root = this.s.re_find_all(\"[]a]+\")", "{\"s\":\"]a]b\"}"),
    ("root = this.s.re_find_all(\"a(?i:b)c\")", "{\"s\":\"aBc abC\"}"),
    ("root = this.s.re_find_all(\"(?i)a(?-i)b\")", "{\"s\":\"Ab AB ab\"}"),
    ("root = this.s.re_find_all(\"a(?i)b|c\")", "{\"s\":\"aB C c\"}"),
    ("root = this.s.re_find_all(\"(a)(?:b)(?P<x>c)?\")", "{\"s\":\"ab abc\"}"),
    ("root = this.s.re_find_all_submatch(\"(a)|(b)\")", "{\"s\":\"ab\"}"),
    ("root = this.s.re_find_object(\"(?P<first>\\\\w)(\\\\w)(?P<third>\\\\w)?\")", "{\"s\":\"ab\"}"),
    ("root = this.s.re_find_all_object(\"(?P<k>\\\\w)=(?P<v>\\\\w)?\")", "{\"s\":\"a=1 b= c=3\"}"),
    ("root = this.s.re_replace_all(\"(?P<first>\\\\w+) (?P<last>\\\\w+)\", \"$last, ${first}!$$ $1x ${1}x $3 $\")", "{\"s\":\"John Smith\"}"),
    ("root = this.s.re_replace_all(\"(\\\\w)\", \"${1\")", "{\"s\":\"ab\"}"),
    ("root = this.s.re_replace_all(\"(\\\\w)\", \"$-\")", "{\"s\":\"ab\"}"),
    ("root = this.s.re_replace_all(\"(\\\\w)\", \"\\\\1\")", "{\"s\":\"ab\"}"),
    ("root = this.s.re_replace_all(\"é\", \"e\")", "{\"s\":\"héé\"}"),
    ("root = this.s.re_match(\"(\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"a**\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"(?=a)\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"a\\\\1\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"[z-a]\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"\\\\8\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"a{1001}\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"(?P<n>a)(?P<n>b)\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"x++\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"(?<name>a)\")", "{\"s\":\"a\"}"),
    ("root = this.s.re_match(\"\\\\z\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"\\\\Z\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"[[:foo:]]\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(\"\\\\pZ\")", "{\"s\":\"x\"}"),
    ("root = this.s.re_match(this.p)", "{\"s\":\"x\",\"p\":\"(\"}"),
    ("root = this.s.re_match(\"a\")", "{\"s\":5}"),
    ("root = this.s.re_find_object(\"(a)\")", "{\"s\":\"b\"}"),
    ("root = this.s.bytes().re_find_object(\"(?P<x>a)\")", "{\"s\":\"a\"}"),
    ("root = this.s.bytes().re_replace_all(\"a\", \"b\")", "{\"s\":\"a\"}"),
    ("root = this.s.re_find_all(\"(?i)É\")", "{\"s\":\"é É\"}"),
    ("root = this.s.re_find_all(\"[^a]\")", "{\"s\":\"a\\nb\"}"),
    ("root = this.s.re_find_all(\".\")", "{\"s\":\"a\\rb\"}"),
    ("root = this.s.re_find_all(\"\\\\A.|.\\\\z\")", "{\"s\":\"abc\"}"),
    ("root = this.s.re_find_all(\"(?m)$\")", "{\"s\":\"a\\nb\\n\"}"),
    ("root = this.s.re_find_all(\"$\")", "{\"s\":\"a\\nb\\n\"}"),
    ("root = this.s.re_find_all(\"\\\\B\")", "{\"s\":\"ab c\"}"),
    ("root = this.s.re_find_all(\"a|ab\")", "{\"s\":\"ab\"}"),
    ("root = this.s.re_find_all(\"(a|ab)(c|bcd)\")", "{\"s\":\"abcd\"}"),
]

# --------------------------------------------------------------------------------------------
# Differential checks against Benthos itself (the Go reference built by tests/bloblang_ref): same
# parse errors (with positions), same execution errors, same bytes out.

@pytest.mark.parametrize("mapping, content", BENTHOS_CASES)
def test_matches_benthos(mapping: str, content: str) -> None:
    assert_matches_benthos(mapping, content)

