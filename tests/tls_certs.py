"""Throwaway certificates for tests of TLS connections: a CA, a server certificate for
``127.0.0.1``/``localhost`` signed by it, and a client certificate signed by it (mutual TLS).

Made with the ``openssl`` command in a directory the caller owns; callers skip when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificates:
    """PEM files: ``ca`` signs ``server_cert`` (SAN 127.0.0.1, localhost) and ``client_cert``."""

    ca: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def make_certificates(directory: Path) -> Certificates:
    """A fresh CA with a server and a client certificate in ``directory`` (valid two days)."""
    directory.mkdir(parents=True, exist_ok=True)
    d = directory
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=streams test CA",
             "-keyout", d / "ca.key", "-out", d / "ca.pem")
    _signed(d, "server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _signed(d, "client", "/CN=streams test client", "extendedKeyUsage=clientAuth\n")
    return Certificates(d / "ca.pem", d / "ca.key", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key")


def _signed(d: Path, name: str, subject: str, extensions: str) -> None:
    (d / f"{name}.ext").write_text("basicConstraints=CA:FALSE\n" + extensions)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", d / f"{name}.key", "-out", d / f"{name}.csr")
    _openssl("x509", "-req", "-in", d / f"{name}.csr", "-CA", d / "ca.pem", "-CAkey", d / "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", d / f"{name}.ext", "-out", d / f"{name}.pem")


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
