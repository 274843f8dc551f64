"""The messages an HTTP response makes, as Bento's http client reads it: one body, or one per
part of a ``multipart/*`` response (Go's ``mime/multipart`` reader: parts between
``--boundary`` lines, each after its header block, the line break before the next boundary
not part of the body). No I/O."""

from __future__ import annotations

from email.message import Message as MimeHeader


class MultipartError(ValueError):
    """A multipart body that does not follow its boundary."""


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    """``multipart/mixed; boundary=x`` -> (``multipart/mixed``, {``boundary``: ``x``})."""
    header = MimeHeader()
    header["Content-Type"] = content_type
    params = {str(k).lower(): str(v) for k, v in header.get_params(failobj=[])[1:]}
    return header.get_content_type(), params


def bodies(content_type: str, content: bytes) -> list[bytes]:
    """The payloads of a response: its body, or the parts of a multipart body."""
    kind, params = media_type(content_type) if content_type else ("", {})
    if not kind.startswith("multipart/"):
        return [content]
    boundary = params.get("boundary", "")
    if not boundary:
        raise MultipartError("multipart: boundary is empty")
    return split_parts(content, boundary.encode())


def split_parts(content: bytes, boundary: bytes) -> list[bytes]:
    delimiter = b"--" + boundary
    lines = content.split(b"\n")
    parts: list[bytes] = []
    current: list[bytes] | None = None
    for raw in lines:
        line = raw.rstrip(b"\r")
        if line == delimiter or line == delimiter + b"--":
            if current is not None:
                parts.append(_part_body(b"\n".join(current)))
            if line.endswith(b"--") and line != delimiter:
                return parts
            current = []
        elif current is not None:
            current.append(raw)
    raise MultipartError("multipart: NextPart: EOF")


def _part_body(part: bytes) -> bytes:
    """A part without its header block and without the line break before the next boundary."""
    if part.startswith((b"\r\n", b"\n")):
        body = part.split(b"\n", 1)[1]  # no headers: the blank line ends the (empty) block
    else:
        crlf, lf = part.find(b"\r\n\r\n"), part.find(b"\n\n")
        if crlf != -1 and (lf == -1 or crlf < lf):
            body = part[crlf + 4 :]
        elif lf != -1:
            body = part[lf + 2 :]
        else:
            raise MultipartError("multipart: a part has no end to its headers")
    return body[:-1] if body.endswith(b"\r") else body
