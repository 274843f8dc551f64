"""Tyk Gateway's key API under ``/tyk/keys``, guarded by the management secret.

| route                      | verb   | does                                                        |
|----------------------------|--------|-------------------------------------------------------------|
| ``/tyk/keys``              | GET    | ``{"keys": [key hashes]}``                                  |
| ``/tyk/keys``, ``/tyk/keys/create`` | POST | a new random key: ``{"key", "status": "ok", "action": "added", "key_hash"}`` |
| ``/tyk/keys/{key}``        | POST   | create with this key (400 when it exists)                   |
| ``/tyk/keys/{key}``        | GET    | the session as stored, ``quota_remaining`` as this host counted it (``?hashed=true``: ``{key}`` is the hash) |
| ``/tyk/keys/{key}``        | PUT    | replace the session; ``"action": "modified"`` (404 unknown)  |
| ``/tyk/keys/{key}``        | DELETE | revoke; ``"action": "deleted"``                             |

Bodies are Tyk session objects (``streams.auth.sessions``). The plain key is shown once, in the
reply that created it; it is stored by hash only (``streams.auth.keystore``), so a key read back
shows its ``key_hash``. Errors are ``{"status": "error", "message": ...}`` as elsewhere under ``/tyk/``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import falcon
import orjson

from handlers.endpoint import read_body
from handlers.management import Management
from streams.auth.gate import quota_counter
from streams.auth.keystore import KeyStore
from streams.auth.sessions import KeySession, SessionInvalid, hash_key, new_key, read_session, stored_document
from streams.brokers.base import BrokerError
from streams.engine.host import HostState

log = logging.getLogger("streams.management")


def _reply(resp: falcon.Response, status: int, body: Any) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(body)


def _error(resp: falcon.Response, status: int, message: str) -> None:
    _reply(resp, status, {"status": "error", "message": message})


class KeyApi:
    """The operations, on the management guard and this worker's ``KeyStore``."""

    def __init__(self, mgmt: Management, keys: KeyStore, host: Callable[[], HostState]) -> None:
        self.mgmt = mgmt
        self.keys = keys
        self.host = host

    def run(self, req: falcon.Request, resp: falcon.Response, action: Any, *args: Any) -> None:
        """Guard, then ``action``; a broker that cannot store keys answers 503."""
        if not self.mgmt.allowed(req, resp):
            return
        try:
            action(req, resp, *args)
        except SessionInvalid as exc:
            _error(resp, 400, f"Request malformed: {exc}")
        except BrokerError as exc:
            log.error("key store unavailable: %s", exc)
            _error(resp, 503, f"the key store is unavailable: {exc}")

    def session_body(self, req: falcon.Request, key_hash: str) -> Any:
        raw = read_body(req, self.mgmt.settings.max_body_bytes)
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise SessionInvalid("the body is not JSON") from None
        if not isinstance(doc, dict):
            raise SessionInvalid("the key session must be a JSON object")
        return read_session(stored_document(doc, key_hash, time.time()))

    def create(self, req: falcon.Request, resp: falcon.Response, key: str | None = None) -> None:
        key = key or new_key()
        key_hash = hash_key(key)
        if self.keys.lookup(key_hash) is not None:
            _error(resp, 400, "Key already exists")
            return
        self.keys.put(key_hash, self.session_body(req, key_hash))
        log.info("key added", extra={"key_hash": key_hash})
        _reply(resp, 200, {"key": key, "status": "ok", "action": "added", "key_hash": key_hash})

    def read(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        session = self.keys.lookup(self._hash(req, key))
        if session is None:
            _error(resp, 404, "Key not found")
            return
        _reply(resp, 200, {**session.document, **self.quota_now(session)})

    def quota_now(self, session: KeySession) -> dict[str, Any]:
        """Tyk's ``quota_remaining`` and ``quota_renews`` as this host counts them now."""
        if not session.quota_limited:
            return {}
        window = self.host().rate_peek(quota_counter(str(session.document.get("key_hash", ""))))
        if window is None:
            return {"quota_remaining": session.quota_max}
        used, resets = window
        return {"quota_remaining": max(0, session.quota_max - used), "quota_renews": int(resets)}

    def update(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        key_hash = self._hash(req, key)
        old = self.keys.lookup(key_hash)
        if old is None:
            _error(resp, 404, "Key not found")
            return
        session = self.session_body(req, key_hash)
        if "date_created" in old.document:
            session.document["date_created"] = old.document["date_created"]
        self.keys.put(key_hash, session)
        log.info("key modified", extra={"key_hash": key_hash})
        _reply(resp, 200, {"key": key, "status": "ok", "action": "modified", "key_hash": key_hash})

    def delete(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        key_hash = self._hash(req, key)
        if self.keys.lookup(key_hash) is None:
            _error(resp, 404, "Key not found")
            return
        self.keys.delete(key_hash)
        log.info("key deleted", extra={"key_hash": key_hash})
        _reply(resp, 200, {"key": key, "status": "ok", "action": "deleted"})

    def list(self, req: falcon.Request, resp: falcon.Response) -> None:
        _reply(resp, 200, {"keys": self.keys.hashes()})

    @staticmethod
    def _hash(req: falcon.Request, key: str) -> str:
        return key if req.get_param_as_bool("hashed", default=False) else hash_key(key)


class _Unsupported:
    def __init__(self, api: KeyApi) -> None:
        self.api = api

    def _unsupported(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        self.api.run(req, resp, lambda q, r: _error(r, 405, "Method not supported"))

    on_get: Any = _unsupported
    on_post: Any = _unsupported
    on_put: Any = _unsupported
    on_patch: Any = _unsupported
    on_delete: Any = _unsupported


class KeysResource(_Unsupported):
    """``/tyk/keys``: list and create."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.api.run(req, resp, self.api.list)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.api.run(req, resp, self.api.create)


class CreateKeyResource(_Unsupported):
    """``/tyk/keys/create``."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.api.run(req, resp, self.api.create)


class KeyResource(_Unsupported):
    """``/tyk/keys/{key}``."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        self.api.run(req, resp, self.api.read, key)

    def on_post(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        self.api.run(req, resp, self.api.create, key)

    def on_put(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        self.api.run(req, resp, self.api.update, key)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        self.api.run(req, resp, self.api.delete, key)


def add_key_routes(app: falcon.App, mgmt: Management, keys: KeyStore, host: Callable[[], HostState]) -> None:
    """Register ``/tyk/keys`` (404 like every ``/tyk/`` path while no secret is set); ``host``
    gives the host's counters, for a key's quota as counted so far."""
    api = KeyApi(mgmt, keys, host)
    app.add_route("/tyk/keys", KeysResource(api))
    app.add_route("/tyk/keys/create", CreateKeyResource(api))
    app.add_route("/tyk/keys/{key}", KeyResource(api))
