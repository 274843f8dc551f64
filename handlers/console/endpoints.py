"""The console's JSON endpoints: small additions to the management API, guarded like it.

| route                                   | verb | answers                                             |
|-----------------------------------------|------|-----------------------------------------------------|
| ``/tyk/console/apis``                   | GET  | every definition file: state, problems, streams and endpoints (``streams.engine.overview``) |
| ``/tyk/console/apis/{apiId}/source``    | GET  | the file's text as written (YAML stays YAML), to edit |
| ``/tyk/console/validate``               | POST | the body's problems, positioned, as ``lint`` reports them (``?id=`` of the API it would replace) |
| ``/tyk/console/examples``               | GET  | the seed definition (a template for new APIs) and its mappings |
| ``/tyk/console/bloblang``               | POST | one playground run (``streams.playground``)          |
| ``/tyk/console/events``                 | GET  | Server-Sent Events of live counters (``handlers.console.events``) |

Every one asks for ``x-tyk-authorization`` (403 ``Attempted administrative access...``, as the
management API answers); writes go through the management API's own routes (``PUT
/tyk/apis/oas/{apiId}``...), so the console adds no second way to change a definition.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import falcon
import orjson
import yaml

from handlers.endpoint import read_body
from handlers.management import Management
from streams.definitions import Problem, parse_document
from streams.engine.definition_store import ApiNotFound, StoreError, given_id, parse_body
from streams.engine.overview import overview
from streams.playground import Limits, PlaygroundRefused, Run
from streams.playground_runner import PlaygroundBusy, PlaygroundRunner

log = logging.getLogger("streams.console")

SEED_TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static", "streams-demo.yaml")
"""The seed demo, as shipped in ``deploy/apis/`` (a test keeps the two identical)."""


def reply(resp: falcon.Response, status: int, body: Any) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = orjson.dumps(body)
    resp.set_header("Cache-Control", "no-store")


def refuse(resp: falcon.Response, status: int, message: str) -> None:
    reply(resp, status, {"status": "error", "message": message})


class ApisOverview:
    def __init__(self, mgmt: Management) -> None:
        self.mgmt = mgmt

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.mgmt.allowed(req, resp):
            self.mgmt.gateway.refresh()
            views = overview(self.mgmt.store.entries(), self.mgmt.gateway.apis, self.mgmt.gateway.problems)
            reply(resp, 200, {"apis": [v.as_dict() for v in views]})


class ApiSource:
    def __init__(self, mgmt: Management) -> None:
        self.mgmt = mgmt

    def on_get(self, req: falcon.Request, resp: falcon.Response, api_id: str) -> None:
        if not self.mgmt.allowed(req, resp):
            return
        try:
            entry = self.mgmt.store.find(api_id)
            with open(entry.path, encoding="utf-8") as fh:
                text = fh.read()
        except ApiNotFound as exc:
            refuse(resp, 404, str(exc))
            return
        except (OSError, UnicodeDecodeError) as exc:
            refuse(resp, 404, f"API not found: {exc}")
            return
        fmt = "json" if entry.path.endswith(".json") else "yaml"
        reply(resp, 200, {"id": entry.api_id, "file": os.path.basename(entry.path), "format": fmt, "text": text})


class Validate:
    """The problems the management API would answer with for this body, positioned in it, and
    the listen-path and name clashes it would meet (``?id=`` names the API being replaced, whose
    own claims do not count)."""

    def __init__(self, mgmt: Management) -> None:
        self.mgmt = mgmt

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.mgmt.allowed(req, resp):
            return
        self.mgmt.gateway.refresh()
        try:
            text, is_json = parse_body(read_body(req, self.mgmt.settings.max_body_bytes))
            api_id = req.get_param("id")
            target = self.mgmt.store.find(api_id).path if api_id else os.path.join(self.mgmt.settings.definitions_dir, ".new.json")
        except StoreError as exc:
            refuse(resp, getattr(exc, "http_status", 400), str(exc))
            return
        problems = self.mgmt.store.check(text, is_json, target)
        if not api_id:
            problems.extend(self._id_taken(text, is_json))
        reply(resp, 200, {"problems": [
            {"line": p.line, "column": p.column, "path": p.path, "message": p.message} for p in problems
        ]})


    def _id_taken(self, text: str, is_json: bool) -> list[Problem]:
        """A new API whose ``info.id`` another file has: the create would be refused."""
        document, _ = parse_document(text, is_json)
        wanted = given_id(document) if document else None
        if wanted and any(e.api_id == wanted for e in self.mgmt.store.entries()):
            return [Problem("body", None, "x-tyk-api-gateway.info.id", "API with this ID already exists")]
        return []


class Examples:
    """The seed definition and its stream mappings, for "new API" and the playground."""

    def __init__(self, mgmt: Management) -> None:
        self.mgmt = mgmt

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.mgmt.allowed(req, resp):
            return
        with open(SEED_TEMPLATE, encoding="utf-8") as fh:
            template = fh.read()
        reply(resp, 200, {"template": template, "mappings": seed_mappings(template)})


def seed_mappings(template: str) -> list[dict[str, str]]:
    """Each ``mapping`` processor of the template's streams, named by its stream."""
    doc = yaml.safe_load(template)
    out = []
    for stream, conf in (doc.get("x-tyk-streaming", {}).get("streams") or {}).items():
        for processor in ((conf or {}).get("pipeline") or {}).get("processors") or []:
            if isinstance(processor, dict) and isinstance(processor.get("mapping"), str):
                out.append({"stream": str(stream), "mapping": processor["mapping"]})
    return out


class Bloblang:
    """One playground run, bounded (``streams.playground``): in this worker's helper process,
    one run at a time; runs that wait longer than a run may last get 503."""

    def __init__(self, mgmt: Management, limits: Limits | None = None) -> None:
        self.mgmt = mgmt
        self.limits = limits or Limits()
        self.runner = PlaygroundRunner(self.limits)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not self.mgmt.allowed(req, resp):
            return
        limit = self.limits.mapping_bytes + self.limits.input_bytes + self.limits.metadata_bytes + 4096
        try:
            body = orjson.loads(read_body(req, limit))
        except orjson.JSONDecodeError as exc:
            refuse(resp, 400, f"the body is not JSON: {exc}")
            return
        except falcon.HTTPContentTooLarge:
            refuse(resp, 413, f"the body is over the playground's limit of {limit} bytes")
            return
        try:
            reply(resp, 200, self.runner.run(Run.from_request(body, self.limits)))
        except PlaygroundRefused as exc:
            refuse(resp, exc.http_status, str(exc))
        except (PlaygroundBusy, OSError) as exc:
            log.warning("playground run refused: %s", exc)
            refuse(resp, 503, str(exc))
