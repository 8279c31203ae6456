"""Errors raised by the statement-stance extractor.

Tree::

    StanceError                     base of everything this subpackage raises on purpose
    ├── StanceLabelError            an analyst label that maps to no stance (also ValueError)
    ├── UnsupportedLanguageError    a language code other than English or Arabic (also ValueError)
    └── StatementFrameError         a statements frame without the ``text`` column (also KeyError)

Exceptions are plain data: no logging or I/O in ``__init__``.
"""

from __future__ import annotations


class StanceError(Exception):
    """Base class for errors raised by the stance extractor."""


class StanceLabelError(StanceError, ValueError):
    """A coded stance label is neither a stance nor a known source label."""


class UnsupportedLanguageError(StanceError, ValueError):
    """The ``language`` given is not one the extractor has cues for. ``rows``: the
    (index label, language given) of every such row of a frame (``resolve_stances``),
    so an ingest can report each one as a row error; ``expected`` says what would do."""

    def __init__(
        self, message: str, rows: tuple[tuple[object, str], ...] = (), expected: str = ""
    ) -> None:
        super().__init__(message)
        self.rows = rows
        self.expected = expected


class StatementFrameError(StanceError, KeyError):
    """A statements frame lacks a column the extractor needs."""

    def __str__(self) -> str:
        # KeyError would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else ""
