"""API-key authentication with scopes: 401 without a valid key, 403 with the wrong scope.

Keys come in ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Reads are open when
``CADENCE_OPEN_READS`` is true (the default); writes need ``write``, retrains ``admin``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from cadence.service.settings import Settings
from cadence.store.apikeys_repo import ApiKeyInfo, verify_key


def _presented(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def require(scope: str) -> Callable[..., Awaitable[ApiKeyInfo | None]]:
    """A dependency admitting keys that carry ``scope`` (``admin`` implies every scope)."""

    async def check(request: Request) -> ApiKeyInfo | None:
        # reads app state directly (no sub-dependencies): this runs on every dashboard poll
        settings: Settings = request.app.state.settings
        if scope == "read" and settings.open_reads:
            return None  # the open read path costs no thread hop and no query
        key = _presented(request)
        if not key:
            raise HTTPException(
                401,
                "an API key is required (Authorization: Bearer <key>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        info = await run_in_threadpool(verify_key, request.app.state.engine, key)
        if info is None:
            raise HTTPException(
                401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
            )
        if scope not in info.scopes and "admin" not in info.scopes:
            raise HTTPException(403, f"the API key lacks the {scope!r} scope")
        return info

    return check


ReadKey = Depends(require("read"))
WriteKey = Depends(require("write"))
AdminKey = Depends(require("admin"))
