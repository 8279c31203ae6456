"""Row filters narrowed in SQL, so a read selects a series' rows, not the whole table.

A filter maps a field to a value or a list of values (the catalog's event filters; the
exact match is ``cadence.features.apply_filter``: ``strip().casefold()`` on both sides).
Here each field that is a text column of the table becomes ``lower(column) IN (...)``,
served by the ``lower(...)`` expression indexes of migration 0006; fields kept in
``extra`` (JSON text) are not narrowed. Filters are combined with OR, the fields of one
filter with AND. The SQL selects a superset of the matching rows (the features apply the
exact filter again): stored text is stripped on ingest, and a value that is not plain
ASCII is not narrowed, because SQLite's ``lower`` folds only ASCII letters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, String, Table, and_, false, func, or_, true

RowFilter = Mapping[str, str | Sequence[str]]

__all__ = ["RowFilter", "filters_clause"]


def _values(wanted: str | Sequence[str]) -> list[str] | None:
    """The lower-cased values of one field, or None when one is not plain ASCII."""
    options = [wanted] if isinstance(wanted, str) else list(wanted)
    folded = sorted({str(o).strip().casefold() for o in options})
    return folded if all(v.isascii() for v in folded) else None


def _filter_clause(t: Table, filt: RowFilter) -> ColumnElement[bool]:
    terms: list[ColumnElement[bool]] = []
    for name, wanted in filt.items():
        col = t.c.get(name)
        if col is None or not isinstance(col.type, String):
            continue  # a key of ``extra``, or not text: the exact filter decides later
        values = _values(wanted)
        if values is not None:
            terms.append(func.lower(col).in_(values))
    return and_(true(), *terms) if terms else true()


def filters_clause(t: Table, filters: Sequence[RowFilter]) -> ColumnElement[bool]:
    """Rows of ``t`` that may match one of ``filters`` (none when ``filters`` is empty)."""
    if not filters:
        return false()
    clauses = [_filter_clause(t, f) for f in filters]
    return or_(*clauses)
