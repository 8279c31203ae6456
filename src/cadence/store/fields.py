"""Field layouts of the native input formats and their vectorized validation.

Input arrives as strings (CSV cells or JSON values rendered as text); ``validate`` turns
a chunk into typed columns and a list of ``RowError`` without a Python loop per row.
Row numbers are 1-based over data rows: row N is line N+1 of a CSV with one header line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from cadence import columns as C
from cadence.store.errors import RowError

FieldKind = Literal["str", "date", "time", "count", "lat", "lon", "stance", "float01"]

TIME_RE: Final = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
ACLED_DATE_FORMAT: Final = "%d %B %Y"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: FieldKind = "str"
    required: bool = False
    max_len: int | None = None


EVENT_FIELDS: Final = (
    FieldSpec(C.DATE, "date", required=True),
    FieldSpec(C.TIME, "time"),
    FieldSpec(C.KIND, "str", required=True, max_len=64),
    FieldSpec(C.THEATRE, max_len=64),
    FieldSpec(C.COUNTRY, max_len=128),
    FieldSpec(C.ADMIN1, max_len=256),
    FieldSpec(C.LOCATION, max_len=512),
    FieldSpec(C.LATITUDE, "lat"),
    FieldSpec(C.LONGITUDE, "lon"),
    FieldSpec(C.ACTOR, max_len=512),
    FieldSpec(C.TARGET, max_len=512),
    FieldSpec(C.WEAPON, max_len=256),
    FieldSpec(C.FATALITIES, "count"),
    FieldSpec(C.INJURIES, "count"),
    FieldSpec(C.NOTES),
    FieldSpec(C.SOURCE, required=True, max_len=256),
    FieldSpec(C.SOURCE_ID, max_len=256),
)

STATEMENT_FIELDS: Final = (
    FieldSpec(C.DATE, "date", required=True),
    FieldSpec(C.ACTOR, max_len=512),
    FieldSpec(C.LANGUAGE, max_len=16),
    FieldSpec(C.TEXT, required=True),
    FieldSpec(C.STANCE, "stance"),
    FieldSpec(C.SOURCE, required=True, max_len=256),
    FieldSpec(C.SOURCE_ID, max_len=256),
)

COUNT_FIELDS: Final = (
    FieldSpec(C.SERIES, required=True, max_len=256),
    FieldSpec(C.DATE, "date", required=True),
    FieldSpec(C.END, "date"),
    FieldSpec(C.COUNT, "count", required=True),
    FieldSpec(C.SOURCE, max_len=256),
)

AS_OF_DATE: Final = "as_of_date"
TOTAL: Final = "total"
PERIOD_START: Final = "period_start"
TALLY_FIELDS: Final = (
    FieldSpec(AS_OF_DATE, "date", required=True),
    FieldSpec(TOTAL, "count", required=True),
    FieldSpec(PERIOD_START, "date"),
)


def _show(value: object) -> str:
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text) if text else "an empty value"


def _errors(
    mask: np.ndarray, raw: pd.Series, rows: np.ndarray, field: str, expected: str
) -> list[RowError]:
    idx = np.flatnonzero(mask)
    values = raw.to_numpy()
    return [RowError(int(rows[i]), field, expected, _show(values[i])) for i in idx]


def validate(
    chunk: pd.DataFrame, fields: tuple[FieldSpec, ...], rows: np.ndarray
) -> tuple[pd.DataFrame, list[RowError], np.ndarray]:
    """Validate a chunk of string columns.

    Returns ``(typed, errors, bad)``: ``typed`` has one column per field (None / NaN for
    blanks), ``errors`` every problem found (field order within a row), ``bad`` a boolean
    mask of rows with at least one error. ``rows`` gives each row's 1-based number.
    """
    n = len(chunk)
    out: dict[str, pd.Series] = {}
    errors: list[RowError] = []
    bad = np.zeros(n, dtype=bool)
    for f in fields:
        if f.name in chunk.columns:
            raw = chunk[f.name].astype("string").fillna("").str.strip()
        else:
            raw = pd.Series([""] * n, index=chunk.index, dtype="string")
        blank = (raw == "").to_numpy()
        if f.required:
            errors += _errors(blank, raw, rows, f.name, "a value (required)")
            bad |= blank
        typed, invalid, expected = _convert(f, raw, blank)
        if invalid.any():
            errors += _errors(invalid, raw, rows, f.name, expected)
            bad |= invalid
        out[f.name] = typed
    errors.sort(key=lambda e: e.row)
    return pd.DataFrame(out, index=chunk.index), errors, bad


def _convert(f: FieldSpec, raw: pd.Series, blank: np.ndarray) -> tuple[pd.Series, np.ndarray, str]:
    """Typed values, the mask of invalid non-blank cells, and what was expected."""
    none = np.zeros(len(raw), dtype=bool)
    if f.kind == "str":
        s = raw.where(~blank)
        if f.max_len is not None:
            too_long = (raw.str.len() > f.max_len).fillna(False).to_numpy()
            return s, too_long, f"text of at most {f.max_len} characters"
        return s, none, ""
    if f.kind == "date":
        parsed = pd.to_datetime(raw.where(~blank), format="%Y-%m-%d", errors="coerce")
        invalid = parsed.isna().to_numpy() & ~blank
        return parsed.astype("datetime64[s]"), invalid, "a date as YYYY-MM-DD"
    if f.kind == "time":
        ok = raw.str.match(TIME_RE).fillna(False).to_numpy()
        return raw.where(~blank), ~ok & ~blank, "a time as HH:MM or HH:MM:SS"
    if f.kind in ("count", "lat", "lon", "float01"):
        num = pd.to_numeric(raw.where(~blank), errors="coerce").astype("float64")
        v = num.to_numpy()
        notnum = np.isnan(v) & ~blank
        if f.kind == "count":
            with np.errstate(invalid="ignore"):
                wrong = notnum | (~np.isnan(v) & ((v < 0) | (v != np.floor(v))))
            return pd.Series(v, index=raw.index).astype("Int64"), wrong, "a whole number >= 0"
        lo, hi, what = {
            "lat": (-90.0, 90.0, "a latitude between -90 and 90"),
            "lon": (-180.0, 180.0, "a longitude between -180 and 180"),
            "float01": (0.0, 1.0, "a number between 0 and 1"),
        }[f.kind]
        with np.errstate(invalid="ignore"):
            wrong = notnum | (~np.isnan(v) & ((v < lo) | (v > hi)))
        return num, wrong, what
    if f.kind == "stance":
        low = raw.str.lower()
        ok = low.isin(C.STANCES).to_numpy()
        return (
            low.astype(object).where(~blank, None),
            ~ok & ~blank,
            "one of " + ", ".join(C.STANCES),
        )
    raise AssertionError(f"unknown field kind {f.kind}")
