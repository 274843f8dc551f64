"""API definitions as the management API sees them: files in the definitions directory, by ID.

The directory is the only store: what the management API accepts is written there (atomically:
a hidden temporary file, fsync, rename), so it survives a restart and every worker and host
sharing the directory applies it (``streams.engine.watch``). Nothing is written that the loader
would refuse: a body is validated by ``streams.definitions.load_text``, the very rules and
messages a file gets, and checked against the listen paths and names already served.

An API's ID is ``x-tyk-api-gateway.info.id``; a file written by hand without one gets its file
name (without extension) as ID, so every worker names it alike. IDs become file names
(``<id>.json``), so they are restricted to letters, digits, ``-``, ``_`` and ``.``.

Errors are types that know their HTTP status; the messages are Tyk Gateway's where one exists.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

from streams.definitions import EXTENSIONS, ApiDefinition, Problem, display_path, load_text, read_document
from streams.listenpaths import ListenPaths

_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
GATEWAY = "x-tyk-api-gateway"
STREAMING = "x-tyk-streaming"


class StoreError(ValueError):
    """A management request that cannot be carried out; ``http_status`` says whose fault."""

    http_status = 400


class ApiNotFound(StoreError):
    http_status = 404

    def __init__(self) -> None:
        super().__init__("API not found")


class InvalidDefinition(StoreError):
    """The body is not a definition the gateway would serve; ``problems`` are positioned."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:20])
        super().__init__(f"the API definition is not valid: {shown}")


@dataclass
class Entry:
    """One definition file and its parsed document."""

    api_id: str
    path: str
    document: dict[str, Any]


def given_id(document: dict[str, Any]) -> str | None:
    """The document's ``x-tyk-api-gateway.info.id`` when it holds a non-empty string."""
    gateway = document.get(GATEWAY)
    info = gateway.get("info") if isinstance(gateway, dict) else None
    given = info.get("id") if isinstance(info, dict) else None
    return given if isinstance(given, str) and given else None


def api_id_of(path: str, document: dict[str, Any]) -> str:
    """The document's ``x-tyk-api-gateway.info.id``, or its file name without extension."""
    return given_id(document) or os.path.splitext(os.path.basename(path))[0]


def with_id(document: dict[str, Any], api_id: str) -> dict[str, Any]:
    """A copy of ``document`` whose ``x-tyk-api-gateway.info.id`` is ``api_id``."""
    doc = copy.deepcopy(document)
    gateway = doc.setdefault(GATEWAY, {})
    if isinstance(gateway, dict):
        info = gateway.setdefault("info", {})
        if isinstance(info, dict):
            info["id"] = api_id
    return doc


def parse_body(body: bytes) -> tuple[str, bool]:
    """The body as text and whether it is JSON (a body starting with ``{``; YAML otherwise)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise StoreError("Request malformed: the body is not UTF-8") from None
    if not text.strip():
        raise StoreError("Request malformed: the body is empty")
    return text, text.lstrip().startswith("{")


class DefinitionStore:
    """Reads, validates and writes the definitions directory for the management API."""

    def __init__(self, directory: str, listen_paths: ListenPaths, *, allow_impure_bloblang: bool = False) -> None:
        self.directory = directory
        self.listen_paths = listen_paths
        self.allow_impure_bloblang = allow_impure_bloblang

    # -- reading -----------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every definition file that parses (valid or not), in name order."""
        out = []
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return []
        for name in names:
            path = os.path.join(self.directory, name)
            if name.startswith(".") or not name.endswith(EXTENSIONS) or not os.path.isfile(path):
                continue
            doc = read_document(path)
            if doc is not None:
                out.append(Entry(api_id_of(path, doc), path, with_id(doc, api_id_of(path, doc))))
        return out

    def find(self, api_id: str) -> Entry:
        for entry in self.entries():
            if entry.api_id == api_id:
                return entry
        raise ApiNotFound()

    # -- checking ----------------------------------------------------------------------------

    def validate(self, document: dict[str, Any], text: str | None, is_json: bool, target: str) -> ApiDefinition:
        """The definition ``target`` would hold; ``InvalidDefinition`` or ``ListenPathTaken``
        (both 400) when the gateway would not serve it. ``text`` is what the client sent
        (positions refer to it); None validates ``document`` as JSON."""
        if text is None:
            text, is_json = json.dumps(document, indent=2), True
        definition, problems = load_text(
            text, "body.json" if is_json else "body.yaml",
            allow_impure_bloblang=self.allow_impure_bloblang, display="body",
        )
        if definition is None:
            raise InvalidDefinition(problems)
        if definition.active and not definition.internal:
            taken = self.listen_paths.conflict(display_path(target), definition.listen_path, definition.name)
            if taken is not None:
                raise taken
        return definition

    def check(self, text: str, is_json: bool, target: str) -> list[Problem]:
        """Every problem saving ``text`` to ``target`` would meet, positioned in ``text`` (the
        console's validation as you type): what ``validate`` refuses, as a list."""
        definition, problems = load_text(
            text, "body.json" if is_json else "body.yaml",
            allow_impure_bloblang=self.allow_impure_bloblang, display="body",
        )
        if definition is None:
            return problems
        if definition.active and not definition.internal:
            taken = self.listen_paths.conflict(display_path(target), definition.listen_path, definition.name)
            if taken is not None:
                where = "x-tyk-api-gateway.server.listenPath.value" if taken.what == "listen path" else "x-tyk-api-gateway.info.name"
                line, column = (definition.listen_path_line, definition.listen_path_column) if taken.what == "listen path" else (None, None)
                return [Problem("body", line, where, str(taken), column)]
        return []

    def new_id(self, document: dict[str, Any]) -> str:
        """The ID the body gives, or a fresh one."""
        api_id = given_id(document) or uuid.uuid4().hex
        check_id(api_id)
        return api_id

    # -- writing -----------------------------------------------------------------------------

    def create(self, api_id: str, text: str, is_json: bool) -> str:
        """Write a new file for ``api_id``; 400 when the ID is taken (also by a concurrent
        create on another worker: the file appears by ``link``, which never overwrites)."""
        if any(e.api_id == api_id for e in self.entries()):
            raise StoreError("API with this ID already exists")
        target = os.path.join(self.directory, api_id + (".json" if is_json else ".yaml"))
        tmp = self._write_temp(text)
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise StoreError("API with this ID already exists") from None
        finally:
            os.unlink(tmp)
        _fsync_dir(self.directory)
        return target

    def replace(self, target: str, text: str) -> None:
        """Write ``text`` over ``target`` atomically (readers see the old or the new file)."""
        tmp = self._write_temp(text)
        os.replace(tmp, target)
        _fsync_dir(self.directory)

    def delete(self, target: str) -> None:
        try:
            os.unlink(target)
        except FileNotFoundError:
            raise ApiNotFound() from None
        _fsync_dir(self.directory)

    def _write_temp(self, text: str) -> str:
        # Hidden, so neither the loader nor the watcher takes it for a definition.
        fd, tmp = tempfile.mkstemp(prefix=".mgmt-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp


def check_id(api_id: str) -> None:
    if not _SAFE_ID.fullmatch(api_id):
        raise StoreError(
            f"invalid API ID {api_id[:64]!r}: use up to 128 letters, digits, '-', '_' or '.' (not first)"
        )


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
