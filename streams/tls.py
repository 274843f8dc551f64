"""The ``tls`` block every Bento component spells the same way, as one typed, hashable value.

Kafka, AMQP 0-9-1, AMQP 1.0, MQTT, NATS and HTTP clients all take ``enabled``,
``skip_cert_verify``, ``enable_renegotiation``, ``root_cas``/``root_cas_file`` and
``client_certs``. Parsing, checking and the ``ssl.SSLContext`` live here once so each connector
only says where its socket gets wrapped. Nothing here touches the network.
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.registry import Field

Problem = tuple[tuple[str | int, ...], str]
"""A config problem: the path below the checked block and what is wrong there."""


class SecurityError(ValueError):
    """A ``tls`` config (or a connection setting) the gateway cannot use; the message names where."""


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
    enable_renegotiation: bool = False
    """Off (Go's default): a server asking to renegotiate a TLS 1.2 session fails the connection."""
    root_cas: str = field(default="", repr=False)
    root_cas_file: str = ""
    client_certs: tuple[ClientCert, ...] = ()


def tls_from_config(conf: Mapping[str, Any] | None) -> Tls:
    """The ``Tls`` of a block already checked by ``tls_problems``."""
    conf = conf or {}
    certs = tuple(
        ClientCert(**{k: str(v or "") for k, v in c.items()}) for c in conf.get("client_certs") or []
    )
    return Tls(
        enabled=bool(conf.get("enabled", False)),
        skip_cert_verify=bool(conf.get("skip_cert_verify", False)),
        enable_renegotiation=bool(conf.get("enable_renegotiation", False)),
        root_cas=str(conf.get("root_cas") or ""),
        root_cas_file=str(conf.get("root_cas_file") or ""),
        client_certs=certs,
    )


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
            ssl_context(tls_from_config(conf))
        except SecurityError as exc:
            problems.append(((), str(exc)))
    return problems


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
    if not tls.enable_renegotiation:
        # NOTE: OpenSSL would follow a server's renegotiation request; Go refuses it unless told.
        ctx.options |= ssl.OP_NO_RENEGOTIATION
    for i, cert in enumerate(tls.client_certs):
        try:
            with pem_file(cert.cert, cert.cert_file) as cert_file, pem_file(cert.key, cert.key_file) as key_file:
                ctx.load_cert_chain(cert_file, key_file, password=cert.password or None)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise SecurityError(
                f"client_certs.{i}: certificate and key not usable ({_reason(exc)})"
            ) from None
    return ctx


@contextlib.contextmanager
def pem_file(text: str, path: str) -> Iterator[str]:
    """``ssl`` loads certificates from files only: PEM text goes to a private temporary file for
    the duration of the load."""
    if not text:
        yield path
        return
    fd, name = tempfile.mkstemp(prefix="streams-tls-", suffix=".pem")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        yield name
    finally:
        os.unlink(name)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None)
    return str(reason or exc)


def tls_field(doc: str = "TLS to the server.") -> Field:
    """The ``tls`` field of a component's spec, checked by ``tls_problems``."""
    return Field(
        "tls",
        "object",
        {},
        doc,
        fields=(
            Field("enabled", "bool", False, "Connect over TLS."),
            Field("skip_cert_verify", "bool", False, "Accept any server certificate (tests only)."),
            Field(
                "enable_renegotiation", "bool", False,
                "Follow a server's request to renegotiate a TLS 1.2 session (off: the connection fails).",
            ),
            Field("root_cas", "string", "", "PEM CAs trusted for the server's certificate."),
            Field("root_cas_file", "string", "", "File of PEM CAs trusted for the server's certificate."),
            Field("client_certs", "any", [], "Client certificates: [{cert, key} or {cert_file, key_file}, password]."),
        ),
        check=tls_problems,
    )
