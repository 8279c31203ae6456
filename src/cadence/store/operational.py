"""Operational database failures named for the operator: a read-only database, a full
disk, an unreachable server. The service answers them with 503 and a code, the command
line with one line and exit status 1, instead of a traceback.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InternalError, OperationalError

__all__ = ["Operational", "operational"]

_READ_ONLY = ("readonly database", "read-only", "read only", "readonly")
_FULL = ("database or disk is full", "no space left", "disk full", "disk quota")
_PG_READ_ONLY = "25006"  # read_only_sql_transaction
_PG_DISK_FULL = "53100"


@dataclass(frozen=True)
class Operational:
    """What went wrong (``code``: database_read_only, disk_full, database_unavailable)
    and a one-line message naming the database."""

    code: str
    message: str


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _sqlstate(exc: BaseException) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(state) if state else None


def _is_database_error(exc: BaseException) -> bool:
    """SQLAlchemy's wrapped errors, or a driver's own (PEP 249 names) raised by a raw
    cursor (bulk writes use one)."""
    if isinstance(exc, OperationalError | InternalError):
        return True
    return any(c.__name__ in ("OperationalError", "InternalError") for c in type(exc).__mro__)


def _is_operational(exc: BaseException) -> bool:
    return any(c.__name__ == "OperationalError" for c in type(exc).__mro__)


def operational(exc: BaseException, where: str = "") -> Operational | None:
    """The operational failure ``exc`` is, or None when it is something else (a bug, a
    constraint violation). ``where`` names the database in the message."""
    at = f" ({where})" if where else ""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Operational("disk_full", f"the disk is full{at}: {exc.strerror}")
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return Operational("database_read_only", f"the file system is read-only{at}")
    if not _is_database_error(exc):
        return None
    text = _first_line(exc)
    state = _sqlstate(exc)
    low = text.lower()
    if state == _PG_READ_ONLY or any(k in low for k in _READ_ONLY):
        return Operational("database_read_only", f"the database is read-only{at}: {text}")
    if state == _PG_DISK_FULL or any(k in low for k in _FULL):
        return Operational("disk_full", f"the database's disk is full{at}: {text}")
    if _is_operational(exc):
        return Operational("database_unavailable", f"the database is unavailable{at}: {text}")
    return None
