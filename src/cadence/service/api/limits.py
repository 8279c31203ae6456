"""Request size limit: a body larger than the limit is refused with 413, whatever its
transfer encoding. A declared ``Content-Length`` over the limit is refused before the body
is read; otherwise the bytes actually received are counted as the route reads them, and
the read that crosses the limit raises a 413 (a chunked upload without a length, or a
length that understates the body). Pure ASGI middleware: it adds no per-request task to
the fast read path.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cadence.service.api.errors import error_body


class BodyTooLargeError(HTTPException):
    """Raised inside ``receive`` once more than the limit has arrived (rendered as 413
    ``too_large`` by the error handlers, or by the middleware if it reaches it)."""

    def __init__(self, received: int, limit: int) -> None:
        super().__init__(413, f"request body of at least {received} bytes exceeds {limit}")


def _declared(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _declared(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, f"request body of {declared} bytes exceeds {limit}")
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(received, limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError as exc:
            if started:
                raise
            await self._refuse(send, str(exc.detail))

    @staticmethod
    async def _refuse(send: Send, message: str) -> None:
        body = json.dumps(error_body("too_large", message)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, max_body_bytes: int) -> None:
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)
