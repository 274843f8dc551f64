"""An API's rate limits as Tyk reads them (``streams.ratelimits``): where they are written, what
``per`` accepts, which limit a request counts against, and the arithmetic of sharing a limit
between hosts; plus the server's request-size checks (``handlers.server.limits``). No I/O."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from handlers.server.limits import HeaderBudget, RequestLimitError, check_query_params, check_request_line
from streams.definitions import load_text
from streams.ratelimits import LiveHosts, Quiet, RateLimit, host_share, parse_per, read_rate_limits, retry_after

PATHS = {
    "/push": {"post": {"operationId": "push"}, "get": {"operationId": "pull"}},
    "/items/{id}": {"post": {"operationId": "item"}},
    "/items/new": {"post": {"operationId": "newItem"}},
}


def limits(gateway: dict[str, Any], paths: Any = None, problems: list[str] | None = None) -> Any:
    def report(where: tuple[Any, ...], message: str) -> None:
        if problems is not None:
            problems.append(".".join(map(str, where)) + ": " + message)

    return read_rate_limits("api", gateway, PATHS if paths is None else paths, report)


def on(rate: int, per: str, enabled: bool = True) -> dict[str, Any]:
    return {"rateLimit": {"enabled": enabled, "rate": rate, "per": per}}


# -- per -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per", "seconds"), [("1s", 1.0), ("10s", 10.0), ("1m", 60.0), ("1m30s", 90.0), ("1h", 3600.0), ("", 0.0)]
)
def test_per_reads_tyk_durations(per: str, seconds: float) -> None:
    assert parse_per(per) == seconds


@pytest.mark.parametrize("per", ["1", "1ms", "1.5s", "s", "1s1m", 10])
def test_per_refuses_anything_else(per: Any) -> None:
    with pytest.raises(ValueError, match="duration such as"):
        parse_per(per)


# -- where limits are read ---------------------------------------------------------------------


def test_the_api_limit_is_read_from_upstream_as_in_tyks_schema() -> None:
    read = limits({"upstream": on(5, "1s")})
    assert read.api_limit == RateLimit("ratelimit/api", 5, 1.0)


def test_the_api_limit_is_also_read_from_middleware_global() -> None:
    read = limits({"middleware": {"global": on(7, "10s")}})
    assert read.api_limit == RateLimit("ratelimit/api", 7, 10.0)


def test_the_api_limit_set_twice_is_a_problem() -> None:
    problems: list[str] = []
    limits({"upstream": on(5, "1s"), "middleware": {"global": on(7, "10s")}}, problems=problems)
    assert problems == ["middleware.global.rateLimit: the API's rate limit is also set in upstream.rateLimit; set it once"]


@pytest.mark.parametrize(
    "conf", [on(5, "1s", enabled=False), on(0, "1s"), on(5, "")], ids=["disabled", "rate 0", "empty per"]
)
def test_a_limit_that_is_off_is_no_limit(conf: dict[str, Any]) -> None:
    assert not limits({"upstream": conf})


@pytest.mark.parametrize(
    ("conf", "problem"),
    [
        ({"enabled": True, "rate": 2.5, "per": "1s"}, "upstream.rateLimit.rate: expected a whole number of requests, got 2.5"),
        ({"enabled": True, "rate": -1, "per": "1s"}, "upstream.rateLimit.rate: expected a whole number of requests, got -1"),
        ({"enabled": "yes", "rate": 1, "per": "1s"}, "upstream.rateLimit.enabled: expected a boolean"),
        ({"enabled": True, "rate": 1, "per": "1sec"}, "upstream.rateLimit.per: '1sec' is not a duration such as "
         '"1s", "10s" or "1m30s" (hours, minutes, seconds)'),
        ({"enabled": True, "rate": 1, "per": "1s", "burst": 2}, "upstream.rateLimit.burst: unknown field (a rate limit "
         "has enabled, rate and per)"),
    ],
)
def test_a_wrong_limit_is_reported_with_its_path(conf: dict[str, Any], problem: str) -> None:
    problems: list[str] = []
    limits({"upstream": {"rateLimit": conf}}, problems=problems)
    assert problem in problems


def test_an_operation_limit_needs_its_operation_in_paths() -> None:
    problems: list[str] = []
    read = limits({"middleware": {"operations": {"nowhere": on(1, "1s")}}}, problems=problems)
    assert problems == ["middleware.operations.nowhere: no operation in paths has operationId 'nowhere'"]
    assert not read


def test_a_definition_with_a_wrong_limit_is_refused_with_file_line_and_path() -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
x-tyk-streaming:
  streams:
    s:
      input: {http_server: {path: /p}}
      output: {sync_response: {}}
x-tyk-api-gateway:
  info: {name: t, state: {active: true}}
  server: {listenPath: {value: /t/}}
  upstream:
    rateLimit:
      enabled: true
      rate: 5
      per: 5 seconds
"""
    api, problems = load_text(text, "t.yaml")
    assert api is None or problems
    rendered = [str(p) for p in problems]
    assert any(
        re.fullmatch(r"t\.yaml:\d+: x-tyk-api-gateway\.upstream\.rateLimit\.per: '5 seconds' is not a duration.*", r)
        for r in rendered
    ), rendered


# -- which limit a request counts against (Tyk's precedence) ------------------------------------


def test_an_operation_limit_replaces_the_api_limit_for_its_requests() -> None:
    read = limits({"upstream": on(100, "1m"), "middleware": {"operations": {"push": on(5, "1s")}}})
    assert read.limit_for("POST", "/push") == RateLimit("ratelimit/api/op/push", 5, 1.0)
    assert read.limit_for("GET", "/push") == RateLimit("ratelimit/api", 100, 60.0)  # another operation
    assert read.limit_for("POST", "/elsewhere") == RateLimit("ratelimit/api", 100, 60.0)


def test_an_operation_limit_applies_without_an_api_limit() -> None:
    read = limits({"middleware": {"operations": {"push": on(5, "1s")}}})
    assert read.limit_for("POST", "/push") is not None
    assert read.limit_for("POST", "/elsewhere") is None


def test_a_disabled_operation_limit_leaves_its_requests_to_the_api_limit() -> None:
    read = limits({"upstream": on(100, "1m"), "middleware": {"operations": {"push": on(5, "1s", enabled=False)}}})
    assert read.limit_for("POST", "/push") == RateLimit("ratelimit/api", 100, 60.0)


def test_templated_paths_match_one_segment_and_a_literal_path_wins() -> None:
    read = limits({"middleware": {"operations": {"item": on(1, "1s"), "newItem": on(2, "1s")}}})
    assert read.limit_for("POST", "/items/42").name == "ratelimit/api/op/item"
    assert read.limit_for("POST", "/items/new").name == "ratelimit/api/op/newItem"
    assert read.limit_for("POST", "/items/42/more") is None


def test_a_limit_describes_itself_as_the_client_reads_it() -> None:
    assert RateLimit("x", 5, 1.0).describe() == "5 requests per 1s"
    assert RateLimit("x", 1, 90.0).describe() == "1 request per 90s"


def test_facts_change_with_the_limits() -> None:
    one = limits({"upstream": on(5, "1s")}).facts()
    other = limits({"upstream": on(6, "1s")}).facts()
    assert one != other
    assert json.dumps(one)  # a reload compares them as JSON


# -- hosts sharing a limit -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "hosts", "share"), [(10, 1, 10), (10, 2, 5), (10, 3, 4), (5, 2, 3), (1, 3, 1), (3, 0, 3)]
)
def test_each_host_admits_its_share_rounded_up(rate: int, hosts: int, share: int) -> None:
    assert host_share(rate, hosts) == share
    assert max(1, hosts) * share <= rate + max(1, hosts) - 1 or share == 1


@pytest.mark.parametrize(("wait", "seconds"), [(0.001, 1), (0.999, 1), (1.0, 1), (1.2, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_and_at_least_one(wait: float, seconds: int) -> None:
    assert retry_after(wait) == seconds


def test_live_hosts_count_themselves_and_forget_silent_hosts() -> None:
    live = LiveHosts("me", ttl=5.0)
    assert live.count(now=0.0) == 1
    live.heard("me", 0.0)
    live.heard("other", 1.0)
    assert live.count(now=2.0) == 2
    live.heard("third", 4.0)
    assert live.count(now=5.5) == 3
    assert live.count(now=6.5) == 2  # "other" silent for 5.5 s
    assert live.count(now=20.0) == 1


def test_a_refusal_is_logged_once_until_its_window_ends() -> None:
    quiet = Quiet(max_keys=2)
    assert quiet.due("a", now=0.0, until=1.0) is True
    assert quiet.due("a", now=0.5, until=1.5) is False
    assert quiet.due("b", now=0.5, until=9.0) is True
    assert quiet.due("a", now=1.0, until=2.0) is True  # the window ended
    assert quiet.due("c", now=1.0, until=2.0) is True  # over max_keys: the others are forgotten
    assert quiet.due("b", now=1.1, until=9.0) is True


# -- the server's request checks ------------------------------------------------------------------


def test_request_line_limit_does_not_count_the_line_ending() -> None:
    check_request_line(b"G" * 10 + b"\r\n", 10)
    with pytest.raises(RequestLimitError) as err:
        check_request_line(b"G" * 11 + b"\r\n", 10)
    assert (err.value.status, err.value.message) == (414, "request line longer than 10 bytes")


@pytest.mark.parametrize(
    ("line", "count"),
    [("GET /p?a=1&b=2&c HTTP/1.1", 3), ("GET /p?a=1;b=2&&c= HTTP/1.1", 3), ("GET /p HTTP/1.1", 0), ("GET /p?#a&b&c&d", 0)],
)
def test_query_parameters_are_counted(line: str, count: int) -> None:
    check_query_params(line, count)
    if count:
        with pytest.raises(RequestLimitError) as err:
            check_query_params(line, count - 1)
        assert err.value.status == 400
        assert err.value.message == f"too many query parameters: {count}, at most {count - 1} allowed"


def test_header_budget_refuses_once_the_section_is_over_the_limit() -> None:
    fields = b"A: 12345\r\nB: 12345\r\n\r\n"
    budget = HeaderBudget(io.BytesIO(fields), limit=20)
    assert [budget.readline(65537) for _ in range(3)] == [b"A: 12345\r\n", b"B: 12345\r\n", b"\r\n"]
    tight = HeaderBudget(io.BytesIO(fields + b"more"), limit=15)
    assert tight.readline(65537) == b"A: 12345\r\n"
    with pytest.raises(RequestLimitError) as err:
        tight.readline(65537)
    assert (err.value.status, err.value.message) == (431, "request header fields larger than 15 bytes")
