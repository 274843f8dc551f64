"""JWT authentication end to end: the seed demo behind a JWT (HMAC ``source``) and a copy behind
a JWKS served by a real local HTTP server (RSA and ECDSA keys, rotation), on a real
``gunicorn -w 3``. Every refusal is checked on every endpoint kind (POST, GET, SSE, and the
WebSocket upgrade, refused before any 101), and a forged ``?user=`` changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
import requests
import websocket
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.e2e.auth_definitions import seed_document, with_jwt, write
from tests.e2e.clients import SSEClient, WSReader
from tests.e2e.server import Gunicorn, start_gunicorn

SECRET = b"the-seed-jwt-secret-shared-with-the-identity-provider"
SEED_PATH = "/stream-demo"
JWKS_PATH = "/stream-jwks"


class JwksServer:
    """A real HTTP server answering ``/jwks.json`` with the current keys, counting requests."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.hits += 1
                body = json.dumps({"keys": [owner.jwk(kid, key) for kid, key in owner.keys.items()]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def jwk(kid: str, key: Any) -> dict[str, Any]:
        algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
        return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def jwks() -> JwksServer:
    server = JwksServer()
    server.keys["r1"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server.keys["e1"] = ec.generate_private_key(ec.SECP256R1())
    yield server
    server.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, jwks: JwksServer) -> Gunicorn:
    tmp = tmp_path_factory.mktemp("auth-jwt")
    apis = tmp / "apis"
    source = base64.b64encode(SECRET).decode()
    write(apis, "streams-demo.yaml", with_jwt(seed_document(), {"source": source, "signingMethod": "hmac"}))
    write(apis, "streams-jwks.yaml", with_jwt(
        seed_document(name="stream-jwks", listen_path=JWKS_PATH + "/", prefix="jwks-"),
        {"jwksURIs": [{"url": jwks.url, "cacheTimeout": 600}]},
    ))
    server = start_gunicorn(tmp, workers=3, env={"STREAMS_DEFINITIONS_DIR": str(apis)})
    yield server
    server.stop()


def hs256(sub: str, **claims: Any) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 300, **claims}, SECRET, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def subject() -> str:
    return f"sub-{uuid.uuid4().hex[:12]}"


def push(server: Gunicorn, base: str, token: str | None, payload: Any, **params: str) -> requests.Response:
    headers = {"Content-Type": "application/json", **(bearer(token) if token else {})}
    return requests.post(server.url(f"{base}/push-event"), params=params, data=json.dumps(payload), headers=headers, timeout=30)


def get_result(server: Gunicorn, base: str, token: str, deadline_s: float = 60.0, **params: str) -> requests.Response:
    """GET get-event until it answers with something other than 408 (nothing yet)."""
    deadline = time.monotonic() + deadline_s
    while True:
        resp = requests.get(server.url(f"{base}/get-event"), params=params, headers=bearer(token), timeout=30)
        if resp.status_code != 408 or time.monotonic() > deadline:
            return resp


def assert_refused(server: Gunicorn, base: str, token: str | None, reason: str) -> None:
    """401 with a Bearer challenge on POST, GET, SSE and the WebSocket upgrades."""
    headers = bearer(token) if token else {}
    replies = {
        "POST": push(server, base, token, {"m": 1}),
        "GET": requests.get(server.url(f"{base}/get-event"), headers=headers, timeout=30),
        "SSE": requests.get(server.url(f"{base}/get-event"), headers={**headers, "Accept": "text/event-stream"}, timeout=30),
    }
    for kind, resp in replies.items():
        assert resp.status_code == 401, (kind, resp.status_code, resp.text)
        assert resp.json()["status"] == 401 and reason in resp.json()["error"], (kind, resp.text)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer realm="), kind
    for path in ("/ws-in", "/ws-out"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(server.ws_url(base + path), timeout=10, header=[f"{k}: {v}" for k, v in headers.items()])
        assert refused.value.status_code == 401, path


def test_no_token_is_refused_everywhere(gateway: Gunicorn) -> None:
    assert_refused(gateway, SEED_PATH, None, "Authorization field missing")


def test_a_bad_signature_is_refused(gateway: Gunicorn) -> None:
    forged = jwt.encode({"sub": "alice", "exp": int(time.time()) + 300}, b"not-the-secret-but-just-as-long-as-it", algorithm="HS256")
    assert_refused(gateway, SEED_PATH, forged, "signature verification failed")


def test_an_expired_token_is_refused(gateway: Gunicorn) -> None:
    assert_refused(gateway, SEED_PATH, hs256("alice", exp=int(time.time()) - 120), "token has expired")


def test_alg_none_is_refused(gateway: Gunicorn) -> None:
    def part(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'alice'})}."
    assert_refused(gateway, SEED_PATH, unsigned, "algorithm 'none' is not accepted")


def test_a_valid_token_gets_only_its_subjects_results_and_user_is_not_read(gateway: Gunicorn) -> None:
    alice, bob = subject(), subject()
    # A forged ?user= naming bob changes nothing: the identity is the token's sub.
    pushed = push(gateway, SEED_PATH, hs256(alice), {"message": "for alice"}, user=bob)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["user_id"] == alice
    got = get_result(gateway, SEED_PATH, hs256(alice), user=bob)
    assert got.status_code == 200, got.text
    assert (got.json()["user_id"], got.json()["message"], got.json()["result"]) == (alice, "for alice", "bar")
    # bob's own token (with ?user=alice) never sees alice's message.
    theirs = requests.get(gateway.url(f"{SEED_PATH}/get-event"), params={"user": alice}, headers=bearer(hs256(bob)), timeout=30)
    assert theirs.status_code == 408, theirs.text


def test_sse_and_websocket_deliver_to_the_token_subject_only(gateway: Gunicorn) -> None:
    alice, bob = subject(), subject()
    sse_alice = SSEClient(gateway.url(f"{SEED_PATH}/get-event?user={bob}"), headers=bearer(hs256(alice))).start()
    sse_bob = SSEClient(gateway.url(f"{SEED_PATH}/get-event?user={alice}"), headers=bearer(hs256(bob))).start()
    ws_alice = WSReader(gateway.ws_url(f"{SEED_PATH}/ws-in?user={bob}"), headers=bearer(hs256(alice))).start()
    try:
        assert sse_alice.opened.wait(10) and sse_bob.opened.wait(10)
        assert (sse_alice.status, sse_bob.status) == (200, 200)
        time.sleep(1)  # the stream instances subscribe before the pushes
        for i in range(3):
            assert push(gateway, SEED_PATH, hs256(alice), {"n": i}, user=bob).status_code == 200
        events = sse_alice.wait(3, timeout=60)
        frames = ws_alice.wait(3, timeout=60)
        assert sorted(e.json()["n"] for e in events[:3]) == [0, 1, 2]
        assert all(e.json()["user_id"] == alice for e in events)
        assert sorted(json.loads(f)["n"] for f in frames[:3]) == [0, 1, 2]
        time.sleep(1)
        assert sse_bob.events == []
    finally:
        for client in (sse_alice, sse_bob, ws_alice):
            client.close()


def test_a_websocket_push_with_a_token_is_served(gateway: Gunicorn) -> None:
    alice = subject()
    ws = websocket.create_connection(gateway.ws_url(f"{SEED_PATH}/ws-out"), timeout=30, header=[f"Authorization: Bearer {hs256(alice)}"])
    try:
        ws.send(json.dumps({"over": "ws"}))
        assert json.loads(ws.recv())["user_id"] == alice
    finally:
        ws.close()


# --- keys from a JWKS ----------------------------------------------------------------------


def signed(jwks: JwksServer, kid: str, sub: str) -> str:
    key = jwks.keys[kid]
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 300}, key, algorithm=alg, headers={"kid": kid})


def test_rsa_and_ecdsa_tokens_verify_against_the_jwks(gateway: Gunicorn, jwks: JwksServer) -> None:
    for kid in ("r1", "e1"):
        who = subject()
        pushed = push(gateway, JWKS_PATH, signed(jwks, kid, who), {"kid": kid})
        assert pushed.status_code == 200, (kid, pushed.text)
        got = get_result(gateway, JWKS_PATH, signed(jwks, kid, who))
        assert got.status_code == 200 and got.json()["user_id"] == who and got.json()["kid"] == kid


def test_hmac_signed_with_the_rsa_public_key_is_refused(gateway: Gunicorn, jwks: JwksServer) -> None:
    pem = jwks.keys["r1"].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def part(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'r1'})}.{part({'sub': 'admin', 'exp': int(time.time()) + 300})}"
    signature = base64.urlsafe_b64encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert_refused(gateway, JWKS_PATH, f"{signing_input}.{signature}", "no key to verify the token with")


def test_a_rotated_key_is_picked_up_without_restart(gateway: Gunicorn, jwks: JwksServer) -> None:
    jwks.keys["r2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = signed(jwks, "r2", subject())
    deadline = time.monotonic() + 30
    accepted = 0
    while accepted < 6:  # fresh connections: several workers each learn the new kid
        resp = push(gateway, JWKS_PATH, token, {"rotated": True})
        assert resp.status_code in (200, 401), resp.text
        accepted = accepted + 1 if resp.status_code == 200 else 0
        assert time.monotonic() < deadline, "the new kid was not accepted within 30 s"
        time.sleep(0.2)


def test_a_flood_of_unknown_kids_does_not_hammer_the_jwks_server(gateway: Gunicorn, jwks: JwksServer) -> None:
    before, started = jwks.hits, time.monotonic()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for i in range(60):
        token = jwt.encode({"sub": "x"}, other, algorithm="RS256", headers={"kid": f"made-up-{i}"})
        assert push(gateway, JWKS_PATH, token, {}).status_code == 401
    elapsed = time.monotonic() - started
    # At most one fetch per worker per 3 s floor (plus one at the start of the window).
    assert jwks.hits - before <= 3 * (int(elapsed / 3) + 1), (jwks.hits - before, elapsed)
