"""Bloblang: Benthos's mapping language, parsed to a typed tree and compiled to Python code.

Public contract (DESIGN §6)::

    from streams import bloblang
    m = bloblang.parse(source)             # raises bloblang.ParseError (.line, .column, message)
    msg = m.apply(content: bytes, metadata: dict | None = None)
    # None when the message is deleted, else a Message with .content (bytes) and .metadata;
    # raises bloblang.MappingError (a BloblangError, like ParseError) on failure.

For the engine:

* ``m.apply_message(msg, batch=None, index=0)``: ``mapping`` processor semantics. ``root``
  starts as nothing; the result is a copy of ``msg`` (metadata copied) whose payload is the new
  root, or ``msg``'s payload unchanged when the mapping never assigned ``root``; None when
  deleted. Structured values are passed on with ``Message.set_value`` (no JSON round trip).
  ``batch`` is the message batch (``msg`` must be ``batch[index]``); functions such as
  ``batch_index()``, ``json()`` and ``.from(i)`` read it.
* ``m.mutate_message(...)``: ``mutation`` semantics: ``root`` starts as the input document, so
  later reads of ``this`` see earlier writes. The input message is never modified.
* ``m.query_value(value, overlay=...)``: Benthos's public ``Query``/``Overlay``: run against a
  plain value without a message (metadata unavailable); returns the resulting root (``overlay``
  is copied, never modified).
* ``m.overlay_message(msg, value, batch=None, index=0)``: ``branch`` ``result_map`` semantics:
  ``this`` is ``value``, ``root`` and metadata start from (copies of) ``msg``.
* ``m.exec_value(value)``: the raw root (``NOTHING``/``DELETE`` included) of a run against a
  plain value; raises ``ExecError`` (as the ``bloblang`` method runs its mapping).
* ``parse_interpolation(text)``: a ``${! ... }`` string, with ``.render(msg, batch=None,
  index=0) -> str``, ``.render_bytes(...)`` and ``.is_static``.
* ``parse(source, *, allow_impure=False, filename=None, base_dir=None, imports=True,
  sandboxed=False, refused_functions=None)``: impure functions (``env``, ``file``, ``hostname``...) are refused unless
  ``allow_impure``; ``base_dir`` is where ``import "path"`` resolves relative paths (default:
  the working directory) and, without ``allow_impure``, the tree imports must stay inside;
  ``filename`` names the compiled code (``<bloblang:NAME>``) in tracebacks; ``sandboxed`` is
  the ``bloblang`` method's environment (no imports, impure or message functions);
  ``refused_functions`` maps names to the reason a parse refuses them (the console's playground
  refuses clocks and random ids). ``deferred=True`` parses now (errors and ``field_filter`` come
  at once) but generates the code at the first run (see ``Mapping``).

Compiled mappings are cached by source and options, except mappings holding per-call-site
state (``counter()``), which get a fresh compilation each time so instances never share state,
and deferred ones: those are a stream's components', named after their config path, which for a
stream naming the user is a path per user; cached, they never hit, outlived their instances and
emptied the cache of everything else each time a thousand users had come.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

from streams.bloblang import codegen, runtime
from streams.bloblang import nodes as N
from streams.bloblang.errors import TOO_DEEP, BloblangError, ExecError, MappingError, ParseError
from streams.bloblang.filters import FieldFilter, field_filter
from streams.bloblang.parser import Settings, parse_mapping
from streams.bloblang.parser import parse_interpolation as _parse_interp
from streams.bloblang.parser import parse_query as _parse_query
from streams.bloblang.values import DELETE, NOTHING, clone, to_payload, to_string
from streams.message import Message

Environment = Settings
"""What a parse may use (impure functions, imports and where they resolve); ``parse()`` builds
one from its keyword arguments, ``parser.parse_mapping/parse_query`` take one directly."""

__all__ = [
    "Environment",
    "BloblangError",
    "Interpolation",
    "Mapping",
    "MappingError",
    "ParseError",
    "Query",
    "parse",
    "parse_interpolation",
    "parse_query",
]

_CACHE: dict[tuple, Mapping] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 1024


def parse(
    source: str,
    *,
    allow_impure: bool = False,
    filename: str | None = None,
    base_dir: str | None = None,
    imports: bool = True,
    sandboxed: bool = False,
    refused_functions: dict[str, str] | None = None,
    deferred: bool = False,
) -> Mapping:
    """Parse and compile a mapping (cached). Raises ``ParseError``. ``sandboxed`` parses as the
    ``bloblang`` method does: no imports, no impure or message-reading functions.
    ``refused_functions`` (name -> reason) removes functions from this parse's environment.

    ``deferred``: only parse now (every ``ParseError`` is raised here) and generate the code
    when the mapping first runs. PERF: a stream whose mapping names the user gets a mapping per
    user, about 3 KiB each compiled; a user whose stream is open but who never gets a message
    (an idle SSE client, or every other user's record routed past it by ``field_filter``) now
    keeps only the source. A mapping that may import is compiled at once: a deferred compile
    would read the imported files again, later."""
    refused = tuple(sorted((refused_functions or {}).items()))
    key = (source, allow_impure, filename, base_dir, imports, sandboxed, refused)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    settings = _settings(allow_impure, base_dir, imports, sandboxed, refused)
    name = sys.intern(f"<bloblang:{filename or 'mapping'}>")
    try:
        prog = parse_mapping(source, settings)
        if deferred and not _may_import(source):
            mapping = Mapping(source, None, settings, name)
        else:
            mapping = Mapping(source, codegen.compile_program(prog, name), settings)
    except (RecursionError, MemoryError):
        raise ParseError(TOO_DEEP, 1, 1) from None
    mapping.field_filter = field_filter(prog)
    if not deferred and not N.has_state(prog):
        with _CACHE_LOCK:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.clear()
            _CACHE[key] = mapping
    return mapping


@functools.lru_cache(maxsize=64)
def _settings(
    allow_impure: bool, base_dir: str | None, imports: bool, sandboxed: bool, refused: tuple[tuple[str, str], ...]
) -> Settings:
    """One ``Settings`` for equal parse settings (they never change once made). PERF: a deferred
    mapping keeps its settings for its compile, and a stream that names the user has one
    mapping per user; its name is one interned string for the same reason."""
    return Settings(
        allow_impure=allow_impure, base_dir=base_dir, imports=imports, sandboxed=sandboxed, refused_functions=dict(refused)
    )


def _may_import(source: str) -> bool:
    """Whether a mapping could hold an ``import "path"`` or a ``from "path"`` root import
    (erring towards yes: a word in a string or a comment also counts)."""
    return "import" in source or "from" in source


_COMPILE_LOCK = threading.Lock()


class Mapping:
    """A compiled mapping. Thread- and greenlet-safe: all run state lives in a fresh context.

    A deferred mapping (``parse(deferred=True)``) has no ``_compiled`` attribute until its first
    run: the lookup then falls through to ``__getattr__``, which parses the source again and
    generates the code once; every later run finds the plain attribute at no extra cost."""

    def __init__(self, source: str, compiled: codegen.Compiled | None, settings: Settings, name: str = "") -> None:
        self.source = source
        if compiled is not None:
            self._compiled = compiled
        else:
            self._deferred_name = name
        self._settings = settings
        #: What the mapping does when it only keeps or deletes by one field (``filters``).
        self.field_filter: FieldFilter | None = None

    def __getattr__(self, name: str) -> Any:
        if name != "_compiled" or "_deferred_name" not in self.__dict__:
            raise AttributeError(name)
        with _COMPILE_LOCK:
            compiled = self.__dict__.get("_compiled")
            if compiled is None:
                try:
                    prog = parse_mapping(self.source, self._settings)
                    compiled = codegen.compile_program(prog, self._deferred_name)
                except (RecursionError, MemoryError):
                    raise MappingError(f"failed to compile the mapping: {TOO_DEEP}") from None
                self._compiled = compiled
        return compiled

    # -- running ---------------------------------------------------------------------------
    def _context(self, batch: list, index: int, meta: dict | None, root: Any, doc: Any = runtime._UNSET) -> runtime.Context:
        return runtime.Context(batch, index, meta=meta, root=root, doc=doc, settings=self._settings, maps=self._compiled.maps)

    def _run(self, ctx: runtime.Context) -> None:
        for line, fn in self._compiled.statements:
            try:
                fn(ctx, None)
            except ExecError as exc:
                raise MappingError(self._failed(line, exc, ctx)) from None
            except RecursionError:
                raise MappingError(
                    f"failed assignment (line {line}): the mapping recursed too deeply"
                ) from None
            except MemoryError:
                raise MappingError(f"failed assignment (line {line}): out of memory") from None

    @staticmethod
    def _failed(line: int, exc: ExecError, ctx: runtime.Context) -> str:
        nc = runtime.find_no_context(exc)
        if nc is not None and ctx.doc_error is not None:
            if nc.field_name:
                text = f"unable to reference message as structured (with 'this.{nc.field_name}'): {ctx.doc_error}"
            else:
                text = f"unable to reference message as structured (with 'this'): {ctx.doc_error}"
            return f"failed assignment (line {line}): {text}"
        return f"failed assignment (line {line}): {exc}"

    def apply(self, content: bytes, metadata: dict | None = None) -> Message | None:
        """Map one raw message (DESIGN §6). Returns None when the mapping deletes it."""
        msg = Message(content)
        if metadata:
            # PERF: the input message is private to this call and its metadata only read (the
            # result gets its own copy), so it can hold the caller's dict.
            msg.metadata = metadata
        return self.apply_message(msg)

    def apply_message(self, msg: Message, batch: list[Message] | None = None, index: int = 0) -> Message | None:
        """``mapping`` processor semantics; see the module docstring."""
        if batch is None:
            batch, index = [msg], 0
        out = msg.copy()
        ctx = runtime.Context(batch, index, out.metadata, NOTHING, runtime._UNSET, self._settings, self._compiled.maps)
        self._run(ctx)
        return _finish(out, ctx.root)

    def mutate_message(self, msg: Message, batch: list[Message] | None = None, index: int = 0) -> Message | None:
        """``mutation`` processor semantics: root starts as (a copy of) the input document."""
        if batch is None:
            batch, index = [msg], 0
        out = msg.copy()
        try:
            root = clone(msg.value)
            doc: Any = root
        except ValueError:
            root, doc = NOTHING, runtime._UNSET
        ctx = self._context(batch, index, out.metadata, root, doc)
        self._run(ctx)
        result = ctx.root
        if result is NOTHING:
            return out
        return _finish(out, result)

    def overlay_message(
        self, msg: Message, value: Any, batch: list[Message] | None = None, index: int = 0
    ) -> Message | None:
        """The ``branch`` processor's ``result_map``: ``this`` is ``value`` (the branch result),
        ``root`` starts as (a copy of) ``msg``'s document and metadata assignments change a copy
        of ``msg``'s metadata. ``msg`` itself is not modified."""
        if batch is None:
            batch, index = [msg], 0
        out = msg.copy()
        try:
            root = clone(msg.value)
        except ValueError:
            root = NOTHING
        ctx = self._context(batch, index, out.metadata, root, value)
        self._run(ctx)
        if ctx.root is NOTHING:
            return out
        return _finish(out, ctx.root)

    def exec_value(self, value: Any) -> Any:
        """Run against a plain value and return the root as is (``NOTHING``/``DELETE`` included),
        as a named map or the ``bloblang`` method does. Raises ``ExecError``."""
        return self._compiled.exec_value(value, self._settings)

    def query_value(self, value: Any, overlay: Any = NOTHING) -> Any:
        """Run against a plain value (Benthos's ``Query``/``Overlay``): ``this`` is ``value``,
        no message or metadata. Raises ``MappingError`` (``root was deleted`` when deleted)."""
        ctx = self._context([], 0, None, clone(overlay), value)
        for line, fn in self._compiled.statements:
            try:
                fn(ctx, None)
            except ExecError as exc:
                raise MappingError(str(codegen.failed_assignment(line, exc, nested=True))) from None
            except RecursionError:
                raise MappingError(f"failed assignment (line {line}): the mapping recursed too deeply") from None
        root = ctx.root
        if root is DELETE:
            raise MappingError("root was deleted")
        if root is NOTHING:
            return value if overlay is NOTHING else None
        return root


def _finish(out: Message, root: Any) -> Message | None:
    if root is DELETE:
        return None
    if root is NOTHING:
        return out
    if isinstance(root, str):
        out.set_content(to_payload(root))
    elif isinstance(root, (bytes, bytearray)):
        out.set_content(bytes(root))
    else:
        out.set_value(root)
    return out


class Query:
    """A single query expression (used by tests, the CLI and interpolations)."""

    def __init__(self, source: str, node: N.Node, end: int, settings: Settings) -> None:
        self.source = source
        self.node = node
        self.remaining = source[end:]
        self._settings = settings
        self._fn = codegen.compile_query(node, "<bloblang:query>")

    def execute(self, batch: list[Message], index: int = 0, value: Any = runtime._UNSET, meta: dict | None = None) -> Any:
        """Evaluate against message ``index`` of ``batch`` (``this`` is its JSON, or ``value``)."""
        msg = batch[index] if 0 <= index < len(batch) else None
        if meta is None and msg is not None:
            meta = dict(msg.metadata)
        ctx = runtime.Context(batch, index, meta=meta, root=NOTHING, doc=value, settings=self._settings)
        try:
            return self._fn(ctx)
        except RecursionError:
            raise MappingError("the query recursed too deeply") from None
        except ExecError as exc:
            raise MappingError(str(exc)) from None

    def execute_to_string(self, batch: list[Message], index: int = 0, value: Any = runtime._UNSET) -> str:
        return to_string(self.execute(batch, index, value))


def parse_query(source: str, *, allow_impure: bool = False) -> Query:
    """Parse one query expression; ``.remaining`` is any text after it."""
    settings = Settings(allow_impure=allow_impure)
    try:
        node, end = _parse_query(source, settings)
        return Query(source, node, end, settings)
    except (RecursionError, MemoryError):
        raise ParseError(TOO_DEEP, 1, 1) from None


class Interpolation:
    """A string with ``${! query }`` parts, rendered per message as Benthos's field strings."""

    def __init__(self, text: str, parts: list[Any]) -> None:
        self.text = text
        self._parts: list[Any] = []
        for p in parts:
            if isinstance(p, str):
                self._parts.append(p)
            else:
                self._parts.append(codegen.compile_query(p, "<bloblang:interpolation>"))
        self.is_static = all(isinstance(p, str) for p in self._parts)

    def render(self, msg: Message | None = None, batch: list[Message] | None = None, index: int = 0) -> str:
        """The string for one message (``msg`` is ``batch[index]`` when a batch is given).
        Raises ``MappingError`` when a query fails."""
        if self.is_static:
            return "".join(self._parts)
        if batch is None:
            batch = [msg] if msg is not None else []
            index = 0
        target = batch[index] if 0 <= index < len(batch) else None
        meta = target.metadata if target is not None else None
        # PERF: one context for all the parts, so the document is parsed at most once a render
        # (queries cannot assign, so the parts cannot see each other through it).
        ctx = runtime.Context(batch, index, meta=meta, root=NOTHING)
        out = []
        for p in self._parts:
            if isinstance(p, str):
                out.append(p)
                continue
            try:
                out.append(to_string(p(ctx)))
            except ExecError as exc:
                raise MappingError(str(exc)) from None
            except RecursionError:
                raise MappingError("the interpolation recursed too deeply") from None
        return "".join(out)

    def render_bytes(self, msg: Message | None = None, batch: list[Message] | None = None, index: int = 0) -> bytes:
        return self.render(msg, batch, index).encode("utf-8", "surrogateescape")


_INTERP_CACHE: dict[str, Interpolation] = {}


def parse_interpolation(text: str) -> Interpolation:
    """Parse a ``${! }`` string (cached). Raises ``ParseError`` (``char N: ...``)."""
    cached = _INTERP_CACHE.get(text)
    if cached is not None:
        return cached
    try:
        interp = Interpolation(text, _parse_interp(text, Settings()))
    except (RecursionError, MemoryError):
        raise ParseError(TOO_DEEP, 1, 1, text=f"char 1: {TOO_DEEP}") from None
    if len(_INTERP_CACHE) < 4096:
        _INTERP_CACHE[text] = interp
    return interp
