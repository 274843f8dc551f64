"""An API's rate limits as Tyk reads them from ``x-tyk-api-gateway``, and the arithmetic around
them; no I/O (the counting itself is ``streams.engine.host.HostState.rate_take``, shared by the
host's workers, and ``streams.engine.admission`` puts the two together).

Where Tyk reads them (``apidef/oas/upstream.go`` ``RateLimit``, ``apidef/oas/operation.go``
``RateLimitEndpoint``, ``gateway/mw_api_rate_limit.go``):

* the API's limit: ``upstream.rateLimit`` ``{enabled, rate, per}`` in Tyk's schema. This gateway
  also reads ``middleware.global.rateLimit`` (a streams API has no upstream, and that is where
  one looks for it); setting both is an error.
* an operation's limit: ``middleware.operations.<operationId>.rateLimit``, the operation being
  the one of the OpenAPI ``paths`` with that ``operationId``.

``rate`` is a whole number of requests, ``per`` a duration such as ``1s``, ``10s``, ``1m30s``
(Tyk's pattern ``^(\\d+h)?(\\d+m)?(\\d+s)?$``). A limit applies when ``enabled`` is true and
both ``rate`` and ``per`` are above zero (Tyk turns a zero ``rate`` or an empty ``per`` off).

Precedence, as Tyk's ``RateLimitForAPI.getSession``: a request matching an operation with an
enabled limit is counted against that operation's limit *only* (a counter of its own); any other
request is counted against the API's limit. The two never add up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PER_PATTERN = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

Report = Callable[[tuple[Any, ...], str], None]
"""Where a problem goes: the config path (under ``x-tyk-api-gateway``) and what is wrong."""


@dataclass(frozen=True)
class RateLimit:
    """``rate`` requests per ``per`` seconds, counted under ``name``."""

    name: str
    rate: int
    per: float

    def describe(self) -> str:
        """How the limit reads in a 429 body: ``5 requests per 1s``."""
        return f"{self.rate} request{'' if self.rate == 1 else 's'} per {self.per:g}s"


@dataclass(frozen=True)
class OperationLimit:
    """An operation's limit and the requests it covers (an OpenAPI path and method)."""

    operation_id: str
    method: str
    path: str
    pattern: re.Pattern[str]
    limit: RateLimit

    @property
    def templated(self) -> bool:
        return "{" in self.path


@dataclass(frozen=True)
class ApiRateLimits:
    """Every rate limit of one API; ``limit_for`` picks the one a request counts against."""

    api: str
    api_limit: RateLimit | None = None
    operations: tuple[OperationLimit, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.api_limit is not None or bool(self.operations)

    def limit_for(self, method: str, path: str) -> RateLimit | None:
        """The limit for ``method`` on ``path`` (relative to the listen path, ``/push-event``):
        the matching operation's, else the API's, else None. A literal OpenAPI path wins over a
        templated one (``/items/new`` before ``/items/{id}``)."""
        method = method.lower()
        candidates = [op for op in self.operations if op.method == method and op.pattern.fullmatch(path)]
        if candidates:
            return min(candidates, key=lambda op: op.templated).limit
        return self.api_limit

    def facts(self) -> list[Any]:
        """What a reload compares (a changed limit replaces the API)."""
        facts: list[Any] = []
        if self.api_limit is not None:
            facts.append(["api", self.api_limit.rate, self.api_limit.per])
        facts.extend(["op", op.operation_id, op.method, op.path, op.limit.rate, op.limit.per] for op in self.operations)
        return facts


def parse_per(value: Any) -> float:
    """Tyk's ``per``: ``"10s"``, ``"1m30s"``, ``"1h"`` in seconds; ``""`` is 0 (off). Raises
    ValueError naming the expected form."""
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as \"1s\" or \"1m30s\", got {type(value).__name__}")
    match = PER_PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration such as \"1s\", \"10s\" or \"1m30s\" (hours, minutes, seconds)")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def read_rate_limits(api: str, gateway: Mapping[str, Any], paths: Any, report: Report | None = None) -> ApiRateLimits:
    """The rate limits of an API from its ``x-tyk-api-gateway`` section and OpenAPI ``paths``;
    each problem goes to ``report`` (and that limit is left out)."""
    problem: Report = report or (lambda where, message: None)
    api_limit = _api_limit(api, gateway, problem)
    operations = tuple(_operation_limits(api, gateway, paths, problem))
    return ApiRateLimits(api, api_limit, operations)


def _api_limit(api: str, gateway: Mapping[str, Any], problem: Report) -> RateLimit | None:
    upstream = _object(gateway.get("upstream"))
    middleware = _object(_object(gateway.get("middleware")).get("global"))
    spots = [
        (where, block["rateLimit"])
        for where, block in ((("upstream", "rateLimit"), upstream), (("middleware", "global", "rateLimit"), middleware))
        if block.get("rateLimit") is not None
    ]
    if len(spots) > 1:
        problem(spots[1][0], "the API's rate limit is also set in upstream.rateLimit; set it once")
    if not spots:
        return None
    where, conf = spots[0]
    return _limit(f"ratelimit/{api}", conf, where, problem)


def _operation_limits(api: str, gateway: Mapping[str, Any], paths: Any, problem: Report) -> Iterable[OperationLimit]:
    operations = _object(_object(gateway.get("middleware")).get("operations"))
    where_ops = {op_id: where for where, op_id in _operation_ids(paths)}
    for op_id, conf in operations.items():
        if not isinstance(conf, dict) or conf.get("rateLimit") is None:
            continue
        where = ("middleware", "operations", op_id, "rateLimit")
        limit = _limit(f"ratelimit/{api}/op/{op_id}", conf["rateLimit"], where, problem)
        if limit is None:
            continue
        found = where_ops.get(op_id)
        if found is None:
            problem(("middleware", "operations", op_id), f"no operation in paths has operationId {op_id!r}")
            continue
        path, method = found
        yield OperationLimit(op_id, method, path, path_pattern(path), limit)


def _operation_ids(paths: Any) -> Iterable[tuple[tuple[str, str], str]]:
    for path, item in _object(paths).items():
        for method, operation in _object(item).items():
            if method in HTTP_METHODS and isinstance(operation, dict) and isinstance(operation.get("operationId"), str):
                yield (str(path), method), operation["operationId"]


def _limit(name: str, conf: Any, where: tuple[Any, ...], problem: Report) -> RateLimit | None:
    """A ``{enabled, rate, per}`` block as a limit; None when it is off or wrong (reported)."""
    if not isinstance(conf, dict):
        problem(where, "expected an object {enabled, rate, per}")
        return None
    for key in conf:
        if key not in ("enabled", "rate", "per"):
            problem(where + (key,), "unknown field (a rate limit has enabled, rate and per)")
    enabled = conf.get("enabled", False)
    if not isinstance(enabled, bool):
        problem(where + ("enabled",), "expected a boolean")
        return None
    rate = conf.get("rate", 0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0 or rate != int(rate):
        problem(where + ("rate",), f"expected a whole number of requests, got {rate!r}")
        return None
    try:
        per = parse_per(conf.get("per", ""))
    except ValueError as exc:
        problem(where + ("per",), str(exc))
        return None
    if not enabled or rate == 0 or per == 0:
        return None
    return RateLimit(name, int(rate), per)


def path_pattern(path: str) -> re.Pattern[str]:
    """An OpenAPI path as a regular expression: ``{name}`` matches one path segment."""
    parts = re.split(r"(\{[^/{}]+\})", path)
    return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts))


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


# -- counting on several hosts ------------------------------------------------------------------


def host_share(rate: int, hosts: int) -> int:
    """What one of ``hosts`` gateway hosts admits of ``rate`` per window: ``ceil(rate / hosts)``,
    so all hosts together admit at most ``rate + hosts - 1`` per window, and each host at least
    one request."""
    return max(1, math.ceil(rate / max(1, hosts)))


def retry_after(wait: float) -> int:
    """``Retry-After`` in whole seconds for a window that resets in ``wait`` seconds: rounded
    up, at least 1 (a client told 0 would retry at once and be refused again)."""
    return max(1, math.ceil(wait))


class LiveHosts:
    """The gateway hosts sharing one Kafka cluster, as learnt from their heartbeats.

    ``heard(host, now)`` records a heartbeat (``now`` is the receiver's clock, so the hosts'
    clocks need not agree); a host not heard from for ``ttl`` seconds is gone. This host always
    counts itself, heard or not."""

    def __init__(self, me: str, ttl: float) -> None:
        self.me = me
        self.ttl = ttl
        self._last: dict[str, float] = {}

    def heard(self, host: str, now: float) -> None:
        self._last[host] = now

    def count(self, now: float) -> int:
        for host, seen in list(self._last.items()):
            if now - seen > self.ttl:
                del self._last[host]
        return len(set(self._last) | {self.me})


class Quiet:
    """Says whether a repeated event is worth a log line: once per ``key`` until ``until`` (a
    refusing rate window's end, say), so a client hammering a limit makes one line per window,
    not one per request. At most ``max_keys`` keys are remembered (then all are forgotten)."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._until: dict[str, float] = {}

    def due(self, key: str, now: float, until: float) -> bool:
        if self._until.get(key, -1.0) > now:
            return False
        if len(self._until) >= self.max_keys:
            self._until.clear()
        self._until[key] = until
        return True
