"""Errors as HTTP responses: ``{"error": {"code", "message", "details"}}``.

Only the service turns errors into statuses: 404 unknown object, 409 conflict, 422 bad
input (with row-level details), 503 database unavailable, read-only or out of disk
(codes ``database_unavailable``, ``database_read_only``, ``disk_full``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InternalError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadence.features.errors import FeatureError
from cadence.store.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InputFileError,
    NotFoundError,
    ValidationFailedError,
)
from cadence.store.operational import operational


class ApiError(Exception):
    """An error a route raises with its own status and code (rendered as the error body)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _json(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message, details))


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_r: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(NotFoundError)
    async def not_found(_r: Request, exc: NotFoundError) -> JSONResponse:
        return _json(404, "not_found", str(exc))

    @app.exception_handler(ConflictError)
    async def conflict(_r: Request, exc: ConflictError) -> JSONResponse:
        return _json(409, "conflict", str(exc))

    @app.exception_handler(ValidationFailedError)
    async def invalid_rows(_r: Request, exc: ValidationFailedError) -> JSONResponse:
        rows = [
            {"row": e.row, "field": e.field, "expected": e.expected, "got": e.got}
            for e in exc.errors
        ]
        return _json(
            422,
            "invalid_rows",
            f"{exc.n_errors} invalid value(s) in {exc.n_rows} row(s); nothing was stored",
            {"errors": rows, "n_errors": exc.n_errors},
        )

    @app.exception_handler(InputFileError)
    async def bad_input(_r: Request, exc: InputFileError) -> JSONResponse:
        return _json(422, "bad_input", str(exc))

    @app.exception_handler(FeatureError)
    async def feature_error(_r: Request, exc: FeatureError) -> JSONResponse:
        return _json(422, "bad_input", str(exc))

    @app.exception_handler(DatabaseUnavailableError)
    async def unavailable(_r: Request, exc: DatabaseUnavailableError) -> JSONResponse:
        return _json(503, "database_unavailable", str(exc))

    async def database_failed(_r: Request, exc: Exception) -> JSONResponse:
        found = operational(exc)
        if found is None:
            raise exc  # not operational: a bug, answered as a 500
        return _json(503, found.code, found.message)

    for kind in (OperationalError, InternalError, sqlite3.Error, psycopg.Error, OSError):
        app.add_exception_handler(kind, database_failed)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return _json(422, "invalid_request", "the request does not match the schema", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            422: "invalid_request",
        }.get(exc.status_code, "http_error")
        return _json(exc.status_code, code, str(exc.detail))
