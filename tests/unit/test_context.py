"""$tyk_context: variable names, request variables and substitution that hostile values cannot escape."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams import context
from streams.context import (
    decode_topic,
    encode_topic,
    instance_key,
    placeholders,
    request_variables,
    substitute,
    tyk_escape,
)

HOSTILE = [
    'a"\nroot = "pwned',
    "a,b",
    '"""',
    '${! env("X") }',
    "line1\nline2\r\n\tend",
    "ünïcödé ✓ 🚀",
    "x" * 10_000,
    "} + env(\"HOME\") + {",
    "\\",
    "# not a comment",
    "$tyk_context.request_data_other",
    "\x00\x1f\x7f",
    "",
]

SEED_OUT_MAPPING = """root = if this.user_id != "$tyk_context.request_data_user" {
  deleted()
}
"""


def _vars(user: str) -> dict[str, str]:
    return {"request_data_user": user}


def _literals(src: str) -> list[str]:
    """The decoded values of every double-quoted literal in Bloblang code (our escapes are JSON's)."""
    return [json.loads(src[s:e]) for kind, s, e in context._bloblang_segments(src) if kind == "string"]


def _code(src: str) -> str:
    return "".join(src[s:e] for kind, s, e in context._bloblang_segments(src) if kind == "code")


# --- placeholders ----------------------------------------------------------------------------


def test_placeholders_everywhere_but_comments() -> None:
    config = {
        "input": {"kafka": {"consumer_group": "$tyk_context.request_data_user", "topics": ["t-$tyk_context.path"]}},
        "pipeline": {"processors": [
            {"mapping": 'root.u = "$tyk_context.headers_X_User_Id" # or $tyk_context.jwt.claims.sub\n'
                        "root.v = $tyk_context.jwt.claims.email."},
            {"log": {"message": "${! \"$tyk_context.token\" # $tyk_context.in_comment\n }"}},
        ]},
        "output": {"kafka": {"key": "k-$tyk_context.cookies_session"}},
    }
    assert placeholders(config) == {
        "request_data_user", "path", "headers_X_User_Id", "jwt_claims_email", "token", "cookies_session",
    }


def test_comment_hash_inside_a_string_is_not_a_comment() -> None:
    assert placeholders({"mapping": 'root = "#$tyk_context.a" # $tyk_context.b'}) == {"a"}


def test_no_placeholders() -> None:
    assert placeholders({"input": {"generate": {"mapping": "root = 1"}}, "n": 5, "b": True}) == frozenset()


# --- request variables -----------------------------------------------------------------------


def test_request_variables() -> None:
    v = request_variables(
        query={"user": ["alice", "bob"], "empty": []},
        form={"form_only": ["f"]},
        headers={"x-user-id": "u1", "CONTENT-TYPE": "text/plain", "Weird Header": "w"},
        cookies={"session-id": "s1"},
        path="/stream-demo/get-event",
        remote_addr="127.0.0.1:5000",
        request_id="r-1",
        token="tok",
        jwt_claims={"sub": "alice", "exp": 1.7e9, "roles": ["a", "b"], "admin": False, "o": {"b": 1, "a": 2}},
    )
    assert v["request_data_user"] == "alice"
    assert "request_data_empty" not in v
    assert v["request_data_form_only"] == "f"
    assert v["headers_X_User_Id"] == "u1"
    assert v["headers_Content_Type"] == "text/plain"
    assert v["headers_Weird Header"] == "w"  # not a valid token: kept as is, like Go
    assert v["cookies_session_id"] == "s1"
    assert v["path"] == "/stream-demo/get-event"
    assert v["path_parts"] == ",stream-demo,get-event"
    assert (v["remote_addr"], v["request_id"], v["token"]) == ("127.0.0.1:5000", "r-1", "tok")
    assert v["jwt_claims_sub"] == "alice"
    assert v["jwt_claims_exp"] == "1700000000"
    assert v["jwt_claims_roles"] == "a,b"
    assert v["jwt_claims_admin"] == "false"
    assert v["jwt_claims_o"] == '{"a":2,"b":1}'


def test_form_value_wins_over_query() -> None:
    v = request_variables(query={"u": ["q"]}, form={"u": ["f"]}, headers={}, cookies={}, path="/",
                          remote_addr="", request_id="")
    assert v["request_data_u"] == "f" and v["token"] == ""


def test_jwt_dotted_spelling_reads_the_claim() -> None:
    out = substitute({"mapping": "root.sub = $tyk_context.jwt.claims.sub"}, {"jwt_claims_sub": "alice"})
    assert out == {"mapping": 'root.sub = "alice"'}


@pytest.mark.parametrize("name, canonical", [
    ("x-user-id", "X-User-Id"), ("X-USER-ID", "X-User-Id"), ("accept", "Accept"), ("x_y", "X_y"), ("", ""),
])
def test_canonical_header(name: str, canonical: str) -> None:
    assert context.canonical_header(name) == canonical


@pytest.mark.parametrize("wsgi_key, canonical", [
    ("HTTP_X_USER_ID", "X-User-Id"), ("CONTENT_TYPE", "Content-Type"), ("HTTP_ACCEPT", "Accept"),
    ("HTTP_X.Y_Z", "X.y-Z"),
])
def test_a_wsgi_key_names_its_header_in_the_same_canonical_form(wsgi_key: str, canonical: str) -> None:
    from handlers.request_context import canonical_header  # noqa: PLC0415 - the handlers' spelling

    assert canonical_header(wsgi_key) == canonical


# --- substitution: Bloblang ----------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_value_in_string_literal_stays_data(value: str) -> None:
    out = substitute({"mapping": SEED_OUT_MAPPING}, _vars(value))["mapping"]
    assert _code(out) == _code(SEED_OUT_MAPPING)
    assert _literals(out) == [value]
    assert "\n" not in out.split('"', 1)[1].rsplit('"', 1)[0]  # the literal is one line


@pytest.mark.parametrize("value", HOSTILE)
def test_value_in_code_becomes_a_literal(value: str) -> None:
    src = "root.a = $tyk_context.request_data_user\nroot.b = this.$tyk_context.request_data_user"
    out = substitute({"check": src}, _vars(value))["check"]
    assert _code(out) == "root.a = \nroot.b = this."
    assert _literals(out) == [value, value]


@pytest.mark.parametrize("value", HOSTILE)
def test_value_in_triple_quoted_literal_is_joined_as_a_literal(value: str) -> None:
    src = 'root = """pre $tyk_context.request_data_user post""".uppercase()'
    out = substitute({"mutation": src}, _vars(value))["mutation"]
    assert out == f'root = ("""pre """ + {context.bloblang_string(value)} + """ post""").uppercase()'
    assert _literals(out) == [value]


def test_comments_are_never_substituted() -> None:
    src = 'root = "x" # $tyk_context.request_data_user'
    assert substitute({"mapping": src}, _vars('"\nroot = 1'))["mapping"] == src


def test_branch_and_switch_fields_are_bloblang() -> None:
    config = {"branch": {"request_map": "root = $tyk_context.a", "result_map": 'root.x = "$tyk_context.a"'},
              "switch": [{"check": "this.u == $tyk_context.a", "processors": []}]}
    out = substitute(config, {"a": 'q"'})
    assert out["branch"] == {"request_map": 'root = "q\\""', "result_map": 'root.x = "q\\""'}
    assert out["switch"][0]["check"] == 'this.u == "q\\""'


def test_disabled_context_variables_resolve_to_empty() -> None:
    config = {"mapping": SEED_OUT_MAPPING, "consumer_group": "$tyk_context.request_data_user",
              "code": "${! $tyk_context.request_data_user }"}
    out = substitute(config, _vars("alice"), enabled=False)
    assert 'this.user_id != ""' in out["mapping"]
    assert out["consumer_group"] == ""
    assert out["code"] == '${! "" }'


def test_unknown_variable_is_empty() -> None:
    assert substitute({"consumer_group": "g-$tyk_context.nope"}, {}) == {"consumer_group": "g-"}


# --- substitution: interpolated strings, topics, group ids ------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_value_in_interpolated_string_cannot_start_an_interpolation(value: str) -> None:
    out = substitute({"key": "user-$tyk_context.request_data_user"}, _vars(value))["key"]
    segments = list(context._interpolation_segments(out))
    if any(c in value for c in "${}"):
        assert out.startswith("user-${! ") and out.endswith(" }")
        assert [k for k, _, _ in segments] == ["text", "expr", "text"]
        expr = out[segments[1][1]:segments[1][2]]
        assert _code(expr).strip() == "" and _literals(expr) == [value]
    else:
        assert out == "user-" + value and [k for k, _, _ in segments] == ["text"]


@pytest.mark.parametrize("value", HOSTILE)
def test_value_inside_an_interpolation_is_a_literal(value: str) -> None:
    out = substitute({"url": 'http://h/${! "$tyk_context.request_data_user" }/x'}, _vars(value))["url"]
    kinds = [(k, out[s:e]) for k, s, e in context._interpolation_segments(out)]
    assert [k for k, _ in kinds] == ["text", "expr", "text"]
    assert kinds[0][1] == "http://h/${!" and kinds[2][1] == "}/x"
    assert _literals(kinds[1][1]) == [value]


@pytest.mark.parametrize("value", HOSTILE)
def test_topic_stays_one_token(value: str) -> None:
    config = {"input": {"kafka": {"topics": ["events-$tyk_context.request_data_user"]}},
              "output": {"kafka": {"topic": "out.$tyk_context.request_data_user"}}}
    out = substitute(config, _vars(value))
    topic = out["input"]["kafka"]["topics"][0]
    assert re.fullmatch(r"events-[A-Za-z0-9._-]*", topic)
    assert "," not in topic and ":" not in topic
    assert decode_topic(topic[len("events-"):]) == value
    assert decode_topic(out["output"]["kafka"]["topic"][len("out."):]) == value


def test_topic_encoding_is_reversible_and_distinct() -> None:
    assert encode_topic("a,b") == "__a_2cb"
    assert encode_topic("alice@example.com") == "__alice_40example.com"
    assert encode_topic("a__b") == "__a_5f_5fb"
    assert encode_topic("a_2cb") == "a_2cb" != encode_topic("a,b")
    assert encode_topic("__a_2cb") == "___5f_5fa_5f2cb"
    assert decode_topic(encode_topic("é✓")) == "é✓"
    assert decode_topic(encode_topic("__a_2cb")) == "__a_2cb"


@pytest.mark.parametrize("value", ["alice_smith", "alice.smith-1", "ABC_123", "a_2cb", ""])
def test_a_value_tyk_writes_as_a_legal_topic_keeps_that_name(value: str) -> None:
    """Tyk's escaping (``url.QueryEscape``) leaves these as they are, and they are legal topic
    names: a team's per-user topics keep their names."""
    assert tyk_escape(value) == value
    out = substitute({"output": {"kafka": {"topic": "events-$tyk_context.user"}}}, {"user": value})
    assert out["output"]["kafka"]["topic"] == f"events-{value}"


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_two_values_never_share_a_topic_token(a: str, b: str) -> None:
    assert (encode_topic(a) == encode_topic(b)) is (a == b)
    assert re.fullmatch(r"[A-Za-z0-9._-]*", encode_topic(a))


@pytest.mark.parametrize("value", HOSTILE)
def test_consumer_group_is_the_value_as_tyk_escapes_it(value: str) -> None:
    out = substitute({"kafka": {"consumer_group": "$tyk_context.request_data_user"}}, _vars(value))
    assert out["kafka"]["consumer_group"] == tyk_escape(value)


@pytest.mark.parametrize(
    ("value", "group"),
    [
        ("alice@example.com", "alice%40example.com"),  # Go: url.QueryEscape("alice@example.com")
        ("bob smith", "bob+smith"),
        ("a+b/c?d=e&f", "a%2Bb%2Fc%3Fd%3De%26f"),
        ("José~_.-", "Jos%C3%A9~_.-"),
        ("alice", "alice"),
        ("http://idp/alice", "http://idp/alice"),  # Tyk leaves values starting with http alone
    ],
)
def test_a_consumer_group_keeps_the_name_it_has_under_tyk(value: str, group: str) -> None:
    config = {"input": {"kafka": {"consumer_group": "g-$tyk_context.request_data_user", "client_id": "$tyk_context.x"}}}
    out = substitute(config, {"request_data_user": value, "x": value})
    assert out["input"]["kafka"]["consumer_group"] == "g-" + group
    assert out["input"]["kafka"]["client_id"] == group


def test_substitute_returns_a_new_config() -> None:
    config = {"a": ["$tyk_context.x", 1, None, True], "b": {"consumer_group": "$tyk_context.x"}}
    out = substitute(config, {"x": "v"})
    assert out == {"a": ["v", 1, None, True], "b": {"consumer_group": "v"}}
    assert config["a"][0] == "$tyk_context.x"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_value_round_trips_through_every_context(value: str) -> None:
    config = {
        "mapping": 'root.a = "<$tyk_context.v>"\nroot.b = $tyk_context.v\nroot.c = """[$tyk_context.v]"""',
        "key": "k$tyk_context.v",
        "topic": "t$tyk_context.v",
        "consumer_group": "$tyk_context.v",
    }
    out = substitute(config, {"v": value})
    assert _code(out["mapping"]) == "root.a = \nroot.b = \nroot.c = ( +  + )"
    assert _literals(out["mapping"]) == [f"<{value}>", value, value]
    assert decode_topic(out["topic"][1:]) == value
    assert out["consumer_group"] == tyk_escape(value)


# --- instance keys ---------------------------------------------------------------------------


def test_instance_key_is_stable_and_distinguishes_configs() -> None:
    a = substitute({"g": "$tyk_context.u", "t": ["x"]}, {"u": "alice"})
    b = substitute({"t": ["x"], "g": "$tyk_context.u"}, {"u": "alice"})
    c = substitute({"g": "$tyk_context.u", "t": ["x"]}, {"u": "bob"})
    assert instance_key(a) == instance_key(b)
    assert instance_key(a) != instance_key(c)
    assert re.fullmatch(r"[0-9a-f]{32}", instance_key(a))


# --- the substituted mapping compiles and the value arrives as data ---------------------------


def _bloblang_parse():
    from streams import bloblang

    parse = getattr(bloblang, "parse", None)
    if parse is None:
        pytest.skip("streams.bloblang.parse has not landed yet")
    return parse


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_arrives_as_data_in_a_compiled_mapping(value: str) -> None:
    parse = _bloblang_parse()
    seed = parse(substitute({"mapping": SEED_OUT_MAPPING}, _vars(value))["mapping"])
    assert seed.apply(json.dumps({"user_id": "someone-else"}).encode()) is None
    kept = seed.apply(json.dumps({"user_id": value}).encode())
    assert kept is not None and json.loads(kept.content) == {"user_id": value}

    src = ('root.a = $tyk_context.request_data_user\n'
           'root.b = "<$tyk_context.request_data_user>"\n'
           'root.c = """[$tyk_context.request_data_user]"""\n'
           'root.d = "$tyk_context.request_data_user".length()')
    out = parse(substitute({"mapping": src}, _vars(value))["mapping"]).apply(b"{}")
    assert json.loads(out.content) == {"a": value, "b": f"<{value}>", "c": f"[{value}]", "d": len(value.encode())}


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_in_an_interpolated_field_parses_to_text_and_literals(value: str) -> None:
    _bloblang_parse()
    from streams.bloblang import nodes, parser

    out = substitute({"key": 'user-$tyk_context.u-${! "$tyk_context.u" }'}, {"u": value})["key"]
    parts = parser.parse_interpolation(out)
    texts = "".join(p if isinstance(p, str) else p.value for p in parts)
    assert texts == f"user-{value}-{value}"
    assert all(isinstance(p, (str, nodes.Literal)) for p in parts)  # no query but literals


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_value_compiles_to_itself(value: str) -> None:
    _bloblang_parse()
    from streams import bloblang

    src = 'root.a = $tyk_context.v\nroot.b = "<$tyk_context.v>"\nroot.c = """[$tyk_context.v]"""'
    out = bloblang.parse(substitute({"mapping": src}, {"v": value})["mapping"]).apply(b"{}")
    assert out is not None
    assert json.loads(out.content) == {"a": value, "b": f"<{value}>", "c": f"[{value}]"}


def test_template_renders_like_substitute_and_caches() -> None:
    config = {"input": {"kafka": {"consumer_group": "$tyk_context.request_data_user"}},
              "pipeline": {"processors": [{"mapping": SEED_OUT_MAPPING + "# $tyk_context.not_used\n"}]}}
    template = context.Template(config, cache_size=2)
    assert template.names == ("request_data_user",)
    variables = {"request_data_user": 'a"b', "path": "/ignored/by/this/template"}
    key, rendered = template.render(variables)
    assert rendered == substitute(config, variables)
    assert key == instance_key(rendered)
    assert template.render({"request_data_user": 'a"b', "path": "/other"})[1] is rendered  # cached
    assert template.render(variables, enabled=False)[1] == substitute(config, variables, enabled=False)
    bob = template.render({"request_data_user": "bob"})
    assert bob[0] != key
    template.render({"request_data_user": "carol"})  # evicts the oldest entry (alice's)
    assert template.render({"request_data_user": 'a"b'})[1] is not rendered
    assert template.render({"request_data_user": 'a"b'})[0] == key
