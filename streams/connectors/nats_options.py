"""What the ``nats`` input and output share: Bento's connection fields and their typed view.

``urls`` is a list whose entries may hold several URLs separated by commas
(``nats://[user:password@|token@]host[:4222]``; ``tls://`` for TLS). Credentials in a URL are
sent as user and password or token. The ``auth`` block, as in Bento, adds NKey authentication:
``nkey_file`` (a file holding a seed), ``user_credentials_file`` (a ``.creds`` file: user JWT and
seed) or ``user_jwt`` with ``user_nkey_seed``; the client signs the server's nonce with the seed.
Files are checked at load and read again at each connection, so a rotated ``.creds`` file is
picked up.

TLS is on for a ``tls://`` URL, with ``tls.enabled`` (its CAs and certificates), or when the
server's ``INFO`` says ``tls_required`` (then the system CAs, unless ``tls`` says otherwise).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from streams.connectors.nkeys import KeyPair, NKeyError, parse_credentials, read_file
from streams.connectors.url_list import url_list_check
from streams.contracts import ConfigError
from streams.registry import Field
from streams.tls import Tls, ssl_context, tls_field, tls_from_config, tls_problems

DEFAULT_PORT = 4222
SCHEMES = ("nats", "tls")
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
    secure: bool = False
    """A ``tls://`` URL: TLS whatever the server offers."""

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NatsAuth:
    """The ``auth`` block: where the seed (and the JWT) to answer the server's nonce come from."""

    nkey_file: str = ""
    user_credentials_file: str = ""
    user_jwt: str = field(default="", repr=False)
    user_nkey_seed: str = field(default="", repr=False)

    def credentials(self, nonce: str) -> dict[str, str]:
        """CONNECT's ``jwt``/``nkey`` and ``sig`` fields (none without an NKey); raises
        ``NKeyError`` when a file went missing or bad since the load."""
        # NOTE: given both, Bento's client uses user_jwt over the .creds file (nkey_file with
        # either is refused at load).
        if self.user_jwt:
            return {"jwt": self.user_jwt, "sig": KeyPair.from_seed(self.user_nkey_seed).sign(nonce.encode())}
        if self.user_credentials_file:
            jwt, key = parse_credentials(read_file(self.user_credentials_file))
            return {"jwt": jwt, "sig": key.sign(nonce.encode())}
        if self.nkey_file:
            key = KeyPair.from_seed(read_file(self.nkey_file))
            return {"nkey": key.public_key, "sig": key.sign(nonce.encode())}
        return {}


@dataclass(frozen=True)
class NatsOptions:
    servers: tuple[Server, ...]
    name: str
    """The connection name the server shows in its monitoring (Bento uses the component label)."""
    tls: Tls = Tls()
    auth: NatsAuth = NatsAuth()

    @classmethod
    def from_config(cls, conf: dict[str, Any], where: str, name: str = "") -> NatsOptions:
        """Raises ``ConfigError`` naming the field at fault."""
        for sub, problem in tls_problems(conf.get("tls") or {}):
            raise ConfigError(f"{'.'.join(map(str, (f'{where}.tls', *sub)))}: {problem}")
        auth = conf.get("auth") or {}
        for sub, problem in auth_problems(auth):
            raise ConfigError(f"{where}.auth.{'.'.join(map(str, sub))}: {problem}")
        return cls(
            parse_urls(conf.get("urls") or [], f"{where}.urls"),
            name,
            tls_from_config(conf.get("tls") or {}),
            NatsAuth(**{key: str(auth.get(key) or "") for key in AUTH_FIELDS}),
        )

    def context_for(self, server: Server, tls_required: bool) -> ssl.SSLContext | None:
        """The TLS context of a connection to ``server`` (whose INFO says whether it requires
        TLS); None for plain text."""
        if self.tls.enabled:
            return ssl_context(self.tls)
        if server.secure or tls_required:
            return ssl_context(Tls(enabled=True))
        return None


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
    if parts.scheme not in SCHEMES:
        raise ConfigError(f"{where}: {text!r}: scheme {parts.scheme!r} is not supported (use nats:// or tls://)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"{where}: {text!r}: bad port") from None
    if not parts.hostname:
        raise ConfigError(f"{where}: {text!r}: no host")
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if user and parts.password is None:  # nats://token@host: a user part alone is a token
        return Server(parts.hostname, port, token=user, secure=parts.scheme == "tls")
    return Server(parts.hostname, port, user, password, secure=parts.scheme == "tls")


url_problems = url_list_check(parse_urls)


def auth_problems(auth: Any) -> Problems:
    """What is wrong with an ``auth`` block: unreadable or malformed files and seeds, a JWT
    without its seed (or the reverse; Bento would ignore the one given), an NKey with a JWT."""
    if not isinstance(auth, dict):
        return []
    given = [key for key in AUTH_FIELDS if auth.get(key)]
    if auth.get("user_jwt") and not auth.get("user_nkey_seed"):
        return [(("user_jwt",), "needs the user's NKey seed in user_nkey_seed")]
    if auth.get("user_nkey_seed") and not auth.get("user_jwt"):
        return [(("user_nkey_seed",), "signs for the JWT in user_jwt, which is empty")]
    if auth.get("nkey_file") and (auth.get("user_credentials_file") or auth.get("user_jwt")):
        # Bento's client fails every connection so ("user callback defined with nkey")
        return [(("nkey_file",), "cannot be used with a user JWT (user_credentials_file or user_jwt)")]
    checks = {
        "nkey_file": lambda text: KeyPair.from_seed(read_file(text)),
        "user_credentials_file": lambda text: parse_credentials(read_file(text)),
        "user_nkey_seed": KeyPair.from_seed,
    }
    for key in given:
        if key in checks:
            try:
                checks[key](str(auth[key]))
            except NKeyError as exc:
                return [((key,), str(exc))]
    return []


URLS_FIELD = Field(
    "urls",
    "string_list",
    doc="Server URLs (nats://[user:password@|token@]host:port, tls:// for TLS); commas separate several.",
    check=url_problems,
)
TLS_FIELD = tls_field("TLS to the servers (also used when a server requires TLS).")
AUTH_FIELD = Field(
    "auth",
    "object",
    {},
    "NKey authentication (user:password@ or token@ go in the URL).",
    fields=(
        Field("nkey_file", "string", "", "File holding an NKey seed (SU...); its public key is sent."),
        Field("user_credentials_file", "string", "", "A .creds file: the user JWT and its NKey seed."),
        Field("user_jwt", "string", "", "A user JWT (with user_nkey_seed)."),
        Field("user_nkey_seed", "string", "", "The NKey seed of user_jwt's user."),
    ),
    check=auth_problems,
)
