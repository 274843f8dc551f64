"""How the gateway authenticates to a Kafka cluster: TLS and SASL as one typed, hashable value.

A ``KafkaSecurity`` comes from a ``kafka`` component's ``tls`` and ``sasl`` blocks (field names as
Bento spells them) or from the gateway-wide ``STREAMS_KAFKA_TLS_*`` / ``STREAMS_KAFKA_SASL_*``
settings; a stream that sets neither block uses the settings' value (``or_default``). It is part
of the key that picks a worker's broker object, so two streams reaching one cluster as two users
never share a connection, and every client of one broker (producer, consumers, admin, the
positions log, transactional producers) connects the same way.

Nothing here touches the network or kafka-python: ``problems`` checks a config (what the
definitions validator reports with the config path, and what ``from_config`` raises), and
``client_config`` is the kafka-python keyword arguments, with the ``ssl.SSLContext`` built from
the PEM strings or files.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.settings import Settings

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
"""SASL mechanisms the gateway speaks (``none`` switches SASL off)."""

Problem = tuple[tuple[str | int, ...], str]
"""A config problem: the path below the checked block and what is wrong there."""


class SecurityError(ValueError):
    """A ``tls``/``sasl`` config (or the settings) the gateway cannot use; the message names where."""


@dataclass(frozen=True)
class ClientCert:
    """A client certificate for mutual TLS: PEM text or a file, for the certificate and its key."""

    cert: str = field(default="", repr=False)
    key: str = field(default="", repr=False)
    cert_file: str = ""
    key_file: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Tls:
    """The ``tls`` block. Off unless ``enabled``; the system CAs are trusted unless ``root_cas`` or
    ``root_cas_file`` name others."""

    enabled: bool = False
    skip_cert_verify: bool = False
    root_cas: str = field(default="", repr=False)
    root_cas_file: str = ""
    client_certs: tuple[ClientCert, ...] = ()


@dataclass(frozen=True)
class Sasl:
    """The ``sasl`` block: ``mechanism`` one of ``MECHANISMS`` or ``none``."""

    mechanism: str = "none"
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    """OAUTHBEARER's static access token."""

    @property
    def enabled(self) -> bool:
        return self.mechanism != "none"


@dataclass(frozen=True)
class KafkaSecurity:
    """TLS and SASL of every client of one broker object (see the module doc)."""

    tls: Tls = Tls()
    sasl: Sasl = Sasl()

    @property
    def is_default(self) -> bool:
        """Neither TLS nor SASL: the config said nothing, so the gateway's settings apply."""
        return not self.tls.enabled and not self.sasl.enabled

    @property
    def protocol(self) -> str:
        """kafka-python's ``security_protocol``."""
        if self.sasl.enabled:
            return "SASL_SSL" if self.tls.enabled else "SASL_PLAINTEXT"
        return "SSL" if self.tls.enabled else "PLAINTEXT"

    def or_default(self, default: KafkaSecurity) -> KafkaSecurity:
        return default if self.is_default else self

    def describe(self) -> str:
        """For logs and errors: never a secret."""
        text = self.protocol
        if self.sasl.enabled:
            who = f" as {self.sasl.user}" if self.sasl.user else ""
            text += f" ({self.sasl.mechanism}{who})"
        if self.tls.enabled and self.tls.skip_cert_verify:
            text += " without certificate verification"
        return text

    def client_config(self) -> dict[str, Any]:
        """kafka-python keyword arguments (the OAUTHBEARER token provider is the caller's: it needs
        a kafka-python class; the token is ``sasl.token``)."""
        config: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls.enabled:
            config["ssl_context"] = ssl_context(self.tls)
        if self.sasl.enabled:
            config["sasl_mechanism"] = self.sasl.mechanism
            if self.sasl.mechanism != "OAUTHBEARER":
                config["sasl_plain_username"] = self.sasl.user
                config["sasl_plain_password"] = self.sasl.password
        return config

    @classmethod
    def from_config(cls, tls: Mapping[str, Any] | None, sasl: Mapping[str, Any] | None, where: str) -> KafkaSecurity:
        """A component's ``tls`` and ``sasl`` blocks (``where`` is the component's config path);
        raises ``SecurityError`` naming the first problem's path."""
        for block, problems in (("tls", tls_problems(tls)), ("sasl", sasl_problems(sasl))):
            if problems:
                sub, message = problems[0]
                raise SecurityError(f"{_join(where, block, *sub)}: {message}")
        return cls(tls=_tls(tls or {}), sasl=_sasl(sasl or {}))

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        """The gateway-wide default (``STREAMS_KAFKA_TLS_*`` / ``_SASL_*``, checked by ``Settings``)."""
        certs: tuple[ClientCert, ...] = ()
        if settings.kafka_tls_cert_file and settings.kafka_tls_key_file:
            certs = (ClientCert(cert_file=settings.kafka_tls_cert_file, key_file=settings.kafka_tls_key_file),)
        tls = Tls(
            enabled=settings.kafka_tls,
            skip_cert_verify=settings.kafka_tls_skip_verify,
            root_cas_file=settings.kafka_tls_ca_file or "",
            client_certs=certs,
        )
        sasl = Sasl(
            mechanism=settings.kafka_sasl_mechanism,
            user=settings.kafka_sasl_user or "",
            password=settings.kafka_sasl_password or "",
            token=settings.kafka_sasl_token or "",
        )
        return cls(tls=tls, sasl=sasl)


# -- checks ----------------------------------------------------------------------------------------


def tls_problems(conf: Mapping[str, Any] | None) -> list[Problem]:
    """What is wrong with a ``tls`` block (types are the validator's job; this is meaning)."""
    if not conf:
        return []
    problems: list[Problem] = []
    if conf.get("root_cas") and conf.get("root_cas_file"):
        problems.append(((), "root_cas and root_cas_file are both set; use one"))
    if conf.get("root_cas_file"):
        problems += _file_problem(("root_cas_file",), str(conf["root_cas_file"]))
    certs = conf.get("client_certs") or []
    if not isinstance(certs, list):
        return [*problems, (("client_certs",), "expected a list of {cert, key} or {cert_file, key_file} objects")]
    for i, cert in enumerate(certs):
        problems += [(("client_certs", i, *p), m) for p, m in _cert_problems(cert)]
    if not problems and conf.get("enabled"):
        try:
            ssl_context(_tls(conf))
        except SecurityError as exc:
            problems.append(((), str(exc)))
    return problems


def sasl_problems(conf: Mapping[str, Any] | None) -> list[Problem]:
    """What is wrong with a ``sasl`` block."""
    if not conf:
        return []
    mechanism = _mechanism(conf.get("mechanism"))
    if mechanism is None:
        return [(("mechanism",), f"unknown SASL mechanism {conf.get('mechanism')!r} (expected one of: none, {', '.join(MECHANISMS)})")]
    if mechanism == "OAUTHBEARER":
        if not conf.get("access_token"):
            return [(("access_token",), "required with mechanism OAUTHBEARER (a static token)")]
        return []
    if mechanism != "none" and not conf.get("user"):
        return [(("user",), f"required with mechanism {mechanism}")]
    return []


FRANZ_SASL_FIELDS = ("mechanism", "username", "password", "token", "extensions", "aws")


def franz_sasl_problems(value: Any) -> list[Problem]:
    """What is wrong with ``kafka_franz``'s ``sasl`` list (one mechanism is supported)."""
    if not isinstance(value, list):
        return [((), "expected a list of {mechanism, username, password, token} objects")]
    if len(value) > 1:
        return [((1,), "only one SASL mechanism per component is supported")]
    if not value:
        return []
    entry = value[0]
    if not isinstance(entry, Mapping):
        return [((0,), "expected an object with mechanism, username, password or token")]
    for key in entry:
        if key not in FRANZ_SASL_FIELDS:
            return [((0, str(key)), f"unknown field (expected one of: {', '.join(FRANZ_SASL_FIELDS)})")]
    if entry.get("extensions") or entry.get("aws"):
        key = "extensions" if entry.get("extensions") else "aws"
        return [((0, key), "not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and a static OAUTHBEARER token are)")]
    renamed = {"user": "username", "access_token": "token"}
    return [((0, *(renamed.get(str(p), p) for p in sub)), m) for sub, m in sasl_problems(franz_sasl(value))]


def franz_sasl(value: Any) -> dict[str, Any]:
    """``kafka_franz``'s ``sasl`` list as the ``kafka`` component's ``sasl`` block."""
    if not isinstance(value, list) or not value or not isinstance(value[0], Mapping):
        return {}
    entry = value[0]
    return {
        "mechanism": entry.get("mechanism", "none"),
        "user": entry.get("username", ""),
        "password": entry.get("password", ""),
        "access_token": entry.get("token", ""),
    }


def _cert_problems(cert: Any) -> list[Problem]:
    if not isinstance(cert, Mapping):
        return [((), "expected an object with cert/key or cert_file/key_file")]
    known = {"cert", "key", "cert_file", "key_file", "password"}
    unknown = [k for k in cert if k not in known]
    if unknown:
        return [((str(unknown[0]),), f"unknown field (expected one of: {', '.join(sorted(known))})")]
    problems: list[Problem] = []
    for text, path in (("cert", "cert_file"), ("key", "key_file")):
        if cert.get(text) and cert.get(path):
            problems.append(((text,), f"{text} and {path} are both set; use one"))
        elif not cert.get(text) and not cert.get(path):
            other = "key" if text == "cert" else "cert"
            problems.append(((text,), f"a client certificate needs a {text} (or {path}) with its {other}"))
        elif cert.get(path):
            problems += _file_problem((path,), str(cert[path]))
    return problems


def _file_problem(path: tuple[str, ...], name: str) -> list[Problem]:
    if not os.path.isfile(name):
        return [(path, f"file not found: {name}")]
    if not os.access(name, os.R_OK):
        return [(path, f"file not readable: {name}")]
    return []


def _mechanism(raw: Any) -> str | None:
    text = str(raw or "none").strip().upper()
    if text in ("", "NONE"):
        return "none"
    return text if text in MECHANISMS else None


def _join(*parts: str | int) -> str:
    return ".".join(str(p) for p in parts if p != "")


# -- building ----------------------------------------------------------------------------------------


def _tls(conf: Mapping[str, Any]) -> Tls:
    certs = tuple(
        ClientCert(**{k: str(v or "") for k, v in c.items()}) for c in conf.get("client_certs") or []
    )
    return Tls(
        enabled=bool(conf.get("enabled", False)),
        skip_cert_verify=bool(conf.get("skip_cert_verify", False)),
        root_cas=str(conf.get("root_cas") or ""),
        root_cas_file=str(conf.get("root_cas_file") or ""),
        client_certs=certs,
    )


def _sasl(conf: Mapping[str, Any]) -> Sasl:
    return Sasl(
        mechanism=_mechanism(conf.get("mechanism")) or "none",
        user=str(conf.get("user") or ""),
        password=str(conf.get("password") or ""),
        token=str(conf.get("access_token") or ""),
    )


@functools.lru_cache(maxsize=64)
def ssl_context(tls: Tls) -> ssl.SSLContext:
    """The client context of a ``Tls`` (cached: one per distinct config and process). Raises
    ``SecurityError`` for unreadable CAs or certificates."""
    # NOTE: given CAs replace the system's (as Go's RootCAs do), so a private cluster's
    # certificate is trusted for that CA alone.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if tls.root_cas:
            ctx.load_verify_locations(cadata=tls.root_cas)
        elif tls.root_cas_file:
            ctx.load_verify_locations(cafile=tls.root_cas_file)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except (ssl.SSLError, OSError, ValueError) as exc:
        where = "root_cas_file" if tls.root_cas_file else "root_cas"
        raise SecurityError(f"{where}: not a usable PEM CA bundle ({_reason(exc)})") from None
    if tls.skip_cert_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    for i, cert in enumerate(tls.client_certs):
        try:
            with _pem_file(cert.cert, cert.cert_file) as cert_file, _pem_file(cert.key, cert.key_file) as key_file:
                ctx.load_cert_chain(cert_file, key_file, password=cert.password or None)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise SecurityError(
                f"client_certs.{i}: certificate and key not usable ({_reason(exc)})"
            ) from None
    return ctx


@contextlib.contextmanager
def _pem_file(text: str, path: str) -> Iterator[str]:
    """``ssl`` loads certificates from files only: PEM text goes to a private temporary file for
    the duration of the load."""
    if not text:
        yield path
        return
    fd, name = tempfile.mkstemp(prefix="streams-kafka-", suffix=".pem")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        yield name
    finally:
        os.unlink(name)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None)
    return str(reason or exc)
