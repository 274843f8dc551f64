"""A bounded first contact with a secured Kafka cluster, so bad credentials fail fast and clearly.

kafka-python retries a failing connection for ever and reports a wrong password or an untrusted
certificate as "Unable to bootstrap" after its timeout (a wrong SCRAM password even looks like a
dropped socket). Before a broker object creates its first client, ``check_access`` connects to the
bootstrap addresses itself, within a deadline: TCP, the TLS handshake with the very
``ssl.SSLContext`` the clients use, then Kafka's SaslHandshake and SaslAuthenticate requests
(driven by kafka-python's own SASL mechanisms). The answer is one sentence naming the cause:
``SASL authentication failed for user alice on 127.0.0.1:9096 (SCRAM-SHA-512): ...`` or
``TLS handshake with 127.0.0.1:9096 failed: certificate verify failed: ...``.

Only the two SASL requests are spoken (header v1, SaslHandshake v1, SaslAuthenticate v1: every
Kafka since 1.0 answers them).
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from typing import Any

from kafka.net.sasl import get_sasl_mechanism
from kafka.net.sasl.oauth import AbstractTokenProvider

from streams.brokers.base import BrokerError
from streams.brokers.security import KafkaSecurity

_SASL_HANDSHAKE = 17
_SASL_AUTHENTICATE = 36
_ERRORS = {
    33: "the broker does not enable this SASL mechanism",
    34: "illegal SASL state",
    35: "unsupported SASL version",
    58: "authentication failed",
}


class AccessDenied(BrokerError):
    """The cluster answered and refused us (certificate, mechanism, credentials): retrying the
    same settings cannot help."""


class StaticToken(AbstractTokenProvider):
    """OAUTHBEARER with a fixed access token (Bento's ``sasl.access_token``)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token


def sasl_settings(security: KafkaSecurity) -> dict[str, Any]:
    """kafka-python's keyword arguments for ``security``, the token provider included."""
    config = security.client_config()
    if security.sasl.mechanism == "OAUTHBEARER":
        config["sasl_oauth_token_provider"] = StaticToken(security.sasl.token)
    return config


def check_access(bootstrap: list[str], security: KafkaSecurity, timeout: float, client_id: str = "streams") -> None:
    """Return once one bootstrap address accepted TLS and SASL; raise ``AccessDenied`` when one
    refused them, ``BrokerError`` when none could be reached within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    unreachable: list[str] = []
    for address in bootstrap:
        try:
            _check_one(address, security, deadline, client_id)
            return
        except AccessDenied:
            raise
        except BrokerError as exc:
            unreachable.append(str(exc))
    raise BrokerError(f"Kafka unreachable ({security.describe()}): {'; '.join(unreachable)}")


def _check_one(address: str, security: KafkaSecurity, deadline: float, client_id: str) -> None:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        sock = socket.create_connection((host, int(port)), timeout=_left(deadline))
    except OSError as exc:
        raise BrokerError(f"{address}: {_os_reason(exc)}") from None
    try:
        sock.settimeout(_left(deadline))
        if security.tls.enabled:
            sock = _tls(sock, address, host, security)
        if security.sasl.enabled:
            _sasl(sock, address, host, security, client_id)
    finally:
        sock.close()


def _tls(sock: socket.socket, address: str, host: str, security: KafkaSecurity) -> socket.socket:
    context = security.client_config()["ssl_context"]
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raise AccessDenied(
            f"TLS handshake with {address} failed: certificate verify failed: {exc.verify_message}"
            " (is the broker's CA in tls.root_cas / STREAMS_KAFKA_TLS_CA_FILE?)"
        ) from None
    except (ssl.SSLEOFError, ConnectionResetError):
        raise AccessDenied(
            f"TLS handshake with {address} failed: the broker closed the connection (a listener without TLS?)"
        ) from None
    except ssl.SSLError as exc:
        raise AccessDenied(f"TLS handshake with {address} failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise BrokerError(f"{address}: TLS handshake timed out (does the listener speak TLS?)") from None
    except OSError as exc:
        raise BrokerError(f"{address}: TLS handshake failed: {_os_reason(exc)}") from None


def _sasl(sock: socket.socket, address: str, host: str, security: KafkaSecurity, client_id: str) -> None:
    sasl = security.sasl
    who = f"SASL authentication failed for user {sasl.user} on {address} ({sasl.mechanism})" if sasl.user else (
        f"SASL authentication failed on {address} ({sasl.mechanism})"
    )
    conn = _Wire(sock, address, client_id, has_cert=bool(security.tls.client_certs))
    error, offered = conn.handshake(sasl.mechanism)
    if error and not offered:
        raise AccessDenied(f"{who}: the listener does not take SASL (a PLAINTEXT or SSL listener?)")
    if error:
        raise AccessDenied(f"{who}: {_ERRORS.get(error, f'error {error}')} (it offers {', '.join(offered)})")
    config = {"host": host, **sasl_settings(security)}
    mechanism = get_sasl_mechanism(sasl.mechanism)(**config)
    while not mechanism.is_done():
        error, message, answer = conn.authenticate(mechanism.auth_bytes())
        if error:
            detail = message or _ERRORS.get(error, f"error {error}")
            raise AccessDenied(f"{who}: {detail}")
        mechanism.receive(answer)
    if not mechanism.is_authenticated():
        raise AccessDenied(f"{who}: the broker's answer did not prove the exchange")


class _Wire:
    """Kafka's request framing, just enough for the two SASL requests."""

    def __init__(self, sock: socket.socket, address: str, client_id: str, has_cert: bool = False) -> None:
        self.sock = sock
        self.has_cert = has_cert
        self.address = address
        self.client_id = client_id.encode()
        self.correlation = 0

    def handshake(self, mechanism: str) -> tuple[int, list[str]]:
        body = self._call(_SASL_HANDSHAKE, _string(mechanism.encode()))
        error, count = struct.unpack_from(">hi", body, 0)
        offset, offered = 6, []
        for _ in range(max(0, count)):
            (size,) = struct.unpack_from(">h", body, offset)
            offered.append(body[offset + 2 : offset + 2 + size].decode())
            offset += 2 + size
        return error, offered

    def authenticate(self, auth: bytes) -> tuple[int, str, bytes]:
        body = self._call(_SASL_AUTHENTICATE, struct.pack(">i", len(auth)) + auth)
        error, size = struct.unpack_from(">hh", body, 0)
        offset = 4
        message = ""
        if size >= 0:
            message = body[offset : offset + size].decode(errors="replace")
            offset += size
        (length,) = struct.unpack_from(">i", body, offset)
        answer = body[offset + 4 : offset + 4 + max(0, length)]
        return error, message, answer

    def _call(self, api_key: int, body: bytes) -> bytes:
        self.correlation += 1
        header = struct.pack(">hhi", api_key, 1, self.correlation) + _string(self.client_id)
        request = header + body
        try:
            self.sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", self._read(4))
            reply = self._read(size)
        except ssl.SSLError as exc:
            # TLS 1.3: the broker judges the client certificate after the client's handshake.
            what = (
                "the broker refused the client certificate" if self.has_cert else
                "the broker requires a client certificate (tls.client_certs / STREAMS_KAFKA_TLS_CERT_FILE)"
            )
            raise AccessDenied(f"TLS with {self.address} failed: {what} ({exc.reason or exc})") from None
        except TimeoutError:
            raise BrokerError(f"{self.address}: no answer to the SASL handshake in time") from None
        except OSError as exc:
            raise BrokerError(f"{self.address}: SASL handshake failed: {_os_reason(exc)}") from None
        return reply[4:]  # after the correlation id

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise BrokerError(
                    f"{self.address}: connection closed during the SASL handshake (a TLS listener "
                    "reached without tls.enabled, or a broker without SASL?)"
                )
            data += chunk
        return data


def _string(data: bytes) -> bytes:
    return struct.pack(">h", len(data)) + data


def _left(deadline: float) -> float:
    return max(0.05, deadline - time.monotonic())


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc)
