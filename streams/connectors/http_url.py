"""What an ``http_client`` input or output accepts as its ``url`` at load."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def url_problems(url: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """``url`` must be an absolute http(s) URL, as Tyk's schema requires of ``http_client.url``
    (a URI), so a typo is refused at load instead of failing every send. A URL with an
    interpolation or a ``$tyk_context`` placeholder is only known per message or request."""
    text = str(url)
    if "${!" in text or "$tyk_context" in text:
        return []
    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a bad port or IPv6 literal
        ok = False
    return [] if ok else [((), f"expected an http:// or https:// URL, got {text!r}")]
