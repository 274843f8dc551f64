"""The management API under ``/tyk/``, in Tyk Gateway's shapes for OAS APIs.

| route                         | verb   | does                                                   |
|-------------------------------|--------|--------------------------------------------------------|
| ``/tyk/apis/oas``             | GET    | every definition (OAS document with its ID filled in)  |
| ``/tyk/apis/oas``             | POST   | create; ``{"key": id, "status": "ok", "action": "added"}`` |
| ``/tyk/apis/oas/import``      | POST   | create from a plain OAS document (``?listenPath=``)    |
| ``/tyk/apis/oas/{apiId}``     | GET    | one definition                                         |
| ``/tyk/apis/oas/{apiId}``     | PUT    | replace; ``"action": "modified"``                      |
| ``/tyk/apis/oas/{apiId}``     | PATCH  | the sent document over the stored one, whose ``x-tyk-*`` sections stay unless sent |
| ``/tyk/apis/oas/{apiId}``     | DELETE | remove the file; ``"action": "deleted"``               |
| ``/tyk/reload``, ``/tyk/reload/group`` | GET | reload now (this worker; the others within ``STREAMS_WATCH_INTERVAL``) |
| ``/tyk/console/...``          |        | the console and its JSON endpoints (``handlers.console``) |

Errors are ``{"status": "error", "message": ...}`` with 400 (plus ``"problems"``, each with its
line and config path, when the definition is not valid), 403 or 404. A write is validated like
a file, written to the definitions directory (``streams.engine.definition_store``) and applied
by this worker at once, before the reply; the other workers and hosts apply it from the
directory. Guarded by ``handlers.management_guard``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any

import falcon
import orjson

from handlers.endpoint import read_body
from handlers.errors import not_found
from handlers.management_guard import DENIED_MESSAGE, HEADER, SecretGuard, Verdict
from streams.admin_secret import ensure_secret, secret_path
from streams.definitions import parse_document, read_document
from streams.engine.definition_store import (
    GATEWAY,
    STREAMING,
    DefinitionStore,
    Entry,
    InvalidDefinition,
    StoreError,
    given_id,
    parse_body,
    with_id,
)
from streams.engine.gateway import Gateway
from streams.listenpaths import DefinitionRefused
from streams.settings import Settings

log = logging.getLogger("streams.management")


class ManagementSecret:
    """The secret the management API asks for: ``STREAMS_SECRET`` / ``_FILE``, else the one the
    host made for itself (``streams.admin_secret``), read once per process. None (the API off,
    404) only when no secret can be made: the data directory is not writable, which is logged."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._generated: str | None = None
        self._failed = False

    def __call__(self) -> str | None:
        if self.settings.secret:
            return self.settings.secret
        if self._generated is None and not self._failed:
            try:
                made = ensure_secret(self.settings.data_dir)
            except OSError as exc:
                self._failed = True
                log.error("no management secret: cannot keep one in %s (%s); /tyk/ is off", self.settings.data_dir, exc)
                return None
            self._generated = made.value
            if made.created:
                log.info("management secret generated", extra={"file": secret_path(self.settings.data_dir)})
        return self._generated


def _reply(resp: falcon.Response, status: int, body: Any) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(body)


def _error(resp: falcon.Response, status: int, message: str, **extra: Any) -> None:
    _reply(resp, status, {"status": "error", "message": message, **extra})


def _ok(resp: falcon.Response, api_id: str, action: str) -> None:
    _reply(resp, 200, {"key": api_id, "status": "ok", "action": action})


class Management:
    """What every management resource shares: the guard, the store and the gateway."""

    def __init__(self, gateway: Gateway, settings: Settings, guard: SecretGuard) -> None:
        self.gateway = gateway
        self.settings = settings
        self.guard = guard
        self.store = DefinitionStore(
            settings.definitions_dir, gateway.listen_paths, allow_impure_bloblang=settings.allow_impure_bloblang
        )

    def allowed(self, req: falcon.Request, resp: falcon.Response) -> bool:
        """Answer 404 (off) or 403 and return False unless the request carries the secret."""
        verdict = self.guard.verdict(req.get_header(HEADER))
        if verdict is Verdict.OFF:
            not_found(req, resp)  # raises: the management API does not exist
        if verdict is Verdict.DENIED:
            log.warning("%s %s refused: invalid or missing %s", req.method, req.path, HEADER)
            _error(resp, 403, DENIED_MESSAGE)
            return False
        return True

    def run(self, resp: falcon.Response, action: Any, *args: Any) -> None:
        """Call ``action``; turn store errors into Tyk-shaped error replies."""
        self.gateway.refresh()  # what another worker wrote a moment ago counts already
        try:
            action(resp, *args)
        except InvalidDefinition as exc:
            problems = [dataclasses.asdict(p) for p in exc.problems]
            _error(resp, 400, str(exc), problems=problems)
        except (StoreError, DefinitionRefused) as exc:
            _error(resp, getattr(exc, "http_status", 400), str(exc))
        except OSError as exc:  # a read-only directory (a mounted ConfigMap), a full disk
            log.error("definitions directory not writable: %s", exc)
            _error(resp, 500, f"file object creation failed, write error: {exc.strerror or exc}")

    def body(self, req: falcon.Request) -> tuple[dict[str, Any], str, bool]:
        """The request body's document, its text and whether it is JSON; a body that does not
        parse is an ``InvalidDefinition`` with the parser's position."""
        text, is_json = parse_body(read_body(req, self.settings.max_body_bytes))
        document, problems = parse_document(text, is_json)
        if document is None:
            raise InvalidDefinition(problems)
        return document, text, is_json

    def apply(self, what: str, api_id: str, path: str) -> None:
        """Reload this worker now, so the reply means "serving" here."""
        plan = self.gateway.reload()
        log.info("API %s via the management API", what, extra={"api_id": api_id, "file": path, **plan.summary()})

    # -- the operations ------------------------------------------------------------------------

    def create(self, resp: falcon.Response, document: dict[str, Any], text: str, is_json: bool) -> None:
        api_id = self.store.new_id(document)
        if given_id(document) != api_id:
            document, text, is_json = with_id(document, api_id), _json(with_id(document, api_id)), True
        self.store.validate(document, text, is_json, f"{self.settings.definitions_dir}/{api_id}.json")
        path = self.store.create(api_id, text, is_json)
        self.apply("added", api_id, path)
        _ok(resp, api_id, "added")

    def update(self, resp: falcon.Response, entry: Entry, document: dict[str, Any], text: str | None, is_json: bool) -> None:
        sent = given_id(document)
        if sent is not None and sent != entry.api_id:
            raise StoreError("Request APIID does not match that in Definition! For Update operations these must match.")
        # A file written without an ID is named by its file name; a body without one keeps the
        # text as sent (YAML and its comments stay), as an ID would be the only thing to add.
        as_sent = sent is None and text is not None and given_id(read_document(entry.path) or {}) is None
        if text is None or (sent is None and not as_sent) or (entry.path.endswith(".json") and not is_json):
            document, text, is_json = with_id(document, entry.api_id), _json(with_id(document, entry.api_id)), True
        self.store.validate(document, text, is_json, entry.path)
        self.store.replace(entry.path, text)
        self.apply("modified", entry.api_id, entry.path)
        _ok(resp, entry.api_id, "modified")


def _json(document: dict[str, Any]) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


class _Resource:
    """Every verb a resource does not serve answers as Tyk does (405 ``Method not supported``),
    once the guard let the request through (404 while the management API is off)."""

    def __init__(self, mgmt: Management) -> None:
        self.mgmt = mgmt

    def _unsupported(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        if self.mgmt.allowed(req, resp):
            _error(resp, 405, "Method not supported")

    # Any: the subclasses' responders take their own URI fields.
    on_get: Any = _unsupported
    on_post: Any = _unsupported
    on_put: Any = _unsupported
    on_patch: Any = _unsupported
    on_delete: Any = _unsupported


class ApisResource(_Resource):
    """``/tyk/apis/oas``: list and create."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.mgmt.allowed(req, resp):
            _reply(resp, 200, [e.document for e in self.mgmt.store.entries()])

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.mgmt.allowed(req, resp):
            self.mgmt.run(resp, self._create, req)

    def _create(self, resp: falcon.Response, req: falcon.Request) -> None:
        document, text, is_json = self.mgmt.body(req)
        self.mgmt.create(resp, document, text, is_json)


class ImportResource(_Resource):
    """``/tyk/apis/oas/import``: a plain OAS document with ``x-tyk-streaming``; the gateway
    section is made here (name from ``info.title``, ``?listenPath=`` or ``/<title>/``)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.mgmt.allowed(req, resp):
            self.mgmt.run(resp, self._import, req)

    def _import(self, resp: falcon.Response, req: falcon.Request) -> None:
        document, _text, _ = self.mgmt.body(req)
        if GATEWAY in document:
            raise StoreError(f"the import payload should not contain {GATEWAY}")
        info: dict[str, Any] = document["info"] if isinstance(document.get("info"), dict) else {}
        title = str(info.get("title") or "")
        if not title:
            raise StoreError("Request malformed: the OAS document needs info.title to name the API")
        listen_path = req.get_param("listenPath") or "/" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", title).strip("-") or "api") + "/"
        document = {
            **document,
            GATEWAY: {
                "info": {"name": title, "state": {"active": True}},
                "server": {"listenPath": {"value": listen_path, "strip": True}},
            },
        }
        self.mgmt.create(resp, document, _json(document), True)


class ApiResource(_Resource):
    """``/tyk/apis/oas/{api_id}``: read, replace, patch, delete."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, api_id: str) -> None:
        if self.mgmt.allowed(req, resp):
            self.mgmt.run(resp, lambda r: _reply(r, 200, self.mgmt.store.find(api_id).document))

    def on_put(self, req: falcon.Request, resp: falcon.Response, api_id: str) -> None:
        if self.mgmt.allowed(req, resp):
            self.mgmt.run(resp, self._put, req, api_id)

    def on_patch(self, req: falcon.Request, resp: falcon.Response, api_id: str) -> None:
        if self.mgmt.allowed(req, resp):
            self.mgmt.run(resp, self._patch, req, api_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, api_id: str) -> None:
        if self.mgmt.allowed(req, resp):
            self.mgmt.run(resp, self._delete, api_id)

    def _put(self, resp: falcon.Response, req: falcon.Request, api_id: str) -> None:
        entry = self.mgmt.store.find(api_id)
        document, text, is_json = self.mgmt.body(req)
        self.mgmt.update(resp, entry, document, text, is_json)

    def _patch(self, resp: falcon.Response, req: falcon.Request, api_id: str) -> None:
        entry = self.mgmt.store.find(api_id)
        sent, _text, _ = self.mgmt.body(req)
        merged = dict(sent)
        for section in (GATEWAY, STREAMING):
            if section not in merged and section in entry.document:
                merged[section] = entry.document[section]
        self.mgmt.update(resp, entry, merged, None, True)

    def _delete(self, resp: falcon.Response, api_id: str) -> None:
        entry = self.mgmt.store.find(api_id)
        self.mgmt.store.delete(entry.path)
        self.mgmt.apply("deleted", api_id, entry.path)
        _ok(resp, api_id, "deleted")


class ReloadResource(_Resource):
    """``/tyk/reload`` and ``/tyk/reload/group``: apply the definitions directory now."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.mgmt.allowed(req, resp):
            plan = self.mgmt.gateway.reload()
            log.info("reload asked through the management API", extra=plan.summary())
            _reply(resp, 200, {"status": "ok", "message": ""})


def add_management_routes(app: falcon.App, gateway: Gateway, settings: Settings) -> Management:
    """Register every ``/tyk/`` route (each answers 404 while no secret is configured)."""
    mgmt = Management(gateway, settings, SecretGuard(ManagementSecret(settings)))
    app.add_route("/tyk/apis/oas", ApisResource(mgmt))
    app.add_route("/tyk/apis/oas/import", ImportResource(mgmt))
    app.add_route("/tyk/apis/oas/{api_id}", ApiResource(mgmt))
    reload = ReloadResource(mgmt)
    app.add_route("/tyk/reload", reload)
    app.add_route("/tyk/reload/group", reload)
    return mgmt
