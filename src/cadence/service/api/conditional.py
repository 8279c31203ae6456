"""Conditional reads: whether a client's cached copy is still current."""

from __future__ import annotations

__all__ = ["etag_matches"]


def etag_matches(header: str | bytes | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value matches ``etag`` by the weak comparison
    RFC 9110 (13.1.2) prescribes for it: ``*``, or any tag of the comma-separated list
    whose opaque part equals ``etag``'s, with or without ``W/`` on either side (a proxy
    that compresses the body turns ``"abc"`` into ``W/"abc"``)."""
    if not header:
        return False
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    want = etag.removeprefix("W/")
    for part in text.split(","):
        tag = part.strip()
        if tag == "*" or tag.removeprefix("W/") == want:
            return True
    return False
