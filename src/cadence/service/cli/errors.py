"""How errors become exit statuses and messages on stderr."""

from __future__ import annotations

from rich.console import Console

from cadence.features.errors import FeatureError
from cadence.store.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InputFileError,
    NotFoundError,
    RemovalRefusedError,
    StoreError,
    ValidationFailedError,
)
from cadence.store.operational import operational

BAD_INPUT = 2
FAILURE = 1

# soft wrap: an error line is never broken inside a path or a value (logs stay grep-able)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def exit_code_for(exc: BaseException) -> int | None:
    """2 for bad input, 1 for other expected failures, None for bugs (re-raised)."""
    if isinstance(
        exc,
        ValidationFailedError | InputFileError | NotFoundError | FeatureError | RemovalRefusedError,
    ):
        return BAD_INPUT
    if isinstance(exc, DatabaseUnavailableError | ConflictError | StoreError):
        return FAILURE
    if operational(exc) is not None:  # a read-only database, a full disk
        return FAILURE
    return None


def report_error(exc: BaseException) -> None:
    if isinstance(exc, ValidationFailedError):
        _err.print(
            f"[bold red]rejected:[/] {exc.n_errors} invalid value(s) in "
            f"{exc.n_rows} row(s); nothing was stored",
            markup=True,
        )
        for e in exc.errors:
            _err.print(str(e), markup=False)
        more = exc.n_errors - len(exc.errors)
        if more > 0:
            _err.print(f"... and {more} more error(s)", markup=False)
        return
    found = operational(exc)
    _err.print(f"error: {found.message if found else exc}", markup=False)
