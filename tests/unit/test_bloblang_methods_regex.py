"""Regular Expression methods: Go RE2 syntax and semantics on Python's re."""

from __future__ import annotations

from typing import Any

import pytest

import streams.bloblang.lib_regex  # noqa: F401  (registers the methods)
from streams.bloblang.errors import ExecError
from streams.bloblang.lib_regex import compile_go
from streams.bloblang.registry import METHODS


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
