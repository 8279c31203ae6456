"""Errors raised by the store.

Tree::

    StoreError                      base of everything the store raises on purpose
    ├── DatabaseUnavailableError    the database cannot be reached or opened
    ├── InputFileError              the input file cannot be read (missing, unknown format,
    │                               missing required columns)
    ├── ValidationFailedError       rows failed validation; nothing was written
    ├── NotFoundError               a named series / forecast / job does not exist
    ├── ConflictError               the write conflicts with stored state (e.g. a job lock)
    └── RemovalRefusedError         an ingest would remove stored rows and was not told to
                                    replace them; nothing was written

Exceptions are plain data: no logging or I/O in ``__init__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    """One problem in one input row. ``row`` is 1-based over data rows (the header, if any,
    is not a row); ``line`` is the physical line number in the file when known."""

    row: int
    field: str
    expected: str
    got: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" + (f" (line {self.line})" if self.line is not None else "")
        return f"{where}, field `{self.field}`: expected {self.expected}, got {self.got}"


class StoreError(Exception):
    """Base class for errors raised by the store."""


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached or opened."""


class InputFileError(StoreError):
    """The input file cannot be read as the requested format."""


class NotFoundError(StoreError):
    """A named object does not exist."""


class ConflictError(StoreError):
    """The write conflicts with stored state."""


class ValidationFailedError(StoreError):
    """Rows failed validation; nothing was written.

    ``errors`` holds at most ``max_listed`` errors (file order); ``n_errors`` counts all
    of them and ``n_rows`` the rows read.
    """

    def __init__(self, errors: Sequence[RowError], n_errors: int, n_rows: int) -> None:
        self.errors = tuple(errors)
        self.n_errors = n_errors
        self.n_rows = n_rows
        more = n_errors - len(self.errors)
        lines = [str(e) for e in self.errors]
        if more > 0:
            lines.append(f"... and {more} more error(s)")
        super().__init__(
            f"{n_errors} invalid value(s) in {n_rows} row(s); nothing was stored:\n"
            + "\n".join(lines)
        )


class RemovalRefusedError(StoreError):
    """An ingest would remove stored rows and was not asked to replace them; nothing was
    written. ``removals`` describes at most the first few, ``n_removals`` counts all."""

    def __init__(self, series: str, source: str, removals: Sequence[str], n_removals: int) -> None:
        self.series, self.source = series, source
        self.removals = tuple(removals)
        self.n_removals = n_removals
        more = n_removals - len(self.removals)
        listed = "; ".join(self.removals) + (f"; ... and {more} more" if more > 0 else "")
        super().__init__(
            f"tallies of source {source!r} for series {series!r} would remove {n_removals} "
            f"stored interval(s) the file no longer implies: {listed}. Nothing was changed; "
            "ingest with --replace to replace the stored tallies of this source"
        )
