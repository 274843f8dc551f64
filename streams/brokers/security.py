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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from streams.interning import Interner
from streams.tls import ClientCert, Problem, SecurityError, Tls, ssl_context, tls_from_config, tls_problems

__all__ = [
    "MECHANISMS",
    "ClientCert",
    "KafkaSecurity",
    "Sasl",
    "SecurityError",
    "Tls",
    "franz_sasl",
    "franz_sasl_problems",
    "sasl_problems",
    "ssl_context",
    "tls_problems",
]

if TYPE_CHECKING:
    from streams.settings import Settings

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
"""SASL mechanisms the gateway speaks (``none`` switches SASL off)."""


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
        return _SHARED(cls(tls=tls_from_config(tls), sasl=_sasl(sasl or {})))

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


_SHARED: Interner[KafkaSecurity] = Interner()
"""Equal security blocks of many instances (one per user) are one object."""


# -- checks ----------------------------------------------------------------------------------------


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


def _mechanism(raw: Any) -> str | None:
    text = str(raw or "none").strip().upper()
    if text in ("", "NONE"):
        return "none"
    return text if text in MECHANISMS else None


def _join(*parts: str | int) -> str:
    return ".".join(str(p) for p in parts if p != "")


# -- building ----------------------------------------------------------------------------------------


def _sasl(conf: Mapping[str, Any]) -> Sasl:
    return Sasl(
        mechanism=_mechanism(conf.get("mechanism")) or "none",
        user=str(conf.get("user") or ""),
        password=str(conf.get("password") or ""),
        token=str(conf.get("access_token") or ""),
    )
