"""The ``transport`` block of an HTTP client (Bento's, since v1.13): how connections are made and
kept, read into what ``requests``/urllib3 can honour.

Bento builds a Go ``http.Transport`` from it; here each field maps to its nearest urllib3 knob:

* ``dial_context.timeout`` (30s; 0 none): the connect timeout, never longer than the request's
  ``timeout``.
* ``dial_context.keep_alive`` (30s): TCP keep-alive probes after that much silence and every
  period after (``SO_KEEPALIVE``, ``TCP_KEEPIDLE``, ``TCP_KEEPINTVL``); 0 means Go's 15s, a
  negative period turns probes off.
* ``max_idle_connections`` (100; 0 no limit): idle connections kept for reuse in all. Go keeps at
  most 2 per host (its ``MaxIdleConnsPerHost`` default, which Bento leaves alone), and so does
  this client: ``min(2, max_idle_connections)`` per host, in as many host pools as the total
  allows.
* ``idle_connection_timeout`` (90s; 0 none): a pooled connection idle for longer is closed
  instead of reused.
* ``tls_handshake_timeout`` (10s; 0 none): the longest wait for each step of the TLS handshake
  once the TCP connection stands (Go's is one deadline for the whole handshake).
* ``force_http2`` (true): this client speaks HTTP/1.1 only, Go's choice when ``false``; ``true``
  is accepted as Bento's default but never upgrades to HTTP/2.
* ``expect_continue_timeout`` (1s): this client never waits for a ``100 Continue`` (it sends the
  body with the headers, as Go does with 0), so only 0 and the default are accepted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.durations import parse_duration
from streams.registry import Field

Problem = tuple[tuple[str | int, ...], str]

GO_DEFAULT_KEEP_ALIVE = 15.0
"""Go's dialer probes after 15s when ``KeepAlive`` is zero."""
GO_IDLE_PER_HOST = 2
"""Go's ``DefaultMaxIdleConnsPerHost``."""
UNLIMITED_POOLS = 1000
"""Host pools kept when ``max_idle_connections`` is 0 (no limit)."""
EXPECT_CONTINUE_DEFAULT = 1.0


@dataclass(frozen=True)
class Tuning:
    """The ``transport`` block as numbers; ``None`` timeouts mean none."""

    dial_timeout: float | None = 30.0
    keep_alive: float | None = 30.0
    """Seconds of silence before TCP keep-alive probes; ``None`` turns them off."""
    max_idle: int = 100
    idle_timeout: float | None = 90.0
    tls_handshake_timeout: float | None = 10.0

    @property
    def idle_per_host(self) -> int:
        return min(GO_IDLE_PER_HOST, self.max_idle) if self.max_idle > 0 else GO_IDLE_PER_HOST

    @property
    def host_pools(self) -> int:
        """How many hosts keep idle connections at once, so that all of them hold no more than
        ``max_idle`` together."""
        if self.max_idle <= 0:
            return UNLIMITED_POOLS
        return max(1, math.ceil(self.max_idle / self.idle_per_host))

    def connect_timeout(self, request_timeout: float | None) -> float | None:
        """The connect timeout of a request that may take ``request_timeout`` in all."""
        limits = [t for t in (self.dial_timeout, request_timeout) if t is not None]
        return min(limits) if limits else None

    def dial_gives_up_first(self, request_timeout: float | None) -> bool:
        """Whether a connect timeout is the dialer's (``dial_context.timeout`` is shorter than the
        request's ``timeout``) rather than the whole request's."""
        return self.dial_timeout is not None and (request_timeout is None or self.dial_timeout < request_timeout)


def _positive(seconds: float) -> float | None:
    return seconds if seconds > 0 else None


def tuning_from_config(conf: Mapping[str, Any] | None) -> Tuning:
    """The ``transport`` block (checked by ``transport_problems``) as a ``Tuning``."""
    conf = conf or {}
    dial = conf.get("dial_context") or {}
    keep_alive = parse_duration(dial.get("keep_alive", "30s"), 30.0)
    return Tuning(
        dial_timeout=_positive(parse_duration(dial.get("timeout", "30s"), 30.0)),
        keep_alive=None if keep_alive < 0 else (keep_alive or GO_DEFAULT_KEEP_ALIVE),
        max_idle=int(conf.get("max_idle_connections", 100)),
        idle_timeout=_positive(parse_duration(conf.get("idle_connection_timeout", "90s"), 90.0)),
        tls_handshake_timeout=_positive(parse_duration(conf.get("tls_handshake_timeout", "10s"), 10.0)),
    )


def transport_problems(conf: Any) -> list[Problem]:
    """What the ``transport`` block asks that this client cannot do."""
    if not isinstance(conf, Mapping):
        return []
    problems = dial_context_problems(conf.get("dial_context"))
    idle = conf.get("max_idle_connections", 100)
    if isinstance(idle, int) and not isinstance(idle, bool) and idle < 0:
        problems.append((("max_idle_connections",), f"must be 0 (no limit) or more, not {idle}"))
    try:
        expect = parse_duration(conf.get("expect_continue_timeout", "1s"), EXPECT_CONTINUE_DEFAULT)
    except ValueError:
        return problems  # the type check reports the malformed duration
    if expect not in (0.0, EXPECT_CONTINUE_DEFAULT):
        problems.append(
            (
                ("expect_continue_timeout",),
                "this gateway's HTTP client never waits for a 100 Continue (it sends the body with "
                "the headers, as 0 does); only 0 or the default 1s can be honoured",
            )
        )
    return problems


def dial_context_problems(conf: Any) -> list[Problem]:
    """``dial_context``'s own fields (the definitions validator looks one level deep only)."""
    if conf is None:
        return []
    if not isinstance(conf, Mapping):
        return [(("dial_context",), "expected an object with timeout and keep_alive")]
    problems: list[Problem] = []
    for key, value in conf.items():
        if key not in ("timeout", "keep_alive"):
            problems.append((("dial_context", str(key)), "unknown field (expected timeout or keep_alive)"))
            continue
        try:
            parse_duration(value, 0.0)
        except ValueError:
            problems.append((("dial_context", str(key)), f"invalid duration {value!r} (expected e.g. 5s, 100ms, 1m30s)"))
    return problems


def transport_field() -> Field:
    """Bento's ``transport`` block with its defaults."""
    return Field(
        "transport",
        "object",
        {},
        "How connections are made and kept (Bento's transport block).",
        fields=(
            Field(
                "dial_context",
                "object",
                {},
                "How new connections are made.",
                fields=(
                    Field("timeout", "duration", "30s", "Longest wait to connect (0: none)."),
                    Field("keep_alive", "duration", "30s", "TCP keep-alive period (0: 15s, negative: off)."),
                ),
            ),
            Field("force_http2", "bool", True, "Accepted; requests are always HTTP/1.1."),
            Field("max_idle_connections", "int", 100, "Idle connections kept for reuse in all, 2 per host (0: no limit)."),
            Field("idle_connection_timeout", "duration", "90s", "An idle connection older than this is closed (0: never)."),
            Field("tls_handshake_timeout", "duration", "10s", "Longest wait for a TLS handshake step (0: none)."),
            Field("expect_continue_timeout", "duration", "1s", "Only 0 or 1s: the body always goes with the headers."),
        ),
        check=transport_problems,
    )
