"""Field layouts of the native input formats and their vectorized validation.

Input arrives as strings (CSV cells or JSON values rendered as text); ``validate`` turns
a chunk into typed columns and a list of ``RowError`` without a Python loop per row.
Row numbers are 1-based over data rows: row N is line N+1 of a CSV with one header line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from cadence import columns as C
from cadence.store.bounds import INT32_MAX, UNSAFE_TEXT, DateWindow, unsafe_text
from cadence.store.errors import RowError

Problem = tuple[np.ndarray, str]
FieldKind = Literal["str", "date", "time", "count", "lat", "lon", "stance", "float01"]

TIME_RE: Final = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
# a hidden column of JSON input: per row, the comma-separated keys whose value was an
# object, an array or a boolean (refused for the known fields, kept as JSON in ``extra``)
NESTED_COLUMN: Final = "_nested"
NOT_SCALAR: Final = "a string or a number (not a JSON object, array or boolean)"
ACLED_DATE_FORMAT: Final = "%d %B %Y"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: FieldKind = "str"
    required: bool = False
    max_len: int | None = None
    # an exclusive period end: may fall one day after the last date of the window
    period_end: bool = False


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
    FieldSpec(C.END, "date", period_end=True),
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
    if not len(idx):
        return []
    values = raw.to_numpy()
    return [RowError(int(rows[i]), field, expected, _show(values[i])) for i in idx]


def _nested(chunk: pd.DataFrame) -> pd.Series | None:
    if NESTED_COLUMN not in chunk.columns:
        return None
    return chunk[NESTED_COLUMN].astype(object).fillna("").map(lambda v: f",{v},")


def _raw(chunk: pd.DataFrame, name: str) -> tuple[pd.Series, np.ndarray]:
    """A column as stripped text (blank when absent) and its mask of unsafe cells (blanked
    here, reported by the caller)."""
    if name not in chunk.columns:
        return pd.Series([""] * len(chunk), index=chunk.index, dtype="string"), np.zeros(
            len(chunk), dtype=bool
        )
    col = chunk[name]
    unsafe = unsafe_text(col)
    if unsafe.any():
        col = col.where(~unsafe, "")
    return col.astype("string").fillna("").str.strip(), unsafe


def validate(
    chunk: pd.DataFrame,
    fields: tuple[FieldSpec, ...],
    rows: np.ndarray,
    window: DateWindow | None = None,
) -> tuple[pd.DataFrame, list[RowError], np.ndarray]:
    """Validate a chunk of string columns.

    Returns ``(typed, errors, bad)``: ``typed`` has one column per field (None / NaN for
    blanks), ``errors`` every problem found (field order within a row), ``bad`` a boolean
    mask of rows with at least one error. ``rows`` gives each row's 1-based number. Dates
    must fall in ``window`` (default ``DateWindow.default()``); text in every column,
    extra ones included, must be free of NUL bytes and unpaired surrogates.
    """
    window = window or DateWindow.default()
    n = len(chunk)
    out: dict[str, pd.Series] = {}
    errors: list[RowError] = []
    bad = np.zeros(n, dtype=bool)
    nested = _nested(chunk)
    for f in fields:
        raw, refused = _raw(chunk, f.name)
        errors += _errors(refused, chunk.get(f.name, raw), rows, f.name, UNSAFE_TEXT)
        if nested is not None:
            obj = nested.str.contains(f",{f.name},", regex=False).to_numpy(dtype=bool)
            errors += _errors(obj, raw, rows, f.name, NOT_SCALAR)
            raw = raw.where(~obj, "")
            refused = refused | obj
        bad |= refused
        blank = (raw == "").to_numpy() & ~refused
        if f.required:
            errors += _errors(blank, raw, rows, f.name, "a value (required)")
            bad |= blank
        typed, problems = _convert(f, raw, blank, window)
        for invalid, expected in problems:
            if invalid.any():
                errors += _errors(invalid, raw, rows, f.name, expected)
                bad |= invalid
        out[f.name] = typed
    known = {f.name for f in fields}
    for name in chunk.columns:
        if name not in known and not str(name).startswith("_"):
            unsafe = unsafe_text(chunk[name])
            errors += _errors(unsafe, chunk[name], rows, str(name), UNSAFE_TEXT)
            bad |= unsafe
    errors.sort(key=lambda e: e.row)
    return pd.DataFrame(out, index=chunk.index), errors, bad


def _dates(
    f: FieldSpec, raw: pd.Series, blank: np.ndarray, window: DateWindow
) -> tuple[pd.Series, list[Problem]]:
    parsed = pd.to_datetime(raw.where(~blank), format="%Y-%m-%d", errors="coerce")
    invalid = parsed.isna().to_numpy() & ~blank
    last = window.last + dt.timedelta(days=1) if f.period_end else window.last
    outside = (
        parsed.notna() & ((parsed < pd.Timestamp(window.first)) | (parsed > pd.Timestamp(last)))
    ).to_numpy(dtype=bool)
    problems = [(invalid, "a date as YYYY-MM-DD")]
    if outside.any():
        parsed = parsed.where(~outside)
        problems.append((outside, f"a date from {window.first} to {last} (the ingest window)"))
    return parsed.astype("datetime64[s]"), problems


def _whole(raw: pd.Series, blank: np.ndarray) -> tuple[pd.Series, list[Problem]]:
    """Whole numbers from 0 to ``INT32_MAX`` (what an ``INTEGER`` column holds on every
    backend); fractions, infinities and NaN are not whole numbers."""
    num = pd.to_numeric(raw.where(~blank), errors="coerce").astype("float64")
    v = num.to_numpy()
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(v) & (v >= 0) & (v == np.floor(v))
        too_big = whole & (v > INT32_MAX)
    ok = whole & ~too_big
    return (
        pd.Series(np.where(ok, v, np.nan), index=raw.index).astype("Int64"),
        [
            (~whole & ~blank, "a whole number >= 0"),
            (too_big, f"a whole number at most {INT32_MAX}"),
        ],
    )


def _convert(
    f: FieldSpec, raw: pd.Series, blank: np.ndarray, window: DateWindow
) -> tuple[pd.Series, list[Problem]]:
    """Typed values and the problems found: masks of invalid non-blank cells, each with
    what was expected."""
    if f.kind == "str":
        s = raw.where(~blank)
        if f.max_len is not None:
            too_long = (raw.str.len() > f.max_len).fillna(False).to_numpy()
            return s, [(too_long, f"text of at most {f.max_len} characters")]
        return s, []
    if f.kind == "date":
        return _dates(f, raw, blank, window)
    if f.kind == "time":
        ok = raw.str.match(TIME_RE).fillna(False).to_numpy()
        return raw.where(~blank), [(~ok & ~blank, "a time as HH:MM or HH:MM:SS (00:00 to 23:59)")]
    if f.kind == "count":
        return _whole(raw, blank)
    if f.kind in ("lat", "lon", "float01"):
        num = pd.to_numeric(raw.where(~blank), errors="coerce").astype("float64")
        v = num.to_numpy()
        notnum = np.isnan(v) & ~blank
        lo, hi, what = {
            "lat": (-90.0, 90.0, "a latitude between -90 and 90"),
            "lon": (-180.0, 180.0, "a longitude between -180 and 180"),
            "float01": (0.0, 1.0, "a number between 0 and 1"),
        }[f.kind]
        with np.errstate(invalid="ignore"):
            wrong = notnum | (~np.isnan(v) & ((v < lo) | (v > hi)))
        return num, [(wrong, what)]
    if f.kind == "stance":
        low = raw.str.lower()
        ok = low.isin(C.STANCES).to_numpy()
        return (
            low.astype(object).where(~blank, None),
            [(~ok & ~blank, "one of " + ", ".join(C.STANCES))],
        )
    raise AssertionError(f"unknown field kind {f.kind}")
