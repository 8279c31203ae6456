"""Request size limit: a body larger than the limit is refused with 413 before it is read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from cadence.service.api.errors import error_body


def install(app: FastAPI, max_body_bytes: int) -> None:
    @app.middleware("http")
    async def limit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            return JSONResponse(
                status_code=413,
                content=error_body(
                    "too_large", f"request body of {length} bytes exceeds {max_body_bytes}"
                ),
            )
        return await call_next(request)
