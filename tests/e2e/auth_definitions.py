"""The seed demo with authentication added, as end-to-end tests serve it: the identity comes
from the verified JWT's ``sub`` (``$tyk_context.jwt.claims.sub``, the seed's commented
alternative), so the consumer group and the user filter cannot be forged with ``?user=``."""

from __future__ import annotations

from pathlib import Path

import yaml

SEED = Path(__file__).resolve().parents[2] / "deploy" / "apis" / "streams-demo.yaml"


def seed_document(*, name: str = "stream-demo", listen_path: str = "/stream-demo/", prefix: str = "") -> dict:
    """The seed, its user taken from the JWT's ``sub``; ``prefix`` renames its topics and the
    Worker's group so two such APIs on one broker stay apart."""
    text = SEED.read_text().replace("$tyk_context.request_data_user", "$tyk_context.jwt.claims.sub")
    doc = yaml.safe_load(text)
    streams = doc["x-tyk-streaming"]["streams"]
    if prefix:
        streams["Worker"]["input"]["kafka"]["topics"] = [f"{prefix}jobs"]
        streams["Worker"]["input"]["kafka"]["consumer_group"] = f"{prefix}worker"
        streams["Worker"]["output"]["kafka"]["topic"] = f"{prefix}completed"
        streams["in"]["output"]["broker"]["outputs"][0]["kafka"]["topic"] = f"{prefix}jobs"
        streams["out"]["input"]["kafka"]["topics"] = [f"{prefix}completed"]
    doc["x-tyk-api-gateway"]["info"]["name"] = name
    doc["x-tyk-api-gateway"]["server"]["listenPath"]["value"] = listen_path
    return doc


def with_jwt(doc: dict, tyk_scheme: dict) -> dict:
    """``doc`` requiring the JWT scheme ``jwt`` with these Tyk settings."""
    doc["components"] = {"securitySchemes": {"jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}}
    doc["security"] = [{"jwt": []}]
    doc["x-tyk-api-gateway"]["server"]["authentication"] = {
        "enabled": True, "securitySchemes": {"jwt": {"enabled": True, **tyk_scheme}},
    }
    return doc


def with_keys(doc: dict) -> dict:
    """``doc`` requiring an auth token (a key from ``/tyk/keys``) in the Authorization header."""
    doc["components"] = {"securitySchemes": {"keys": {"type": "apiKey", "in": "header", "name": "Authorization"}}}
    doc["security"] = [{"keys": []}]
    doc["x-tyk-api-gateway"]["server"]["authentication"] = {
        "enabled": True, "securitySchemes": {"keys": {"enabled": True}},
    }
    return doc


def write(directory: Path, file: str, doc: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / file).write_text(yaml.safe_dump(doc, sort_keys=False))
