"""The dashboard at ``/``: one HTML page with its script, stylesheet and icon, shipped as
package data (``static/``) and served from memory. Nothing is fetched from elsewhere.

The page references its assets as ``/assets/NAME?v=DIGEST`` (the first 12 hex digits of
the asset's SHA-256): a request carrying the current digest may be cached for a year
(``immutable``); any other is served with ``no-cache`` and an ``ETag``. The page itself
is ``no-cache`` with an ``ETag`` (``If-None-Match`` gets 304) and a Content-Security-Policy
that only admits this origin. Only the assets listed in ``MEDIA_TYPES`` are served; a
request never names a file path.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fastapi import APIRouter, HTTPException, Request, Response

from cadence.service.api.conditional import etag_matches

router = APIRouter(include_in_schema=False)

JS = "text/javascript; charset=utf-8"
MEDIA_TYPES = {
    "dash-util.js": JS,
    "dash-api.js": JS,
    "dash-charts.js": JS,
    "dash-panels.js": JS,
    "dash-scenario.js": JS,
    "dash-accuracy.js": JS,
    "dashboard.js": JS,
    "dashboard.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PLACEHOLDER = re.compile(r"\{\{asset:([a-z.-]+)\}\}")


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    digest: str  # first 12 hex digits of the SHA-256 of body

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body, media_type, hashlib.sha256(body).hexdigest()[:12])


@cache
def assets() -> dict[str, Asset]:
    """The shipped assets by name, read once from the package."""
    folder = resources.files("cadence.service.api") / "static"
    return {name: _asset((folder / name).read_bytes(), t) for name, t in MEDIA_TYPES.items()}


@cache
def page() -> Asset:
    """``index.html`` with each ``{{asset:NAME}}`` replaced by its versioned URL."""
    shipped = assets()
    text = (resources.files("cadence.service.api") / "static" / "index.html").read_text("utf-8")

    def url(m: re.Match[str]) -> str:
        return f"/assets/{m.group(1)}?v={shipped[m.group(1)].digest}"

    return _asset(_PLACEHOLDER.sub(url, text).encode(), "text/html; charset=utf-8")


def _send(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": cache_control, **SECURITY_HEADERS}
    if etag_matches(request.headers.get("if-none-match"), asset.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=asset.body, media_type=asset.media_type, headers=headers)


@router.get("/")
async def dashboard(request: Request) -> Response:
    """The dashboard page."""
    return _send(request, page(), REVALIDATE)


@router.get("/assets/{name}")
async def asset(name: str, request: Request) -> Response:
    """A script, stylesheet or icon of the page."""
    found = assets().get(name)
    if found is None:
        raise HTTPException(404, f"no asset named {name!r}")
    fresh = request.query_params.get("v") == found.digest
    return _send(request, found, IMMUTABLE if fresh else REVALIDATE)
