"""The deprecated ``codec`` string (Bento ``internal/codec/reader.go``) as the scanner config that
reads the same way, so one set of splitters serves both.

A codec is a ``/``-separated chain: ``gzip``, ``pgzip`` and ``skipbom`` wrap what follows
(``gzip/csv``); the last part is ``lines``, ``delim:<text>``, ``regex:<pattern>``,
``chunker:<bytes>``, ``all-bytes``, ``csv``, ``csv:<delimiter>`` (first row a header) or ``tar``.
``max_buffer`` bounds a line or segment as it did. Bento's ``csv-safe``, ``multipart``, ``auto``
and ``avro-ocf`` codecs are not taken; their scanners (``csv`` with ``continue_on_error``,
``switch``) cover the first and third.
"""

from __future__ import annotations

from typing import Any

WRAPPERS = {
    "gzip": lambda into: {"decompress": {"algorithm": "gzip", "into": into}},
    "pgzip": lambda into: {"decompress": {"algorithm": "pgzip", "into": into}},
    "skipbom": lambda into: {"skip_bom": {"into": into}},
}


def scanner_of_codec(codec: str, max_buffer: int) -> dict[str, Any]:
    """The scanner config of ``codec``; raises ``ValueError`` naming the part not taken."""
    *wrappers, last = codec.split("/") if not _single(codec) else [codec]
    conf = _final(last, max_buffer)
    for name in reversed(wrappers):
        wrap = WRAPPERS.get(name)
        if wrap is None:
            raise ValueError(f"unable to follow codec {name!r} with {last!r} (only gzip, pgzip and skipbom wrap)")
        conf = wrap(conf)
    return conf


def _single(codec: str) -> bool:
    """A delimiter or pattern may itself hold ``/``: those codecs are never split."""
    return codec.startswith(("delim:", "regex:"))


def _final(codec: str, max_buffer: int) -> dict[str, Any]:
    name, sep, arg = codec.partition(":")
    if codec == "lines":
        return {"lines": {"max_buffer_size": max_buffer}}
    if codec == "all-bytes":
        return {"to_the_end": {}}
    if codec == "tar":
        return {"tar": {}}
    if codec == "csv" or (name == "csv" and len(arg) == 1):
        return {"csv": {"custom_delimiter": arg or ",", "parse_header_row": True}}
    if name == "delim" and arg:
        return {"lines": {"custom_delimiter": arg, "max_buffer_size": max_buffer}}
    if name == "regex" and arg:
        return {"re_match": {"pattern": arg, "max_buffer_size": max_buffer}}
    if name == "chunker" and arg.isdigit():
        return {"chunker": {"size": int(arg)}}
    raise ValueError(
        f"{codec!r} is not supported (use lines, delim:<text>, regex:<pattern>, chunker:<bytes>, all-bytes, "
        "csv, csv:<delimiter> or tar, optionally after gzip/, pgzip/ or skipbom/; or a scanner)"
    )
