"""Request size limit: a body larger than the limit is refused with 413 before it is read
(pure ASGI middleware: it adds no per-request task to the fast read path)."""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from cadence.service.api.errors import error_body


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit():
                    if int(value) > self.max_body_bytes:
                        body = json.dumps(
                            error_body(
                                "too_large",
                                f"request body of {int(value)} bytes exceeds {self.max_body_bytes}",
                            )
                        ).encode()
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 413,
                                "headers": [
                                    (b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": body})
                        return
                    break
        await self.app(scope, receive, send)


def install(app: FastAPI, max_body_bytes: int) -> None:
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)
