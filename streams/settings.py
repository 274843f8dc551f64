"""Gateway settings, read once from ``STREAMS_*`` environment variables.

Everything a deployment tunes lives here so that the engine, the handlers and the deployment files
agree on one name and one default per knob. A bad value fails start-up with an error naming the
variable, instead of surfacing later as an odd runtime behaviour.

=================================  ===========================  ===============================================
Variable                           Default                      Meaning
=================================  ===========================  ===============================================
``STREAMS_DEFINITIONS_DIR``        ``<repo>/deploy/apis``       Directory of API definitions (``*.yaml``,
                                                                ``*.yml``, ``*.json``) loaded at start-up.
``STREAMS_KAFKA_BROKERS``          ``embedded``                 ``embedded`` (SQLite log under the data dir) or a
                                                                comma list ``host:port,...`` that replaces every
                                                                Kafka address written in the definitions.
``STREAMS_KAFKA_TLS``              ``false``                    Connect to Kafka over TLS (also on when a CA or
                                                                client certificate file below is set). Applies
                                                                to every Kafka client of the gateway, except
                                                                those of a stream whose ``kafka`` block sets
                                                                its own ``tls``/``sasl``.
``STREAMS_KAFKA_TLS_CA_FILE``      unset (system CAs)           PEM file of the CAs that sign the brokers'
                                                                certificates.
``STREAMS_KAFKA_TLS_CERT_FILE``    unset                        PEM client certificate (mutual TLS); needs
``STREAMS_KAFKA_TLS_KEY_FILE``                                  ``_KEY_FILE``.
``STREAMS_KAFKA_TLS_SKIP_VERIFY``  ``false``                    Accept any broker certificate (tests only).
``STREAMS_KAFKA_SASL_MECHANISM``   ``none``                     ``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512``
                                                                or ``OAUTHBEARER`` (a static token).
``STREAMS_KAFKA_SASL_USER``        unset                        SASL user (PLAIN, SCRAM).
``STREAMS_KAFKA_SASL_PASSWORD``    unset                        Its password; ``_FILE`` reads it from a file.
``STREAMS_KAFKA_SASL_TOKEN``       unset                        OAUTHBEARER access token; ``_FILE`` reads it
                                                                from a file.
``STREAMS_DATA_DIR``               ``./var``                    Where the embedded broker and other state live.
``STREAMS_LOG_LEVEL``              ``INFO``                     ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``,
                                                                ``CRITICAL``.
``STREAMS_LOG_FORMAT``             ``json``                     ``json`` (one object per line) or ``text``.
``STREAMS_STATSD_HOST``            unset (statsd off)           statsd server host.
``STREAMS_STATSD_PORT``            ``8125``                     statsd server UDP port.
``STREAMS_STATSD_PREFIX``          ``streams``                  Prefix of every statsd metric name.
``STREAMS_ALLOW_IMPURE_BLOBLANG``  ``false``                    Allow Bloblang functions that read the host
                                                                (``env``, ``file``, ``hostname``).
``STREAMS_INSTANCE_IDLE_TIMEOUT``  ``60``                       Seconds a per-user stream instance lives with no
                                                                attached client before it is closed.
``STREAMS_SSE_HEARTBEAT``          ``15``                       Seconds between SSE heartbeat comments.
``STREAMS_MAX_BODY_BYTES``         ``1048576``                  Largest accepted request body (413 above it)
                                                                and WebSocket message (close 1009 above it).
``STREAMS_HEADER_TIMEOUT``         ``10``                       Seconds a client has to send a request's headers
                                                                (from connecting, or from the first byte of a
                                                                kept-alive request); slower ones get 408 and are
                                                                dropped (slowloris).
``STREAMS_WS_FRAMES_PER_SECOND``   ``200``                      Frames a WebSocket client may send per second
                                                                (bursts of as many); over it the connection is
                                                                closed with 1008.
``STREAMS_MAX_REQUEST_LINE``       ``8190``                     Longest request line (method, URL, version) in
                                                                bytes; longer ones get 414 (JSON) and the
                                                                connection is closed. At most 8191.
``STREAMS_MAX_HEADER_BYTES``       ``16384``                    Largest request header section (every field
                                                                line together); larger ones get 431 (JSON), as
                                                                do more than 100 header fields.
``STREAMS_MAX_QUERY_PARAMS``       ``100``                      Most query parameters in one URL; more get 400
                                                                (JSON): the URL is within the length limit, so
                                                                414 would misname the problem.
``STREAMS_MAX_CLIENT_STREAMS``     ``1000``                     Streaming connections (SSE, WebSocket, waiting
                                                                GET) one client may hold open on the host, over
                                                                every worker; more get 429. A client is the
                                                                ``$tyk_context`` values its stream is opened
                                                                for (the user), or its address when the stream
                                                                uses none (behind a proxy, set
                                                                ``STREAMS_TRUSTED_PROXIES``). A connection the
                                                                client dropped counts until the gateway notices
                                                                (SSE: the next heartbeat; a waiting GET: its
                                                                timeout).
``STREAMS_CLIENT_QUEUE``           ``1000``                     Messages buffered per streaming connection
                                                                before the slow client is cut off.
``STREAMS_DRAIN_TIMEOUT``          ``10``                       Seconds a stopping worker waits for in-flight
                                                                messages.
``STREAMS_METRICS``                ``true``                     Serve Prometheus metrics on ``/metrics``.
``STREAMS_JWT_SECRET``             unset (JWT claims off)       Key that verifies bearer JWTs whose claims
                                                                become ``$tyk_context.jwt_claims_*``: an HMAC
                                                                secret or a PEM public key.
``STREAMS_JWT_SECRET_FILE``        unset                        Read that key from a file instead.
``STREAMS_JWT_ALGORITHMS``         ``HS256``                    Accepted JWT algorithms (comma list); the
                                                                default is ``RS256,ES256`` for a PEM key.
``STREAMS_TRUSTED_PROXIES``        unset (trust none)           Proxies (IPs, CIDRs; comma list) whose
                                                                ``X-Forwarded-For`` names the client address.
``STREAMS_CONTROL_SOCKET``         ``<data dir>/gunicorn.ctl``  gunicorn's control socket (``gunicornc``): a
                                                                path, or ``off``; one per gateway instance.
``STREAMS_SECRET``                 unset (management API off)   The management API's secret, sent as the
                                                                ``x-tyk-authorization`` header.
``STREAMS_SECRET_FILE``            unset                        Read that secret from a file instead.
``STREAMS_WATCH_INTERVAL``         ``1``                        Seconds between looks at the definitions
                                                                directory (changes are applied without a
                                                                signal); ``0`` turns the watch off.
=================================  ===========================  ===============================================

Booleans accept ``1/0``, ``true/false``, ``yes/no``, ``on/off`` (any case). Durations are seconds
(a decimal number).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from streams.forwarded import IPNetwork, parse_networks

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEFINITIONS_DIR = str(REPO_ROOT / "deploy" / "apis")

_T = TypeVar("_T")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


_EMBEDDED: str | tuple[str, ...] = "embedded"
_SASL_MECHANISMS = ("none", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")


class SettingsError(ValueError):
    """A ``STREAMS_*`` variable holds a value the gateway cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    """The gateway's settings; build with :meth:`from_env` (or directly in tests)."""

    definitions_dir: str = DEFAULT_DEFINITIONS_DIR
    kafka_brokers: str | tuple[str, ...] = "embedded"
    """``"embedded"`` or a tuple of ``host:port`` bootstrap addresses."""
    data_dir: str = "./var"
    log_level: str = "INFO"
    log_format: str = "json"
    statsd_host: str | None = None
    statsd_port: int = 8125
    statsd_prefix: str = "streams"
    allow_impure_bloblang: bool = False
    instance_idle_timeout: float = 60.0
    sse_heartbeat: float = 15.0
    max_body_bytes: int = 1048576
    """Also the largest WebSocket message (1009 above it)."""
    header_timeout: float = 10.0
    ws_frames_per_second: int = 200
    max_request_line: int = 8190
    max_header_bytes: int = 16384
    max_query_params: int = 100
    max_client_streams: int = 1000
    client_queue: int = 1000
    drain_timeout: float = 10.0
    metrics_enabled: bool = True
    jwt_secret: str | None = None
    """Verifies bearer JWTs; unset means no ``jwt_claims_*`` variables (claims are never trusted
    unverified)."""
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    trusted_proxies: tuple[IPNetwork, ...] = ()
    """Direct peers whose ``X-Forwarded-For`` is believed (``streams.forwarded``)."""
    control_socket: str = ""
    """gunicorn's control socket: ``""`` for one under the data dir, ``"off"``, or a path; read
    through :attr:`control_socket_path`."""
    secret: str | None = field(default=None, repr=False)
    """The management API's secret (``x-tyk-authorization``); unset means the API answers 404."""
    watch_interval: float = 1.0
    """Seconds between looks at the definitions directory; 0 means it is not watched."""
    kafka_tls: bool = False
    """TLS to Kafka; on when asked for or when a CA / client certificate file is given."""
    kafka_tls_ca_file: str | None = None
    kafka_tls_cert_file: str | None = None
    kafka_tls_key_file: str | None = None
    kafka_tls_skip_verify: bool = False
    kafka_sasl_mechanism: str = "none"
    """``none`` or one of ``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512``, ``OAUTHBEARER``."""
    kafka_sasl_user: str | None = None
    kafka_sasl_password: str | None = field(default=None, repr=False)
    kafka_sasl_token: str | None = field(default=None, repr=False)

    @property
    def control_socket_path(self) -> str | None:
        """Where this gateway's gunicorn listens for ``gunicornc``; None when switched off. Under
        the data dir by default, so gateways on one host never share gunicorn's
        ``~/.gunicorn/gunicorn.ctl`` (a second one would take the socket over from the first)."""
        if self.control_socket.lower() in _FALSE | {"none"}:
            return None
        return self.control_socket or os.path.join(os.path.abspath(self.data_dir), "gunicorn.ctl")

    @property
    def embedded_kafka(self) -> bool:
        """True when the embedded broker is used instead of a real Kafka cluster."""
        return self.kafka_brokers == "embedded"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read every ``STREAMS_*`` variable; unset or empty variables take the default."""

        def get(name: str, parse: Callable[[str, str], _T], default: _T) -> _T:
            raw = environ.get(name, "").strip()
            if raw == "":
                return default
            return parse(name, raw)

        secret = get("STREAMS_JWT_SECRET", _string, None)
        secret_file = get("STREAMS_JWT_SECRET_FILE", _string, None)
        if secret_file is not None:
            if secret is not None:
                raise SettingsError("STREAMS_JWT_SECRET and STREAMS_JWT_SECRET_FILE are both set; use one")
            secret = _read_secret("STREAMS_JWT_SECRET_FILE", secret_file)
        admin = get("STREAMS_SECRET", _string, None)
        admin_file = get("STREAMS_SECRET_FILE", _string, None)
        if admin_file is not None:
            if admin is not None:
                raise SettingsError("STREAMS_SECRET and STREAMS_SECRET_FILE are both set; use one")
            admin = _read_secret("STREAMS_SECRET_FILE", admin_file)
        kafka = _kafka_security(get)
        return cls(
            definitions_dir=get("STREAMS_DEFINITIONS_DIR", _string, DEFAULT_DEFINITIONS_DIR),
            kafka_brokers=get("STREAMS_KAFKA_BROKERS", _brokers, _EMBEDDED),
            data_dir=get("STREAMS_DATA_DIR", _string, "./var"),
            log_level=get("STREAMS_LOG_LEVEL", _level, "INFO"),
            log_format=get("STREAMS_LOG_FORMAT", _choice("json", "text"), "json"),
            statsd_host=get("STREAMS_STATSD_HOST", _string, None),
            statsd_port=get("STREAMS_STATSD_PORT", _port, 8125),
            statsd_prefix=get("STREAMS_STATSD_PREFIX", _string, "streams"),
            allow_impure_bloblang=get("STREAMS_ALLOW_IMPURE_BLOBLANG", _bool, False),
            instance_idle_timeout=get("STREAMS_INSTANCE_IDLE_TIMEOUT", _seconds, 60.0),
            sse_heartbeat=get("STREAMS_SSE_HEARTBEAT", _seconds, 15.0),
            max_body_bytes=get("STREAMS_MAX_BODY_BYTES", _positive_int, 1048576),
            header_timeout=get("STREAMS_HEADER_TIMEOUT", _seconds, 10.0),
            ws_frames_per_second=get("STREAMS_WS_FRAMES_PER_SECOND", _positive_int, 200),
            max_request_line=get("STREAMS_MAX_REQUEST_LINE", _request_line, 8190),
            max_header_bytes=get("STREAMS_MAX_HEADER_BYTES", _positive_int, 16384),
            max_query_params=get("STREAMS_MAX_QUERY_PARAMS", _positive_int, 100),
            max_client_streams=get("STREAMS_MAX_CLIENT_STREAMS", _positive_int, 1000),
            client_queue=get("STREAMS_CLIENT_QUEUE", _positive_int, 1000),
            drain_timeout=get("STREAMS_DRAIN_TIMEOUT", _seconds, 10.0),
            metrics_enabled=get("STREAMS_METRICS", _bool, True),
            jwt_secret=secret,
            jwt_algorithms=get("STREAMS_JWT_ALGORITHMS", _algorithms, _default_algorithms(secret)),
            trusted_proxies=get("STREAMS_TRUSTED_PROXIES", _networks, ()),
            control_socket=get("STREAMS_CONTROL_SOCKET", _string, ""),
            secret=admin,
            watch_interval=get("STREAMS_WATCH_INTERVAL", _seconds_or_off, 1.0),
            **kafka,
        )


def _string(name: str, raw: str) -> str:
    return raw


def _bool(name: str, raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r}: expected a boolean (true/false, 1/0, yes/no, on/off)")


MAX_REQUEST_LINE = 8191
"""The server reads a request line in one read of 8192 bytes; a line that long is cut there."""


def _request_line(name: str, raw: str) -> int:
    value = _positive_int(name, raw)
    if not 16 <= value <= MAX_REQUEST_LINE:
        raise SettingsError(f"{name}={raw!r}: must be between 16 and {MAX_REQUEST_LINE}")
    return value


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: must be greater than 0")
    return value


def _port(name: str, raw: str) -> int:
    value = _positive_int(name, raw)
    if value > 65535:
        raise SettingsError(f"{name}={raw!r}: a port is between 1 and 65535")
    return value


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name}={raw!r}: must be a finite number of seconds greater than 0")
    return value


def _seconds_or_off(name: str, raw: str) -> float:
    """Like ``_seconds``, but ``0`` is allowed and means "off"."""
    try:
        if float(raw) == 0:
            return 0.0
    except ValueError:
        pass
    return _seconds(name, raw)


def _level(name: str, raw: str) -> str:
    level = raw.upper()
    if level == "WARN":
        level = "WARNING"
    if level not in _LEVELS:
        raise SettingsError(f"{name}={raw!r}: expected one of {', '.join(_LEVELS)}")
    return level


def _choice(*options: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.lower()
        if value not in options:
            raise SettingsError(f"{name}={raw!r}: expected one of {', '.join(options)}")
        return value

    return parse


def _brokers(name: str, raw: str) -> str | tuple[str, ...]:
    if raw.lower() == "embedded":
        return "embedded"
    addresses = []
    for part in raw.split(","):
        part = part.strip()
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(
                f"{name}={raw!r}: expected 'embedded' or a comma list of host:port, bad entry {part!r}"
            )
        addresses.append(part)
    return tuple(addresses)


_JWT_ALGORITHMS = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
    "PS256", "PS384", "PS512", "EdDSA",
}


def _default_algorithms(secret: str | None) -> tuple[str, ...]:
    """A PEM key means asymmetric signatures; anything else is an HMAC secret. Never both, so a
    public key can not be abused as an HMAC secret."""
    if secret is not None and secret.lstrip().startswith("-----BEGIN"):
        return ("RS256", "ES256")
    return ("HS256",)


def _algorithms(name: str, raw: str) -> tuple[str, ...]:
    algs = tuple(a.strip() for a in raw.split(",") if a.strip())
    bad = [a for a in algs if a not in _JWT_ALGORITHMS]
    if bad or not algs:
        raise SettingsError(f"{name}={raw!r}: unknown JWT algorithm(s) {', '.join(bad) or '(none)'}")
    return algs


def _networks(name: str, raw: str) -> tuple[IPNetwork, ...]:
    try:
        return parse_networks(raw)
    except ValueError as err:
        raise SettingsError(f"{name}={raw!r}: {err}") from None


def _read_secret(name: str, path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            value = fh.read().strip()
    except OSError as err:
        raise SettingsError(f"{name}={path!r}: cannot read the file: {err.strerror}") from None
    if not value:
        raise SettingsError(f"{name}={path!r}: the file is empty")
    return value


# -- Kafka security --------------------------------------------------------------------------------


def _kafka_security(get: Callable[..., Any]) -> dict[str, Any]:
    """The ``STREAMS_KAFKA_TLS_*`` / ``_SASL_*`` settings, checked together (a certificate needs
    its key, a mechanism its credentials, a file must be readable)."""
    ca_file = get("STREAMS_KAFKA_TLS_CA_FILE", _readable_file, None)
    cert_file = get("STREAMS_KAFKA_TLS_CERT_FILE", _readable_file, None)
    key_file = get("STREAMS_KAFKA_TLS_KEY_FILE", _readable_file, None)
    if (cert_file is None) != (key_file is None):
        raise SettingsError(
            "STREAMS_KAFKA_TLS_CERT_FILE and STREAMS_KAFKA_TLS_KEY_FILE go together: a client "
            "certificate needs its key"
        )
    mechanism = get("STREAMS_KAFKA_SASL_MECHANISM", _mechanism, "none")
    user = get("STREAMS_KAFKA_SASL_USER", _string, None)
    password = _secret_pair(get, "STREAMS_KAFKA_SASL_PASSWORD")
    token = _secret_pair(get, "STREAMS_KAFKA_SASL_TOKEN")
    if mechanism == "OAUTHBEARER" and token is None:
        raise SettingsError("STREAMS_KAFKA_SASL_MECHANISM=OAUTHBEARER needs STREAMS_KAFKA_SASL_TOKEN (or _FILE)")
    if mechanism not in ("none", "OAUTHBEARER") and (user is None or password is None):
        raise SettingsError(
            f"STREAMS_KAFKA_SASL_MECHANISM={mechanism} needs STREAMS_KAFKA_SASL_USER and "
            "STREAMS_KAFKA_SASL_PASSWORD (or _FILE)"
        )
    tls = get("STREAMS_KAFKA_TLS", _bool, False)
    return {
        "kafka_tls": bool(tls or ca_file or cert_file),
        "kafka_tls_ca_file": ca_file,
        "kafka_tls_cert_file": cert_file,
        "kafka_tls_key_file": key_file,
        "kafka_tls_skip_verify": get("STREAMS_KAFKA_TLS_SKIP_VERIFY", _bool, False),
        "kafka_sasl_mechanism": mechanism,
        "kafka_sasl_user": user,
        "kafka_sasl_password": password,
        "kafka_sasl_token": token,
    }


def _secret_pair(get: Callable[..., Any], name: str) -> str | None:
    """``NAME`` or ``NAME_FILE`` (never both)."""
    value = get(name, _string, None)
    path = get(f"{name}_FILE", _string, None)
    if path is None:
        return value if isinstance(value, str) else None
    if value is not None:
        raise SettingsError(f"{name} and {name}_FILE are both set; use one")
    return _read_secret(f"{name}_FILE", str(path))


def _mechanism(name: str, raw: str) -> str:
    value = raw.upper()
    if value == "NONE":
        return "none"
    if value not in _SASL_MECHANISMS:
        raise SettingsError(f"{name}={raw!r}: unknown SASL mechanism (expected one of {', '.join(_SASL_MECHANISMS)})")
    return value


def _readable_file(name: str, raw: str) -> str:
    if not os.path.isfile(raw):
        raise SettingsError(f"{name}={raw!r}: file not found")
    if not os.access(raw, os.R_OK):
        raise SettingsError(f"{name}={raw!r}: file not readable")
    return raw
