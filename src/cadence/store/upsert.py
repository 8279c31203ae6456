"""Keyed, idempotent writes of validated chunks.

A chunk is classified against what is stored by natural key and ``content_hash``:
new keys are inserted, changed content is updated (the row as it was is kept as a
version, ``cadence.store.versions``), identical content is left alone.
Everything runs on the caller's connection, inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, and_, bindparam, select, update

from cadence.store.bulk import insert_rows
from cadence.store.errors import RowError
from cadence.store.versions import keep_versions

LOOKUP_BATCH = 5_000
HASH_COLUMN = "content_hash"
NULL_MEMBER = r',?"(?:[^"\\]|\\.)*":null'


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def content_hash(frame: pd.DataFrame) -> np.ndarray:
    """A 16-hex-digit hash per row of every column's value (pandas' fixed-key SipHash;
    validated chunks have fixed dtypes, so the same content always hashes the same)."""
    h = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    return np.char.mod("%016x", h)


def stable_key(frame: pd.DataFrame) -> list[str]:
    """A content-derived identity per row, ``"h" + 20 hex digits`` of SHA-1 over the
    row's canonical text (ISO dates, plain numbers, blanks as empty). Unlike
    ``content_hash`` it depends on no library version: a row without ``source_id`` keeps
    its key across upgrades, so re-ingesting an old file never duplicates it."""
    parts = []
    for c in frame.columns:
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d")
        else:
            text = col.astype("string")
        parts.append(text.fillna("").astype(str).to_numpy(dtype=object))
    rows = ["\x1f".join(values) for values in zip(*parts, strict=True)]
    return ["h" + hashlib.sha1(r.encode("utf-8")).hexdigest()[:20] for r in rows]


def extra_json(chunk: pd.DataFrame, known: Sequence[str]) -> pd.Series | None:
    """The columns of ``chunk`` not in ``known`` as one JSON object (text) per row, blank
    cells left out; None for a row whose extra cells are all blank, and None (no Series)
    when there are no extra columns. Encoded with vectorized calls per chunk."""
    cols = [c for c in chunk.columns if c not in known and not str(c).startswith("_")]
    if not cols:
        return None
    sub = chunk[cols].astype(object)
    text = sub.astype("string")
    blank = (text.isna() | (text == "")).fillna(True).to_numpy(dtype=bool)
    sub = sub.where(~blank, None)
    # records are separated by "\n" only (JSON escapes newlines inside strings; other
    # line separators such as U+0085 may appear raw, so no splitlines())
    lines = sub.to_json(orient="records", lines=True, force_ascii=False).split("\n")[: len(sub)]
    # Drop the null (blank) members with one vectorized regex pass: in valid JSON the text
    # `"...":null` (a quote, colon, null) can only end a key whose value is null, because a
    # quote inside a string is escaped and the pattern cannot end on an escaped quote.
    s = pd.Series(lines, index=chunk.index, dtype="string[pyarrow]")
    s = s.str.replace(NULL_MEMBER, "", regex=True).str.replace(r"^\{,", "{", regex=True)
    return s.astype(object).where(~blank.all(axis=1), None)


def to_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as dicts of plain Python values: naive datetime64 columns become ``date``,
    tz-aware ones ``datetime``; NA becomes None."""
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if isinstance(col.dtype, pd.DatetimeTZDtype):  # timestamps stay timestamps
            out[c] = pd.Series(col.dt.to_pydatetime(), index=out.index, dtype=object)
        elif pd.api.types.is_datetime64_any_dtype(col):  # naive datetimes are dates
            out[c] = pd.Series(col.dt.date, index=out.index, dtype=object)
    obj = out.astype(object)
    return obj.where(out.notna(), None).to_dict("records")


def _as_utc(values: pd.Series) -> pd.Series:
    s = pd.to_datetime(values)
    return s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")


# a key column with at most this many values in a chunk is matched by equality, one
# statement per value combination
FEW_VALUES = 64


def existing_rows(
    conn: Connection, table: Table, keys: pd.DataFrame, key_cols: Sequence[str]
) -> pd.DataFrame:
    """Stored ``key_cols + content_hash + updated_at`` for the keys in ``keys``."""
    cols = [table.c[k] for k in key_cols] + [table.c[HASH_COLUMN], table.c.updated_at]
    # IN over the key column with the most values; one statement per combination of the
    # columns with few values (the source, the series); columns with many values besides
    # (a period's end next to its start) are left to the caller's merge on the whole key,
    # instead of one statement per row
    distinct = {k: int(keys[k].nunique()) for k in key_cols}
    last = max(key_cols, key=lambda k: distinct[k])
    fixed_cols = [k for k in key_cols if k != last and distinct[k] <= FEW_VALUES]
    parts: list[pd.DataFrame] = []
    groups = keys.groupby(fixed_cols, sort=False) if fixed_cols else [((), keys)]
    for fixed, group in groups:
        fixed_vals = fixed if isinstance(fixed, tuple) else (fixed,)
        # one statement with an expanding parameter: compiled once, cached by SQLAlchemy
        conds = [table.c[k] == bindparam(f"f_{k}") for k in fixed_cols]
        stmt = select(*cols).where(
            and_(*conds, table.c[last].in_(bindparam("keys", expanding=True)))
        )
        params = {f"f_{k}": v for k, v in zip(fixed_cols, fixed_vals, strict=True)}
        values = group[last].unique().tolist()
        for i in range(0, len(values), LOOKUP_BATCH):
            rows = conn.execute(stmt, {**params, "keys": values[i : i + LOOKUP_BATCH]}).all()
            if rows:
                parts.append(pd.DataFrame(rows, columns=[*key_cols, HASH_COLUMN, "updated_at"]))
    if not parts:
        return pd.DataFrame(columns=[*key_cols, HASH_COLUMN, "updated_at"])
    return pd.concat(parts, ignore_index=True)


def _repeated(row: pd.Series, key_cols: Sequence[str], first_row: int | None = None) -> RowError:
    """The error of an input row (``_row`` and the key columns) whose key an earlier row
    of the same ingest used with other content (``first_row`` when known)."""
    where = "" if first_row is None else f" (row {first_row})"
    return RowError(
        int(row["_row"]),
        _key_field(key_cols),
        f"a key not used by an earlier row with different content{where}",
        _key_text(key_cols, tuple(row[k] for k in key_cols)),
    )


def _hash64(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


class RunKeys:
    """The keys one ingest run has written so far: a 64-bit hash of each key and of its
    content, and its input row (24 bytes a row, sorted by key hash). A key repeated in a
    later chunk with other content is then refused however far apart the two rows are,
    also when the first one matched what was stored and so left no mark in the table."""

    def __init__(self) -> None:
        self.key = np.empty(0, dtype=np.uint64)
        self.content = np.empty(0, dtype=np.uint64)
        self.row = np.empty(0, dtype=np.int64)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key hash in the run so far, -1 where not seen."""
        if not self.key.size:
            return np.full(keys.size, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.key, keys), self.key.size - 1)
        return np.where(self.key[at] == keys, at, -1)

    def add(self, keys: np.ndarray, content: np.ndarray, rows: np.ndarray) -> None:
        key = np.concatenate([self.key, keys])
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        self.content = np.concatenate([self.content, content])[order]
        self.row = np.concatenate([self.row, rows.astype(np.int64)])[order]


# key columns as the input names them; internal ids (the series' row id) are not shown
_INPUT_NAMES = {"period_start": "date", "period_end": "end", "series_id": None}


def _key_field(key_cols: Sequence[str]) -> str:
    """The input fields that make up a row's key, e.g. ``date/end/source``."""
    names = [_INPUT_NAMES.get(k, k) for k in key_cols]
    return "/".join(n for n in names if n)


def _key_text(key_cols: Sequence[str], key: tuple[object, ...]) -> str:
    """A row's key as the input gave it, e.g. ``date 2024-07-04, end 2024-07-05, source
    'api'`` (dates as days; no internal ids)."""
    parts = []
    for col, value in zip(key_cols, key, strict=True):
        name = _INPUT_NAMES.get(col, col)
        if name is None:
            continue
        if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
            text = pd.Timestamp(value).date().isoformat()
        else:
            text = repr(value)
        parts.append(f"{name} {text}")
    return ", ".join(parts)


def _against_run(
    frame: pd.DataFrame,
    key_cols: Sequence[str],
    seen: RunKeys,
    counts: WriteCounts,
    errors: list[RowError],
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``frame`` without the keys an earlier chunk of the run wrote (same content:
    counted unchanged; other content: a row error appended to ``errors``), and the key
    and content hashes of the rows left."""
    key_h = _hash64(frame[list(key_cols)])
    content_h = _hash64(frame[[HASH_COLUMN]])
    pos = seen.find(key_h)
    hit = pos >= 0
    if not hit.any():
        return frame, key_h, content_h
    differs = hit & (seen.content[np.maximum(pos, 0)] != content_h)
    for i in np.flatnonzero(differs):
        r = frame.iloc[i]
        errors.append(_repeated(r, key_cols, first_row=int(seen.row[pos[i]])))
    counts.unchanged += int((hit & ~differs).sum())
    return frame.loc[~hit], key_h[~hit], content_h[~hit]


def write_chunk(
    conn: Connection,
    table: Table,
    frame: pd.DataFrame,
    key_cols: Sequence[str],
    rows: np.ndarray,
    run_started: dt.datetime,
    seen: RunKeys | None = None,
) -> tuple[WriteCounts, list[RowError]]:
    """Insert new keys, update changed ones. ``frame`` holds the table's columns plus
    ``content_hash``; ``rows`` the input row numbers. A key repeated with different
    content within one ingest run (same chunk or an earlier one: ``seen``, the run's
    keys so far, updated here) is an error; repeated with the same content, unchanged."""
    counts = WriteCounts()
    errors: list[RowError] = []
    frame = frame.assign(_row=rows)
    key_frame = frame[list(key_cols)]
    # repeats inside this chunk
    dup = key_frame.duplicated(keep="first").to_numpy()
    if dup.any():
        firsts = frame.loc[~dup].set_index(list(key_cols))
        for _, r in frame.loc[dup].iterrows():
            key = tuple(r[k] for k in key_cols)
            first = firsts.loc[key if len(key) > 1 else key[0]]
            if first[HASH_COLUMN] != r[HASH_COLUMN]:
                errors.append(_repeated(r, key_cols, first_row=int(first["_row"])))
            else:
                counts.unchanged += 1
        frame = frame.loc[~dup]
    if seen is not None:
        frame, key_h, content_h = _against_run(frame, key_cols, seen, counts, errors)
    stored = existing_rows(conn, table, frame[list(key_cols)], key_cols)
    for k in key_cols:  # stored dates come back as ``date`` objects
        if pd.api.types.is_datetime64_any_dtype(frame[k]):
            stored[k] = pd.to_datetime(stored[k]).astype(frame[k].dtype)
    merged = frame.merge(stored, on=list(key_cols), how="left", suffixes=("", "_stored"))
    is_new = merged[f"{HASH_COLUMN}_stored"].isna().to_numpy()
    same = (merged[HASH_COLUMN] == merged[f"{HASH_COLUMN}_stored"]).to_numpy() & ~is_new
    changed = ~is_new & ~same
    if changed.any():
        this_run = (_as_utc(merged.loc[changed, "updated_at"]) >= run_started).to_numpy()
        if this_run.any():
            for _, r in merged.loc[changed].loc[this_run].iterrows():
                errors.append(_repeated(r, key_cols))
            changed_idx = np.flatnonzero(changed)[~this_run]
            changed = np.zeros(len(merged), dtype=bool)
            changed[changed_idx] = True
    counts.unchanged += int(same.sum())
    if errors:
        return counts, errors
    if seen is not None:
        seen.add(key_h, content_h, frame["_row"].to_numpy())
    data_cols = [c for c in frame.columns if c != "_row"]
    if is_new.any():
        stamps = {"ingested_at": run_started, "updated_at": run_started}
        insert_rows(conn, table, merged.loc[is_new, data_cols], stamps)
        counts.inserted += int(is_new.sum())
    if changed.any():
        # the rows as they stand now become versions: replays before this ingest read them
        keep_versions(conn, table, merged.loc[changed, list(key_cols)], key_cols, run_started)
        upd = merged.loc[changed, data_cols].assign(updated_at=run_started)
        set_cols = [c for c in upd.columns if c not in key_cols]
        stmt = (
            update(table)
            .where(and_(*[table.c[k] == bindparam(f"k_{k}") for k in key_cols]))
            .values({c: bindparam(f"v_{c}") for c in set_cols})
        )
        recs = to_records(
            upd.rename(columns={c: (f"k_{c}" if c in key_cols else f"v_{c}") for c in upd.columns})
        )
        conn.execute(stmt, recs)
        counts.updated += int(changed.sum())
    return counts, errors
