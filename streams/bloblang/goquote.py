"""Go's ``strconv.Quote`` and ``quoteChar``: how Go's error texts quote their input.

A leaf module: JSON errors (``values``), strconv errors, time parsing errors (``timefmt``) and
fmt verbs (``gofmt``) all quote this way, and none of them may depend on another for it.
"""

from __future__ import annotations


def go_quote_char(ch: str) -> str:
    """Go's ``quoteChar``: the offending byte (the first byte of a non-ASCII character)."""
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    b = ch.encode("utf-8", "surrogateescape")[0]
    c = chr(b)
    if c == "\\":
        return "'\\\\'"
    if c.isprintable():
        return f"'{c}'"
    if b < 0x80:
        esc = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
        return "'" + esc.get(b, f"\\x{b:02x}") + "'"
    return f"'\\u{b:04x}'"


_QUOTE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(s: str) -> str:
    """Go's ``strconv.Quote``: printable characters as they are, others escaped (``\\x01``,
    ``\\u2028``, ``\\U0001f600`` when not printable); invalid UTF-8 (surrogate escapes) as
    ``\\xNN``. Strconv errors quote their input this way: ``strconv.ParseFloat: parsing "x":
    invalid syntax``."""
    out = ['"']
    for ch in s:
        esc = _QUOTE_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\\ufffd")
        elif ch == " " or (ch.isprintable() and o != 0xAD):
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)
