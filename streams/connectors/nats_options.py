"""What the ``nats`` input and output share: Bento's connection fields and their typed view.

``urls`` is a list whose entries may hold several URLs separated by commas
(``nats://[user:password@|token@]host[:4222]``). Credentials in a URL are the only
authentication done here; the ``auth`` block's NKey and JWT forms need NKey (ed25519) signing
of the server's nonce, which this gateway does not do, so they are refused with that reason.
``tls`` is refused when enabled, and so is a server that requires TLS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from streams.connectors.url_list import url_list_check
from streams.contracts import ConfigError
from streams.registry import Field

DEFAULT_PORT = 4222
SCHEMES = ("nats", "")
AUTH_FIELDS = ("nkey_file", "user_credentials_file", "user_jwt", "user_nkey_seed")
Problems = list[tuple[tuple[str | int, ...], str]]


@dataclass(frozen=True)
class Server:
    """One server to try, with the credentials its URL carried."""

    host: str
    port: int
    user: str = ""
    password: str = ""
    token: str = ""

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NatsOptions:
    servers: tuple[Server, ...]
    name: str
    """The connection name the server shows in its monitoring (Bento uses the component label)."""

    @classmethod
    def from_config(cls, conf: dict[str, Any], where: str, name: str = "") -> NatsOptions:
        """Raises ``ConfigError`` naming the field at fault."""
        for sub, problem in tls_problems(conf.get("tls") or {}):
            raise ConfigError(f"{where}.tls.{'.'.join(map(str, sub))}: {problem}")
        for sub, problem in auth_problems(conf.get("auth") or {}):
            raise ConfigError(f"{where}.auth.{'.'.join(map(str, sub))}: {problem}")
        return cls(parse_urls(conf.get("urls") or [], f"{where}.urls"), name)


def parse_urls(entries: Any, where: str) -> tuple[Server, ...]:
    """Every server of ``entries`` (commas split an entry into several), in order."""
    if isinstance(entries, str):
        entries = [entries]
    out: list[Server] = []
    for entry in entries or []:
        for text in str(entry).split(","):
            text = text.strip()
            if text:
                out.append(_server(text, where))
    if not out:
        raise ConfigError(f"{where}: at least one NATS URL is required")
    return tuple(out)


def _server(text: str, where: str) -> Server:
    parts = urlsplit(text if "://" in text else f"nats://{text}")
    if parts.scheme == "tls":
        raise ConfigError(f"{where}: {text!r}: TLS connections to NATS are not supported")
    if parts.scheme != "nats":
        raise ConfigError(f"{where}: {text!r}: scheme {parts.scheme!r} is not supported (use nats://)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"{where}: {text!r}: bad port") from None
    if not parts.hostname:
        raise ConfigError(f"{where}: {text!r}: no host")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if user and parts.password is None:  # nats://token@host: a user part alone is a token
        return Server(parts.hostname, port, token=user)
    return Server(parts.hostname, port, user, password)


url_problems = url_list_check(parse_urls)


def tls_problems(tls: Any) -> Problems:
    if isinstance(tls, dict) and tls.get("enabled"):
        return [(("enabled",), "TLS connections to NATS are not supported")]
    return []


def auth_problems(auth: Any) -> Problems:
    if not isinstance(auth, dict):
        return []
    return [
        ((key,), "NKey and JWT authentication is not supported (put user:password@ or token@ in the URL)")
        for key in AUTH_FIELDS
        if auth.get(key)
    ]


URLS_FIELD = Field(
    "urls", "string_list", doc="Server URLs (nats://[user:password@|token@]host:port); commas separate several.", check=url_problems
)
TLS_FIELD = Field("tls", "object", {}, "TLS is not supported yet: `enabled: true` is refused.", check=tls_problems)
AUTH_FIELD = Field(
    "auth",
    "object",
    {},
    "NKey/JWT authentication: refused when set (credentials go in the URL).",
    fields=tuple(Field(key, "string", "", "Refused when set.") for key in AUTH_FIELDS),
    check=auth_problems,
)
