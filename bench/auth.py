"""Authentication: what one request's check costs in a worker; prints numbers, asserts nothing.

    python bench/auth.py [--calls 5000] [--dir DIR]

``Gate.check`` per call (µs, mean and p99) for a JWT of each family (HS256, RS256, ES256, keys
in memory) and for an API key (the key table in memory; its quota counted in the host's state
file, as a worker does), so the share of a push's time spent on authentication can be judged.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

from streams.auth.config import AuthConfig, CredentialSources, JwtScheme, TokenScheme  # noqa: E402
from streams.auth.gate import Credentials, Gate  # noqa: E402
from streams.auth.sessions import hash_key, read_session, stored_document  # noqa: E402
from streams.engine.host import HostState  # noqa: E402

SECRET = b"bench-secret-of-a-good-length-for-every-hmac-algorithm-we-accept"


def pem(private_key: object) -> bytes:
    return private_key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def measure(gate: Gate, creds: Credentials, calls: int) -> tuple[float, float]:
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        gate.check(creds)
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return statistics.fmean(times), times[int(len(times) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--dir", default=None, help="data directory for the host state (default: a temporary one)")
    args = parser.parse_args()
    data_dir = args.dir or tempfile.mkdtemp(prefix="bench-auth-")
    host = HostState(data_dir)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    cases = [
        ("JWT HS256", JwtScheme("j", CredentialSources(), "hmac", secret=SECRET), jwt.encode({"sub": "a"}, SECRET, "HS256")),
        ("JWT RS256", JwtScheme("j", CredentialSources(), "rsa", public_key_pem=pem(rsa_key)), jwt.encode({"sub": "a"}, rsa_key, "RS256")),
        ("JWT ES256", JwtScheme("j", CredentialSources(), "ecdsa", public_key_pem=pem(ec_key)), jwt.encode({"sub": "a"}, ec_key, "ES256")),
    ]
    sessions = {hash_key("k"): read_session(stored_document({"quota_max": 10**9, "quota_renewal_rate": 3600}, hash_key("k"), 0))}
    print(f"{'check':<34} {'mean µs':>9} {'p99 µs':>9}")
    for name, scheme, token in cases:
        gate = Gate("api", "api", AuthConfig(((scheme,),), schemes={"j": scheme}), keys=sessions.get,
                    jwks=lambda sources, kid: [], limits=host.rate_take)
        mean, p99 = measure(gate, Credentials({"authorization": f"Bearer {token}"}, {}, {}), args.calls)
        print(f"{name:<34} {mean:>9.1f} {p99:>9.1f}")
    token_scheme = TokenScheme("k", CredentialSources())
    gate = Gate("api", "api", AuthConfig(((token_scheme,),), schemes={"k": token_scheme}), keys=sessions.get,
                jwks=lambda sources, kid: [], limits=host.rate_take)
    mean, p99 = measure(gate, Credentials({"authorization": "k"}, {}, {}), args.calls)
    print(f"{'API key + quota (host state file)':<34} {mean:>9.1f} {p99:>9.1f}")
    host.close()


if __name__ == "__main__":
    main()
