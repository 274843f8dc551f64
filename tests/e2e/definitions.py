"""The OpenAPI documents end-to-end tests serve, built from their streams alone."""

from __future__ import annotations

from typing import Any

import yaml


def stream_api(name: str, listen_path: str, streams: dict[str, Any]) -> str:
    """A keyless Tyk OAS definition (YAML) named ``name`` with ``x-tyk-streaming`` holding
    ``streams``, served under ``listen_path`` (stripped): the shape Tyk's own tests load."""
    doc = {
        "openapi": "3.0.3",
        "info": {"title": name, "version": "1.0.0"},
        "paths": {},
        "x-tyk-api-gateway": {
            "info": {"name": name, "state": {"active": True}},
            "server": {"listenPath": {"value": listen_path, "strip": True}},
            "upstream": {"url": ""},
        },
        "x-tyk-streaming": {"streams": streams},
    }
    return yaml.safe_dump(doc, sort_keys=False)
