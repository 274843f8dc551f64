"""The console's page and assets, served from ``handlers/console/static/`` by the gateway itself.

Nothing here is secret (the page signs in with the management secret it is given), so these
answer without the header. The page may load only what this directory holds (a Content Security
Policy of ``'self'``: no CDN, no inline script), and a file name is looked up in the directory's
listing, never joined into a path, so nothing outside it can be reached.
"""

from __future__ import annotations

import os

import falcon

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".yaml": "text/yaml; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _files() -> dict[str, str]:
    """Servable name -> absolute path (the files directly in the static directory)."""
    out = {}
    for name in sorted(os.listdir(STATIC_DIR)):
        path = os.path.join(STATIC_DIR, name)
        if os.path.isfile(path) and os.path.splitext(name)[1] in TYPES:
            out[name] = path
    return out


def _send(resp: falcon.Response, path: str) -> None:
    with open(path, "rb") as fh:
        resp.data = fh.read()
    resp.content_type = TYPES[os.path.splitext(path)[1]]
    for header, value in SECURITY_HEADERS.items():
        resp.set_header(header, value)


class ConsolePage:
    """``/tyk/console/``: the single page; ``/tyk/console`` redirects there."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if not req.path.endswith("/"):
            raise falcon.HTTPMovedPermanently(req.path + "/")
        _send(resp, os.path.join(STATIC_DIR, "index.html"))


class ConsoleAsset:
    """``/tyk/console/static/{name}``: one file of the static directory."""

    def __init__(self) -> None:
        self.files = _files()

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        path = self.files.get(name)
        if path is None:
            raise falcon.HTTPNotFound(description=f"no console file {name}")
        _send(resp, path)
