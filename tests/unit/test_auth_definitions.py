"""Authentication in a definition, read as Tyk reads it, and the positioned problems a wrong one
gets (``python -m streams lint`` prints the same)."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from streams.auth.config import JwtScheme, TokenScheme
from streams.definitions import load_file
from tests.unit.test_lint import SEED, run_lint

SECRET_B64 = base64.b64encode(b"seed-secret").decode()


def seed_with_auth(tmp_path: Path, *, schemes: str, tyk: str, security: str = "- jwt: []", name: str = "auth.yaml") -> Path:
    """The seed with ``components.securitySchemes``, ``security`` and
    ``x-tyk-api-gateway.server.authentication`` written in (YAML fragments, as a user would)."""
    text = SEED.read_text()
    for old in ("security: []\n", "  securitySchemes: {}\n", "  server:\n    listenPath:\n"):
        assert old in text, f"the seed no longer contains {old!r}"
    text = text.replace("security: []\n", "security:\n" + textwrap.indent(textwrap.dedent(security).strip("\n"), "  ") + "\n")
    text = text.replace("  securitySchemes: {}\n", "  securitySchemes:\n" + textwrap.indent(textwrap.dedent(schemes).strip("\n"), "    ") + "\n")
    auth = "    authentication:\n      enabled: true\n      securitySchemes:\n" + textwrap.indent(textwrap.dedent(tyk).strip("\n"), "        ") + "\n"
    text = text.replace("  server:\n    listenPath:\n", "  server:\n" + auth + "    listenPath:\n")
    path = tmp_path / name
    path.write_text(text)
    return path


JWT_OAS = """
jwt:
  type: http
  scheme: bearer
  bearerFormat: JWT
"""


def test_a_jwt_scheme_with_an_hmac_source_loads(tmp_path):
    path = seed_with_auth(tmp_path, schemes=JWT_OAS, tyk=f"""
        jwt:
          enabled: true
          source: {SECRET_B64}
          identityBaseField: email
          expiresAtValidationSkew: 2
    """)
    api, problems = load_file(str(path))
    assert problems == []
    (scheme,) = api.auth.requirements[0]
    assert isinstance(scheme, JwtScheme)
    assert (scheme.secret, scheme.signing_method, scheme.identity_base_field) == (b"seed-secret", "hmac", "email")
    assert (scheme.sources.header, scheme.expires_at_skew, scheme.not_before_skew) == ("Authorization", 2, None)


def test_a_pem_source_sets_the_family_and_api_keys_take_their_oas_location(tmp_path):
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = seed_with_auth(tmp_path, schemes=JWT_OAS + "keys:\n  type: apiKey\n  in: query\n  name: api_key\n", tyk=f"""
        jwt:
          enabled: true
          source: {base64.b64encode(pem).decode()}
        keys:
          enabled: true
    """, security="- jwt: []\n  keys: []")
    api, problems = load_file(str(path))
    assert problems == []
    jwt_scheme, token = api.auth.requirements[0]
    assert jwt_scheme.signing_method == "ecdsa" and jwt_scheme.public_key_pem == pem
    assert isinstance(token, TokenScheme) and (token.sources.query, token.sources.header) == ("api_key", None)


@pytest.mark.parametrize(
    ("schemes", "tyk", "security", "path", "message"),
    [
        ("jwt:\n  type: http\n  scheme: digest\n", "jwt: {enabled: true}", "- jwt: []",
         "components.securitySchemes.jwt.type", "not supported: http with scheme 'digest'"),
        ("jwt:\n  type: mystery\n", "jwt: {enabled: true}", "- jwt: []",
         "components.securitySchemes.jwt.type", "unknown security scheme type 'mystery'"),
        (JWT_OAS, "jwt: {enabled: true, signingMethod: rsa}", "- jwt: []",
         "x-tyk-api-gateway.server.authentication.securitySchemes.jwt",
         "a JWT scheme needs source (a base64 secret or PEM public key) or jwksURIs"),
        (JWT_OAS, "jwt: {enabled: true, source: 'not base64!'}", "- jwt: []",
         "x-tyk-api-gateway.server.authentication.securitySchemes.jwt.source", "not valid base64"),
        (JWT_OAS, f"jwt: {{enabled: true, source: {SECRET_B64}}}", "- jwtt: []",
         "security.0.jwtt", "names the undefined security scheme 'jwtt' (did you mean 'jwt'?)"),
        (JWT_OAS, f"jwt: {{enabled: true, source: {SECRET_B64}, signingMethod: rsa256}}", "- jwt: []",
         "x-tyk-api-gateway.server.authentication.securitySchemes.jwt.signingMethod", "unknown signing method 'rsa256'"),
        (JWT_OAS, "jwt: {enabled: true, jwksURIs: [{url: 'ftp://x'}]}", "- jwt: []",
         "x-tyk-api-gateway.server.authentication.securitySchemes.jwt.jwksURIs.0.url", "expected an http:// or https:// URL"),
        (JWT_OAS, f"jwt: {{enabled: false, source: {SECRET_B64}}}", "- jwt: []",
         "security", "authentication is enabled but no enabled scheme is required"),
    ],
)
def test_wrong_authentication_is_refused_with_its_path(tmp_path, schemes, tyk, security, path, message):
    api, problems = load_file(str(seed_with_auth(tmp_path, schemes=schemes, tyk=tyk, security=security)))
    assert api is None
    assert any(p.path == path and message in p.message and p.line for p in problems), problems


def test_schemes_of_a_disabled_authentication_are_not_read(tmp_path):
    path = seed_with_auth(tmp_path, schemes="o:\n  type: oauth2\n", tyk="o: {enabled: true}", security="- o: []")
    path.write_text(path.read_text().replace("      enabled: true\n      securitySchemes:", "      enabled: false\n      securitySchemes:"))
    api, problems = load_file(str(path))
    assert problems == [] and api.auth is None


def test_enabled_without_any_scheme_fails_closed(tmp_path):
    text = SEED.read_text().replace("  server:\n    listenPath:\n", "  server:\n    authentication: {enabled: true}\n    listenPath:\n")
    (tmp_path / "open.yaml").write_text(text)
    api, problems = load_file(str(tmp_path / "open.yaml"))
    assert api is None and [p.path for p in problems] == ["security"]


def test_lint_prints_the_position(tmp_path):
    seed_with_auth(tmp_path, schemes=JWT_OAS, tyk="jwt: {enabled: true, source: '%%%'}")
    done = run_lint(tmp_path, "auth.yaml")
    assert done.returncode == 1
    line = next(n for n, text in enumerate((tmp_path / "auth.yaml").read_text().splitlines(), 1) if "'%%%'" in text)
    assert done.stdout.startswith(f"auth.yaml:{line}:")
    assert "x-tyk-api-gateway.server.authentication.securitySchemes.jwt.source: not valid base64" in done.stdout
