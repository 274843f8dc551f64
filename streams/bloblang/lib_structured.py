"""Bloblang's Object & Array methods (Benthos v4 ``methods_structured.go`` and ``bloblang_objects.go``).

Each method follows its Benthos counterpart exactly, including the quirks users rely on:
``merge`` turns colliding leaves into arrays while ``assign`` overwrites them; ``map_each`` on an
object drops a key whose query yields ``deleted()`` and keeps the old value on ``nothing()``;
``sort`` compares with a strict "less than" the way Go's ``sort.Slice`` does, so the first failing
comparison names the same element Benthos names. Dot paths (``exists``, ``get``, ``without``...)
use Benthos's escaping: ``~1`` is a literal dot and ``~0`` a literal tilde. ``json_schema``
re-implements the checks of the Go library Benthos uses (xeipuuv/gojsonschema), because its
error lines (``foo invalid type. expected: string, given: integer``) are what users match on.
Errors are wrapped the way Go wraps them, so the runtime adds the target's annotation exactly
where Benthos does (``_wrap``) and leaves it off where Benthos returns errors as they are (``_final``).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from . import timefmt
from .errors import ExecError
from .gosort import go_sort_slice
from .lib_parsing import go_json_decode, go_url_parse
from .registry import Library, Param
from .runtime import TypeMismatch, annotate
from .values import (
    DELETE,
    NOTHING,
    JsonFloat,
    ValueTypeError,
    bytes_to_str,
    clone,
    get_number,
    get_string,
    is_number,
    to_json,
    type_error,
    type_name,
)
from .values import equal as values_equal

LIBRARY = Library()

Query = Callable[[Any], Any]


def _err_from_in_chain(exc: ExecError | None) -> bool:
    """Whether Go's ``errors.As(err, *errFrom)`` would find an annotated error in the chain: an
    error that names its source itself (not a type mismatch, which Go checks only directly)."""
    while exc is not None:
        cause = exc.cause
        if exc.annotated and not isinstance(exc, TypeMismatch) and (cause is None or not cause.annotated):
            return True
        exc = cause
    return False


def _wrap(prefix: str, exc: ExecError) -> ExecError:
    """Go's ``fmt.Errorf("prefix: %w", err)`` inside a method that Benthos then passes through
    ``ErrFrom``: the target's annotation is added later unless the chain already has one."""
    err = ExecError(f"{prefix}: {exc}", annotated=_err_from_in_chain(exc))
    err.cause = exc
    return err


def _err_from_query(exc: ExecError, query: Any) -> ExecError:
    """Go's ``ErrFrom(err, queryFn)``: the query argument's annotation on its own error."""
    source = _query_annotation(query)
    return annotate(exc, source) if source else exc


def _final(message: str, cause: ExecError | None = None) -> ExecError:
    """An error of a Benthos method that returns errors without ``ErrFrom`` (``sort``, ``sum``...)."""
    err = ExecError(message, annotated=True)
    err.cause = cause
    return err


def _query_annotation(query: Any) -> str:
    """The annotation of a query argument when the compiler attaches one (Go's ``mapFn``)."""
    return getattr(query, "annotation", "") or ""


# ---------------------------------------------------------------------------------------------
# Paths


def dot_path(path: str) -> list[str]:
    """Benthos's ``DotPathToSlice``: split on dots, then ``~1`` -> ``.`` and ``~0`` -> ``~``."""
    return [seg.replace("~1", ".").replace("~0", "~") for seg in path.split(".")]


_MISSING = object()


def search(value: Any, path: list[str]) -> Any:
    """gabs ``Search``: walk objects by key and arrays by index (``*`` maps over an array);
    returns ``_MISSING`` when the path does not resolve (a present null is ``None``)."""
    obj = value
    for i, seg in enumerate(path):
        if isinstance(obj, dict):
            if seg not in obj:
                return _MISSING
            obj = obj[seg]
        elif isinstance(obj, list):
            if seg == "*":
                if i + 1 >= len(path):
                    found = obj
                else:
                    found = [r for r in (search(e, path[i + 1:]) for e in obj) if r is not _MISSING]
                return found if found else _MISSING
            try:
                idx = int(seg)
            except ValueError:
                return _MISSING
            if idx < 0 or idx >= len(obj) or not seg.lstrip("+-").isdigit():
                return _MISSING
            obj = obj[idx]
        else:
            return _MISSING
    return obj


def set_path(root: Any, path: list[str], value: Any) -> Any:
    """gabs ``Set`` (errors ignored, as ``explode`` ignores them): returns the new root."""
    if not path:
        return value
    if root is None:
        root = {}
    obj = root
    for i, seg in enumerate(path):
        last = i == len(path) - 1
        if isinstance(obj, dict):
            if last:
                obj[seg] = value
            else:
                nxt = obj.get(seg)
                if nxt is None:
                    nxt = obj[seg] = {}
                obj = nxt
        elif isinstance(obj, list):
            try:
                idx = int(seg)
            except ValueError:
                return root
            if idx < 0 or idx >= len(obj):
                return root
            if last:
                obj[idx] = value
            else:
                if obj[idx] is None:
                    return root
                obj = obj[idx]
        else:
            return root
    return root


# ---------------------------------------------------------------------------------------------
# Merging (gabs Merge / MergeFn)


def _merge_collision(dest: Any, src: Any) -> Any:
    if isinstance(dest, list):
        return dest + src if isinstance(src, list) else dest + [src]
    if isinstance(src, list):
        return [dest] + src
    return [dest, src]


def _assign_collision(dest: Any, src: Any) -> Any:
    return src


def merge_into(dest: dict, src: Any, collide: Callable[[Any, Any], Any]) -> None:
    """Merge object ``src`` into ``dest`` in place; non-object sources are ignored (as gabs does)."""
    if not isinstance(src, dict):
        return
    for key, val in src.items():
        if key in dest:
            existing = dest[key]
            if isinstance(val, dict) and isinstance(existing, dict):
                merge_into(existing, val, collide)
            else:
                dest[key] = collide(existing, val)
        else:
            dest[key] = val


def merged(dest: dict, src: dict, collide: Callable[[Any, Any], Any]) -> dict:
    """``merge_into`` on a copy: a new object, ``dest`` and everything in it left as they are.

    PERF: only the objects on the path of a collision are copied; the rest of ``dest`` (often
    the whole input document) is shared, as values are never changed in place."""
    out = dict(dest)
    for key, val in src.items():
        if key in out:
            existing = out[key]
            if isinstance(val, dict) and isinstance(existing, dict):
                out[key] = merged(existing, val, collide)
            else:
                out[key] = collide(existing, val)
        else:
            out[key] = val
    return out


def _merge_like(target: Any, other: Any, collide: Callable[[Any, Any], Any]) -> Any:
    other = clone(other)
    if isinstance(target, list):
        return target + other if isinstance(other, list) else target + [other]
    if not isinstance(target, dict):
        raise type_error(target, "object", "array")
    if not isinstance(other, dict):
        return dict(target)  # gabs ignores a source that is not an object
    return merged(target, other, collide)


@LIBRARY.method("merge", Param("with", "any"))
def merge(target: Any, with_: Any) -> Any:
    """Objects merge deeply and colliding leaves become arrays of both; arrays concatenate."""
    return _merge_like(target, with_, _merge_collision)


@LIBRARY.method("assign", Param("with", "any"))
def assign(target: Any, with_: Any) -> Any:
    """Like ``merge`` but a colliding leaf of ``with`` overwrites the target's."""
    return _merge_like(target, with_, _assign_collision)


@LIBRARY.method("squash")
def squash(target: Any) -> Any:
    """Merge (with ``merge``'s collision rule) every object of an array into one object."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    root: dict = {}
    for v in target:
        merge_into(root, clone(v), _merge_collision)
    return root


# ---------------------------------------------------------------------------------------------
# Predicates and searches


def _bool_over(target: Any, test: Query, want_any: bool) -> bool:
    if not isinstance(target, list):
        raise type_error(target, "array")
    for i, v in enumerate(target):
        try:
            res = test(v)
        except ExecError as exc:
            raise _wrap(f"element {i}", exc) from exc
        if not isinstance(res, bool):
            raise ExecError(f"element {i}: {type_error(res, 'bool')}")
        if res == want_any:
            return want_any
    return not want_any if target else False


@LIBRARY.method("all", Param("test", "query"))
def all_(target: Any, test: Query) -> bool:
    """True when the test is true for every element; false for an empty array (as Benthos)."""
    return _bool_over(target, test, False)


@LIBRARY.method("any", Param("test", "query"))
def any_(target: Any, test: Query) -> bool:
    """True when the test is true for at least one element."""
    return _bool_over(target, test, True)


@LIBRARY.method("exists", Param("path", "string"))
def exists(target: Any, path: str) -> bool:
    """Whether a dot path resolves in the target, even to null."""
    return search(target, dot_path(path)) is not _MISSING


@LIBRARY.method("get", Param("path", "string"))
def get(target: Any, path: str) -> Any:
    """The value at a dot path, or null when it does not resolve."""
    res = search(target, dot_path(path))
    return None if res is _MISSING else res


def _index_of_value(target: Any, value: Any, all_matches: bool) -> Any:
    if not isinstance(target, list):
        raise type_error(target, "array")
    found = [i for i, elem in enumerate(target) if values_equal(value, elem)]
    if all_matches:
        return found
    return found[0] if found else -1


@LIBRARY.method("find", Param("value", "any"))
def find(target: Any, value: Any) -> int:
    """Index of the first element equal to ``value``, or -1."""
    return _index_of_value(target, value, False)


@LIBRARY.method("find_all", Param("value", "any"))
def find_all(target: Any, value: Any) -> list:
    """Indexes of every element equal to ``value``."""
    return _index_of_value(target, value, True)


def _index_by(target: Any, query: Query, all_matches: bool) -> Any:
    if not isinstance(target, list):
        raise type_error(target, "array")
    out = []
    for i, elem in enumerate(target):
        try:
            res = query(elem)
        except ExecError as exc:
            raise _wrap(f"query returned an error for index {i}", exc) from exc
        if not isinstance(res, bool):
            raise ExecError(f"query returned a non-boolean value for index {i}: {type_error(res, 'bool')}")
        if res:
            if not all_matches:
                return i
            out.append(i)
    return out if all_matches else -1


@LIBRARY.method("find_by", Param("query", "query"))
def find_by(target: Any, query: Query) -> int:
    """Index of the first element for which the query is true, or -1."""
    return _index_by(target, query, False)


@LIBRARY.method("find_all_by", Param("query", "query"))
def find_all_by(target: Any, query: Query) -> list:
    """Indexes of every element for which the query is true."""
    return _index_by(target, query, True)


@LIBRARY.method("index", Param("index", "int"))
def index(target: Any, index: int) -> Any:
    """Element at an index (negative counts from the end); a byte of a byte array as an int."""
    if isinstance(target, (list, bytes, bytearray)):
        i = index + len(target) if index < 0 else index
        if i < 0 or i >= len(target):
            raise ExecError(f"index '{i}' was out of bounds for array size: {len(target)}")
        return target[i]
    raise type_error(target, "array")


# ---------------------------------------------------------------------------------------------
# Building arrays


@LIBRARY.method("append", variadic=True)
def append(target: Any, *values: Any) -> list:
    """A copy of the array with the arguments added at its end."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    return list(target) + [clone(v) for v in values]


def _check_arrays(*arrays: Any) -> None:
    """Benthos checks ``concat``'s arguments when it builds the method."""
    for a in arrays:
        if not isinstance(a, list):
            raise type_error(a, "array")


def _check_zip(*arrays: Any) -> None:
    """``zip``'s constructor: every argument an array, all as long as the first."""
    for a in arrays:
        if not isinstance(a, list):
            raise type_error(a, "array")
        if len(a) != len(arrays[0]):
            raise ExecError("can't zip different length array values")


@LIBRARY.method("concat", variadic=True, check=_check_arrays)
def concat(target: Any, *arrays: Any) -> list:
    """The array followed by the elements of each argument array."""
    for a in arrays:
        if not isinstance(a, list):
            raise type_error(a, "array")
    if not isinstance(target, list):
        raise type_error(target, "array")
    out = list(target)
    for a in arrays:
        out.extend(clone(a))
    return out


@LIBRARY.method("zip", variadic=True, check=_check_zip)
def zip_(target: Any, *arrays: Any) -> list:
    """Arrays of the n-th elements of the target and each argument, which must be equally long."""
    for a in arrays:
        if not isinstance(a, list):
            raise type_error(a, "array")
        if len(a) != len(arrays[0]):
            raise ExecError("can't zip different length array values")
    if not isinstance(target, list):
        raise type_error(target, "array")
    if not arrays:
        raise ExecError("zip requires at least one argument")
    if len(target) != len(arrays[0]):
        raise ExecError("can't zip different length array values")
    return [[v] + [clone(a[i]) for a in arrays] for i, v in enumerate(target)]


@LIBRARY.method("enumerated")
def enumerated(target: Any) -> list:
    """``{"index": i, "value": v}`` for each element."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    return [{"index": i, "value": v} for i, v in enumerate(target)]


@LIBRARY.method("flatten")
def flatten(target: Any) -> list:
    """Splice arrays nested one level deep into the array."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    out: list = []
    for child in target:
        if isinstance(child, list):
            out.extend(child)
        else:
            out.append(child)
    return out


@LIBRARY.method("join", Param("delimiter", "string", default=None, nullable=True))
def join(target: Any, delimiter: str | None = None) -> str:
    """Concatenate an array of strings (or bytes) with an optional delimiter."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    parts = []
    for i, v in enumerate(target):
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, (bytes, bytearray)):
            parts.append(bytes_to_str(bytes(v)))
        else:
            raise ExecError(f"failed to join element {i}: {type_error(v, 'string')}")
    return (delimiter or "").join(parts)


# ---------------------------------------------------------------------------------------------
# Objects


@LIBRARY.method("keys")
def keys(target: Any) -> list:
    """Sorted keys of an object."""
    if not isinstance(target, dict):
        raise type_error(target, "object")
    return sorted(target, key=lambda k: k.encode("utf-8", "surrogatepass"))


@LIBRARY.method("values")
def values(target: Any) -> list:
    """Values of an object (order unspecified in Benthos; here the object's order)."""
    if not isinstance(target, dict):
        raise type_error(target, "object")
    return list(target.values())


@LIBRARY.method("key_values")
def key_values(target: Any) -> list:
    """``{"key": k, "value": v}`` for each entry of an object."""
    if not isinstance(target, dict):
        raise type_error(target, "object")
    return [{"key": k, "value": v} for k, v in target.items()]


def _map_without(m: dict, paths: list[list[str]]) -> dict:
    out = {}
    for k, v in m.items():
        excluded = False
        nested = []
        for p in paths:
            if p[0] == k:
                if len(p) > 1:
                    nested.append(p[1:])
                else:
                    excluded = True
        if excluded:
            continue
        out[k] = _map_without(v, nested) if nested and isinstance(v, dict) else v
    return out


def _map_with(m: dict, paths: list[list[str]]) -> dict:
    out = {}
    for k, v in m.items():
        included = False
        nested = []
        for p in paths:
            if p[0] == k:
                included = True
                if len(p) > 1:
                    nested.append(p[1:])
        if included:
            out[k] = _map_with(v, nested) if nested and isinstance(v, dict) else v
    return out


def _path_args(args: tuple[Any, ...]) -> list[list[str]]:
    paths = []
    for i, a in enumerate(args):
        try:
            paths.append(dot_path(get_string(a)))
        except ExecError as exc:
            # NOTE: Benthos checks these when it builds the method, so no target annotation.
            raise _final(f"argument {i}: {exc}", exc) from None
    return paths


def _check_paths(*paths: Any) -> None:
    _path_args(paths)


@LIBRARY.method("without", variadic=True, check=_check_paths)
def without(target: Any, *paths: Any) -> dict:
    """A copy of the object without the fields at the given dot paths."""
    excluded = _path_args(paths)
    if not isinstance(target, dict):
        raise type_error(target, "object")
    return _map_without(target, excluded)


@LIBRARY.method("with", variadic=True, check=_check_paths)
def with_(target: Any, *paths: Any) -> dict:
    """A copy of the object with only the fields at the given dot paths."""
    included = _path_args(paths)
    if not isinstance(target, dict):
        raise type_error(target, "object")
    return _map_with(target, included)


def _walk(path: str, value: Any, flat: dict, include_empty: bool) -> None:
    if isinstance(value, dict):
        if include_empty and not value:
            flat[path] = {}
        for k, v in value.items():
            _walk(f"{path}.{k}" if path else k, v, flat, include_empty)
    elif isinstance(value, list):
        if include_empty and not value:
            flat[path] = []
        for i, v in enumerate(value):
            _walk(f"{path}.{i}" if path else str(i), v, flat, include_empty)
    else:
        flat[path] = value


@LIBRARY.method("collapse", Param("include_empty", "bool", default=False))
def collapse(target: Any, include_empty: bool = False) -> dict:
    """Flatten nested objects and arrays into one object keyed by dot paths."""
    if not isinstance(target, (dict, list)):
        raise ExecError("not an object or array")
    flat: dict = {}
    _walk("", target, flat, include_empty)
    return flat


@LIBRARY.method("explode", Param("path", "string"))
def explode(target: Any, path: str) -> Any:
    """One copy of the document per element (or entry) of the array (or object) at ``path``."""
    if not isinstance(target, dict):
        raise type_error(target, "object")
    segs = dot_path(path)
    found = search(target, segs)
    base = _map_without(target, [segs])
    if isinstance(found, list):
        return [set_path(clone(base), segs, ele) for ele in found]
    if isinstance(found, dict):
        return {k: set_path(clone(base), segs, ele) for k, ele in found.items()}
    kind = "null" if found is _MISSING else type_name(found)
    raise ExecError(f"expected array or object value at path '{path}', found: {kind}")


# ---------------------------------------------------------------------------------------------
# Higher-order


@LIBRARY.method("filter", Param("test", "query"))
def filter_(target: Any, test: Query) -> Any:
    """Keep the elements (or ``{"key","value"}`` entries) for which the test is exactly true."""
    if isinstance(target, list):
        return [v for v in target if test(v) is True]
    if isinstance(target, dict):
        return {k: v for k, v in target.items() if test({"key": k, "value": v}) is True}
    raise type_error(target, "array", "object")


@LIBRARY.method("map_each", Param("query", "query"))
def map_each(target: Any, query: Query) -> Any:
    """Map each element (or object value, given ``{"key","value"}``); ``deleted()`` drops it
    and ``nothing()`` keeps the original."""
    if isinstance(target, list):
        out = []
        for i, v in enumerate(target):
            try:
                res = query(v)
            except ExecError as exc:
                raise _wrap(f"failed to process element {i}", _err_from_query(exc, query)) from exc
            if res is DELETE:
                continue
            out.append(v if res is NOTHING else res)
        return out
    if isinstance(target, dict):
        obj = {}
        for k, v in target.items():
            try:
                res = query({"key": k, "value": v})
            except ExecError as exc:
                raise _wrap(f"failed to process element {k}", _err_from_query(exc, query)) from exc
            if res is DELETE:
                continue
            obj[k] = v if res is NOTHING else res
        return obj
    raise type_error(target, "array")


@LIBRARY.method("map_each_key", Param("query", "query"))
def map_each_key(target: Any, query: Query) -> dict:
    """Rename each key of an object with the query's string result (``nothing()`` keeps it)."""
    if not isinstance(target, dict):
        raise type_error(target, "object")
    out = {}
    for k, v in target.items():
        res = query(k)
        if res is NOTHING:
            out[k] = v
        elif isinstance(res, str):
            out[res] = v
        else:
            raise ExecError(f"unexpected result from key mapping: {type_error(res, 'string')}")
    return out


@LIBRARY.method("fold", Param("initial", "any"), Param("query", "query"))
def fold(target: Any, initial: Any, query: Query) -> Any:
    """Reduce an array: the query sees ``{"tally": t, "value": v}`` and returns the next tally."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    tally = clone(initial)
    for v in target:
        tally = query({"tally": tally, "value": v})
    return tally


# ---------------------------------------------------------------------------------------------
# Sorting, uniqueness, sums


class _SortError(Exception):
    pass


def _natural_less(label: str, left: Any, right: Any, i: int, j: int, source: str = "") -> bool:
    """Benthos's default ordering: the left value's type picks numeric or byte-wise string order.
    ``source`` names the query the values came from (``sort_by``), as Go's ``ErrFrom`` does."""
    if is_number(left):
        return get_number(left) < _side(get_number, "number", right, j, label, source)
    if isinstance(left, (str, bytes, bytearray)):
        return _bytes(get_string(left)) < _bytes(_side(get_string, "string", right, j, label, source))
    raise _SortError(f"{label} element {i}: {ValueTypeError(left, ('number', 'string'), source)}")


def _bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


def _side(conv: Callable[[Any], Any], kind: str, v: Any, j: int, label: str, source: str) -> Any:
    try:
        return conv(v)
    except ExecError:
        raise _SortError(f"{label} element {j}: {ValueTypeError(v, (kind,), source)}") from None


def _sorted_or_error(values: list, less: Callable[[list, int, int], bool]) -> list:
    """Run Go's sort; every error leaves as is, without the target's annotation (Benthos's
    ``sort``, ``sort_by`` and ``sum`` return their errors unwrapped)."""
    try:
        return go_sort_slice(values, less)
    except _SortError as exc:
        raise _final(str(exc)) from None
    except ValueTypeError as exc:
        if exc.source:
            raise
        raise _final(str(exc), exc) from None
    except ExecError as exc:
        if exc.annotated:
            raise
        raise _final(str(exc), exc) from None


@LIBRARY.method("sort", Param("compare", "query", default=None, nullable=True))
def sort(target: Any, compare: Query | None = None) -> list:
    """Sort numbers or strings ascending, or by a ``left``/``right`` "less than" query."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    if compare is None:
        def less(vals: list, i: int, j: int) -> bool:
            return _natural_less("sort", vals[i], vals[j], i, j)

    else:
        def less(vals: list, i: int, j: int) -> bool:
            res = compare({"left": vals[i], "right": vals[j]})
            if not isinstance(res, bool):
                raise _type_error_from("sort argument", res, "bool")
            return res
    return _sorted_or_error(list(target), less)


def _type_error_from(source: str, value: Any, *expected: str) -> ValueTypeError:
    """A type error naming where the value came from (``... got number from sort argument (1)``)."""
    return ValueTypeError(value, expected, source)


@LIBRARY.method("sort_by", Param("query", "query"))
def sort_by(target: Any, query: Query) -> list:
    """Sort by the number or string the query yields for each element."""
    if not isinstance(target, list):
        raise type_error(target, "array")

    source = _query_annotation(query)

    def less(vals: list, i: int, j: int) -> bool:
        return _natural_less("sort_by", query(vals[i]), query(vals[j]), i, j, source)

    return _sorted_or_error(list(target), less)


@LIBRARY.method("unique", Param("emit", "query", default=None, nullable=True))
def unique(target: Any, emit: Query | None = None) -> list:
    """Drop later duplicates; strings compare as strings, numbers as float64 (``1 == 1.0``)."""
    if not isinstance(target, list):
        raise type_error(target, "array")
    seen_str: set[str] = set()
    seen_num: set[float] = set()
    out = []
    for i, v in enumerate(target):
        check = v
        if emit is not None:
            try:
                check = emit(v)
            except ExecError as exc:
                raise _wrap(f"index {i}", exc) from exc
        if isinstance(check, (str, bytes, bytearray)):
            key = check if isinstance(check, str) else bytes(check).decode("utf-8", "surrogateescape")
            fresh = key not in seen_str
            seen_str.add(key)
        elif is_number(check):
            f = float(check)
            fresh = f not in seen_num
            seen_num.add(f)
        else:
            raise ExecError(f"index {i}: {type_error(check, 'string', 'number')}")
        if fresh:
            out.append(v)
    return out


@LIBRARY.method("sum")
def sum_(target: Any) -> Any:
    """Sum of an array of numbers (a float64, as in Benthos); a number is its own sum."""
    if is_number(target):
        return target
    if not isinstance(target, list):
        raise type_error(target, "array")
    total = 0.0
    err: ExecError | None = None
    for i, v in enumerate(target):
        try:
            total += get_number(v)
        except ExecError as exc:
            err = _final(f"index {i}: {exc}", exc)
    if err is not None:
        raise err
    return total


# ---------------------------------------------------------------------------------------------
# JSON Schema (the checks and error texts of xeipuuv/gojsonschema, which Benthos uses)

_TYPE_NAMES = ("array", "boolean", "integer", "number", "null", "object", "string")


class _SchemaError(Exception):
    pass


class _Result:
    """Errors ``(context path, description, property)`` and gojsonschema's match score (used to
    pick which failing ``anyOf``/``oneOf`` branch to report)."""

    __slots__ = ("errors", "score")

    def __init__(self) -> None:
        self.errors: list[tuple[tuple[str, ...], str, str | None]] = []
        self.score = 0

    def add(self, ctx: tuple[str, ...], desc: str, prop: str | None = None) -> None:
        self.errors.append((ctx, desc, prop))
        self.score -= 2

    def merge(self, other: _Result) -> None:
        self.errors.extend(other.errors)
        self.score += other.score


def _schema_json(value: Any) -> str:
    return to_json(_plain_numbers(value), escape_html=True)


def _plain_numbers(v: Any) -> Any:
    """gojsonschema re-encodes values without UseNumber: every number becomes a float64."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [_plain_numbers(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain_numbers(x) for k, x in v.items()}
    return v


def _num_text(x: float) -> str:
    """``big.Float.String()``: ``%.10g``."""
    text = format(x, ".10g")
    if "e" in text:
        mant, exp = text.split("e")
        sign = exp[0]
        digits = exp[1:].lstrip("0")
        text = f"{mant}e{sign}{digits.zfill(2)}"
    return text


def _fractions(x: Any) -> Any:
    if isinstance(x, JsonFloat):
        return Fraction(x.text)
    return Fraction(repr(x)) if isinstance(x, float) else Fraction(x)


class _GoSchema:
    """A parsed schema and the validation walk of gojsonschema ``validateRecursive``."""

    def __init__(self, root: Any) -> None:
        if not isinstance(root, (dict, bool)):
            raise _SchemaError("schema is invalid")
        self.root = root

    def resolve_ref(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise _SchemaError(f"remote references are not supported: {ref}")
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise _SchemaError(f"Object has no key '{part}'")
        return node

    def validate(self, schema: Any, value: Any, ctx: tuple[str, ...]) -> _Result:
        res = _Result()
        self._walk(schema, value, res, ctx)
        return res

    def _walk(self, s: Any, v: Any, res: _Result, ctx: tuple[str, ...]) -> None:
        if isinstance(s, bool):
            if not s:
                res.add(ctx, "False always fails validation")
            return
        if "$ref" in s:
            self._walk(self.resolve_ref(s["$ref"]), v, res, ctx)
            return
        types = s.get("type")
        type_list = [types] if isinstance(types, str) else list(types or [])
        shown = type_list[0] if len(type_list) == 1 else "[" + ",".join(type_list) + "]"
        given = _json_type(v)
        if type_list:
            ok = given in type_list or (given == "integer" and "number" in type_list)
            if not ok:
                res.add(ctx, f"Invalid type. Expected: {shown}, given: {given}")
                return
        self._schema_level(s, v, res, ctx)
        if given in ("integer", "number"):
            self._number(s, v, res, ctx)
        elif given == "array":
            self._array(s, v, res, ctx)
        elif given == "object":
            self._object(s, v, res, ctx)
        self._common(s, v, res, ctx)
        if given == "string":
            self._string(s, v, res, ctx)
        if given == "object":
            for key, sub in (s.get("properties") or {}).items():
                if key in v:
                    self._walk(sub, v[key], res, ctx + (key,))
        res.score += 1

    def _schema_level(self, s: dict, v: Any, res: _Result, ctx: tuple[str, ...]) -> None:
        if s.get("anyOf"):
            best: _Result | None = None
            for sub in s["anyOf"]:
                r = self.validate(sub, v, ctx)
                if not r.errors:
                    break
                if best is None or r.score > best.score:
                    best = r
            else:
                res.add(ctx, "Must validate at least one schema (anyOf)")
                if best is not None:
                    res.merge(best)
        if s.get("oneOf"):
            valid = 0
            best = None
            for sub in s["oneOf"]:
                r = self.validate(sub, v, ctx)
                if not r.errors:
                    valid += 1
                elif valid == 0 and (best is None or r.score > best.score):
                    best = r
            if valid != 1:
                res.add(ctx, "Must validate one and only one schema (oneOf)")
                if valid == 0 and best is not None:
                    res.merge(best)
        if s.get("allOf"):
            valid = 0
            for sub in s["allOf"]:
                r = self.validate(sub, v, ctx)
                if not r.errors:
                    valid += 1
                res.merge(r)
            if valid != len(s["allOf"]):
                res.add(ctx, "Must validate all the schemas (allOf)")
        if "not" in s and not self.validate(s["not"], v, ctx).errors:
            res.add(ctx, "Must not validate the schema (not)")
        deps = s.get("dependencies")
        if isinstance(deps, dict) and isinstance(v, dict):
            for key in v:
                dep = deps.get(key)
                if isinstance(dep, list):
                    for other in dep:
                        if other not in v:
                            res.add(ctx, f"Has a dependency on {other}")
                elif dep is not None:
                    self._walk(dep, v, res, ctx)
        if "if" in s:
            ok_if = not self.validate(s["if"], v, ctx).errors
            branch = "then" if ok_if else "else"
            if branch in s:
                r = self.validate(s[branch], v, ctx)
                if r.errors:
                    res.add(ctx, f'Must validate "{branch}" as "if" was {"valid" if ok_if else "not valid"}')
                    res.merge(r)
        res.score += 1

    def _common(self, s: dict, v: Any, res: _Result, ctx: tuple[str, ...]) -> None:
        if "const" in s:
            allowed = _schema_json(s["const"])
            if _schema_json(v) != allowed:
                res.add(ctx, f"{_field(ctx)} does not match: {allowed}")
        if s.get("enum"):
            allowed_list = [_schema_json(e) for e in s["enum"]]
            if _schema_json(v) not in allowed_list:
                res.add(ctx, f"{_field(ctx)} must be one of the following: {', '.join(allowed_list)}")
        res.score += 1

    def _array(self, s: dict, v: list, res: _Result, ctx: tuple[str, ...]) -> None:
        items = s.get("items")
        if isinstance(items, (dict, bool)):
            for i, e in enumerate(v):
                res.merge(self.validate(items, e, ctx + (str(i),)))
        elif isinstance(items, list) and items:
            for i in range(min(len(items), len(v))):
                res.merge(self.validate(items[i], v[i], ctx + (str(i),)))
            if len(items) < len(v):
                extra = s.get("additionalItems", True)
                if extra is False:
                    res.add(ctx, "No additional items allowed on array")
                elif isinstance(extra, dict):
                    for i in range(len(items), len(v)):
                        res.merge(self.validate(extra, v[i], ctx + (str(i),)))
        if "minItems" in s and len(v) < s["minItems"]:
            res.add(ctx, f"Array must have at least {_int_text(s['minItems'])} items")
        if "maxItems" in s and len(v) > s["maxItems"]:
            res.add(ctx, f"Array must have at most {_int_text(s['maxItems'])} items")
        if s.get("uniqueItems"):
            seen: dict[str, int] = {}
            for j, e in enumerate(v):
                key = _schema_json(e)
                if key in seen:
                    res.add(ctx, f"array items[{seen[key]},{j}] must be unique")
                seen[key] = j
        if "contains" in s:
            best = None
            for i, e in enumerate(v):
                r = self.validate(s["contains"], e, ctx + (str(i),))
                if not r.errors:
                    break
                if best is None or r.score > best.score:
                    best = r
            else:
                res.add(ctx, "At least one of the items must match")
                if best is not None:
                    res.merge(best)
        res.score += 1

    def _object(self, s: dict, v: dict, res: _Result, ctx: tuple[str, ...]) -> None:
        if "minProperties" in s and len(v) < s["minProperties"]:
            res.add(ctx, f"Must have at least {_int_text(s['minProperties'])} properties")
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            res.add(ctx, f"Must have at most {_int_text(s['maxProperties'])} properties")
        for req in s.get("required") or []:
            if req in v:
                res.score += 1
            else:
                res.add(ctx, f"{req} is required", req)
        props = s.get("properties") or {}
        patterns = s.get("patternProperties") or {}
        additional = s.get("additionalProperties", True)
        for key, val in v.items():
            matched = False
            for pat, sub in patterns.items():
                if _go_regex_search(pat, key):
                    matched = True
                    res.merge(self.validate(sub, val, ctx + (key,)))
            if matched:
                res.score += 1
            if key in props or matched:
                continue
            if additional is False:
                res.add(ctx, f"Additional property {key} is not allowed", key)
            elif isinstance(additional, dict):
                res.merge(self.validate(additional, val, ctx + (key,)))
        if "propertyNames" in s:
            for key in v:
                r = self.validate(s["propertyNames"], key, ctx)
                if r.errors:
                    res.add(ctx, f'Property name of "{key}" does not match', key)
                    res.merge(r)
        res.score += 1

    def _string(self, s: dict, v: str, res: _Result, ctx: tuple[str, ...]) -> None:
        if "minLength" in s and len(v) < s["minLength"]:
            res.add(ctx, f"String length must be greater than or equal to {_int_text(s['minLength'])}")
        if "maxLength" in s and len(v) > s["maxLength"]:
            res.add(ctx, f"String length must be less than or equal to {_int_text(s['maxLength'])}")
        if "pattern" in s and not _go_regex_search(s["pattern"], v):
            res.add(ctx, f"Does not match pattern '{s['pattern']}'")
        if "format" in s and not _format_ok(s["format"], v):
            res.add(ctx, f"Does not match format '{s['format']}'")
        res.score += 1

    def _number(self, s: dict, v: Any, res: _Result, ctx: tuple[str, ...]) -> None:
        x = _fractions(v)
        if "multipleOf" in s:
            m = _fractions(s["multipleOf"])
            if m != 0 and (x / m).denominator != 1:
                res.add(ctx, f"Must be a multiple of {_num_text(float(s['multipleOf']))}")
        maximum, minimum = s.get("maximum"), s.get("minimum")
        ex_max, ex_min = s.get("exclusiveMaximum"), s.get("exclusiveMinimum")
        # Draft 4 spells exclusivity as booleans beside maximum/minimum.
        if ex_max is True and maximum is not None:
            ex_max, maximum = maximum, None
        if ex_min is True and minimum is not None:
            ex_min, minimum = minimum, None
        if isinstance(maximum, (int, float)) and not isinstance(maximum, bool) and x > _fractions(maximum):
            res.add(ctx, f"Must be less than or equal to {_num_text(float(maximum))}")
        if isinstance(ex_max, (int, float)) and not isinstance(ex_max, bool) and x >= _fractions(ex_max):
            res.add(ctx, f"Must be less than {_num_text(float(ex_max))}")
        if isinstance(minimum, (int, float)) and not isinstance(minimum, bool) and x < _fractions(minimum):
            res.add(ctx, f"Must be greater than or equal to {_num_text(float(minimum))}")
        if isinstance(ex_min, (int, float)) and not isinstance(ex_min, bool) and x <= _fractions(ex_min):
            res.add(ctx, f"Must be greater than {_num_text(float(ex_min))}")
        if "format" in s and not _format_ok(s["format"], v):
            res.add(ctx, f"Does not match format '{s['format']}'")
        res.score += 1


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return "number"
        return "integer" if float(v).is_integer() else "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "string"


def _int_text(n: Any) -> str:
    return str(int(n)) if isinstance(n, (int, float)) else str(n)


def _field(ctx: tuple[str, ...]) -> str:
    return ".".join(ctx) if ctx else "(root)"


def _go_regex_search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


_KNOWN_FORMATS = frozenset(
    ["date-time", "date", "time", "hostname", "idn-hostname", "email", "idn-email", "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uri-template", "uuid", "regex", "json-pointer", "relative-json-pointer"]
)
_DATE_TIME_LAYOUTS = ("15:04:05", "15:04:05Z07:00", "2006-01-02", "2006-01-02T15:04:05Z07:00",
                      "2006-01-02T15:04:05.999999999Z07:00")
_HOSTNAME = r"([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])(\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]{0,61}[a-zA-Z0-9]))*"


def _format_ok(fmt: str, v: Any) -> bool:
    """gojsonschema's default format checkers; unknown formats pass, known ones fail anything
    that is not a string (Benthos hands numbers to them too)."""
    if fmt not in _KNOWN_FORMATS:
        return True
    if not isinstance(v, str):
        return False

    def parses(*layouts: str) -> bool:
        for layout in layouts:
            try:
                timefmt.parse_layout(layout, v)
                return True
            except timefmt.GoTimeError:
                continue
        return False

    def url_ok(need_scheme: bool) -> bool:
        try:
            parsed = go_url_parse(v)
        except ExecError:
            return False
        return "\\" not in v and (bool(parsed["scheme"]) or not need_scheme)

    if fmt == "date-time":
        return parses(*_DATE_TIME_LAYOUTS)
    if fmt == "date":
        return parses("2006-01-02")
    if fmt == "time":
        return parses("15:04:05Z07:00", "15:04:05")
    if fmt in ("email", "idn-email"):
        return re.fullmatch(r"([^<>@\s]+@[^<>@\s]+)|([^<>]*<[^<>@\s]+@[^<>@\s]+>)", v) is not None
    if fmt in ("ipv4", "ipv6"):
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return False
        if "%" in v:  # Go's ParseIP takes no zone
            return False
        return ("." if fmt == "ipv4" else ":") in v
    if fmt in ("hostname", "idn-hostname"):
        return re.fullmatch(_HOSTNAME, v) is not None and len(v) < 256
    if fmt == "uuid":
        return re.fullmatch(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}", v) is not None
    if fmt == "regex":
        try:
            re.compile(v)
        except re.error:
            return False
        return True
    if fmt in ("uri", "iri"):
        return url_ok(True)
    if fmt in ("uri-reference", "iri-reference", "uri-template"):
        return url_ok(False)
    if fmt == "json-pointer":
        return re.fullmatch(r"(?:/(?:[^~/]|~0|~1)*)*", v) is not None
    return re.fullmatch(r"(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^~/]|~0|~1)*)*)", v) is not None


@functools.lru_cache(maxsize=256)
def _compile_schema(text: str) -> _GoSchema:
    try:
        doc = go_json_decode(text, use_number=True)
    except ValueError as exc:
        raise ExecError(f"failed to parse json schema definition: {exc}") from None
    try:
        return _GoSchema(doc)
    except _SchemaError as exc:
        raise ExecError(f"failed to parse json schema definition: {exc}") from None


def _check_schema(schema: str) -> None:
    _compile_schema(schema)


@LIBRARY.method("json_schema", Param("schema", "string"), check=_check_schema)
def json_schema(target: Any, schema: str) -> Any:
    """The target unchanged when it validates against the schema; otherwise one line per
    violation in gojsonschema's words (``foo invalid type. expected: string, given: integer``)."""
    compiled = _compile_schema(schema)
    try:
        res = compiled.validate(compiled.root, target, ())
    except _SchemaError as exc:
        raise ExecError(str(exc)) from None
    if not res.errors:
        return target
    lines = []
    for ctx, desc, prop in res.errors:
        description = desc.lower()
        if prop is not None:
            lowered = description
            if lowered.startswith(prop.lower()):
                lowered = lowered[len(prop):]
            description = prop + lowered
        lines.append(f"{_field(ctx)} {description}")
    raise ExecError("\n".join(lines))
