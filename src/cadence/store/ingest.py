"""Validated, transactional, idempotent ingest of events, statements, counts and tallies.

Each ingest runs in one transaction: a file with invalid rows is rejected whole (every
error listed, at most ``MAX_LISTED_ERRORS``) and nothing is stored, unless
``skip_invalid`` is set, in which case valid rows are stored and rejected rows are
written with their reasons to a rejects file. Files stream in chunks, so memory stays
bounded whatever the file size.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, bindparam, delete, select
from sqlalchemy.exc import IntegrityError

from cadence import columns as C
from cadence.store.bounds import DateWindow
from cadence.store.errors import (
    ConflictError,
    InputFileError,
    RemovalRefusedError,
    RowError,
    ValidationFailedError,
)
from cadence.store.fields import (
    AS_OF_DATE,
    COUNT_FIELDS,
    EVENT_FIELDS,
    PERIOD_START,
    STATEMENT_FIELDS,
    TALLY_FIELDS,
    TOTAL,
    FieldSpec,
    validate,
)
from cadence.store.period_align import WEEKDAYS, align_counts, week_start_index
from cadence.store.readers import (
    ACLED_REQUIRED,
    ACLED_SOURCE,
    DEFAULT_CHUNK_ROWS,
    FileFormat,
    acled_to_native,
    read_chunks,
    require_columns,
)
from cadence.store.series_repo import ensure_observed_series
from cadence.store.tables import (
    events_table,
    observations_table,
    series_table,
    statements_table,
    utcnow,
)
from cadence.store.upsert import (
    HASH_COLUMN,
    RunKeys,
    WriteCounts,
    content_hash,
    extra_json,
    stable_key,
    write_chunk,
)

MAX_LISTED_ERRORS = 50
RETRIES = 3
Enricher = Callable[[pd.DataFrame], pd.DataFrame]
# checks the written rows inside the transaction: row errors roll the run back
Finish = Callable[[Connection], list[RowError]]
# raises ValueError when one series' observations (columns start, end, count, every
# source) cannot be built into counts at its frequency (``features.counts`` rules)
ObservationCheck = Callable[[pd.DataFrame, str], None]
Progress = Callable[[int], None]


@dataclass
class IngestSummary:
    """What an ingest did. ``rows`` counts data rows read."""

    kind: str
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    removed: int = 0
    rejects_path: str | None = None
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, c: WriteCounts) -> None:
        self.inserted += c.inserted
        self.updated += c.updated
        self.unchanged += c.unchanged

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _Errors:
    """Collects row errors: the first ``MAX_LISTED_ERRORS`` kept, all counted."""

    def __init__(self) -> None:
        self.listed: list[RowError] = []
        self.count = 0

    def add(self, errs: list[RowError]) -> None:
        self.count += len(errs)
        room = MAX_LISTED_ERRORS - len(self.listed)
        if room > 0:
            self.listed += errs[:room]


class _Rejects:
    """Writes rejected input rows, with their reasons, to a CSV file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.n = 0
        self._header: list[str] | None = None

    def write(self, chunk: pd.DataFrame, bad: np.ndarray, errors: list[RowError]) -> None:
        if not bad.any():
            return
        self.n += int(bad.sum())
        if self.path is None:
            return
        reasons: dict[int, list[str]] = {}
        for e in errors:
            reasons.setdefault(e.row, []).append(str(e))
        rows = chunk.index.to_numpy()[bad]
        shown = [c for c in chunk.columns if not str(c).startswith("_")]
        out = chunk.loc[bad, shown].apply(spreadsheet_safe)
        out.insert(0, "row", rows)
        out["errors"] = spreadsheet_safe(
            pd.Series(["; ".join(reasons.get(int(r), [])) for r in rows], index=out.index)
        )
        first = self._header is None
        if first:
            self._header = list(out.columns)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        out = out.reindex(columns=self._header)
        out.to_csv(
            self.path,
            mode="w" if first else "a",
            header=first,
            index=False,
            quoting=csv.QUOTE_MINIMAL,
            errors="backslashreplace",
        )


FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(col: pd.Series) -> pd.Series:
    """Text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) get a leading apostrophe (OWASP's rule
    against CSV injection); other cells are unchanged."""
    cells = [
        "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
        for v in col.to_numpy(dtype=object)
    ]
    return pd.Series(cells, index=col.index, dtype=object)


OBSERVATION_KEY = ("series_id", "period_start", "period_end", "source")
Writer = Callable[
    [Connection, pd.DataFrame, np.ndarray, dt.datetime, RunKeys],
    tuple[WriteCounts, list[RowError]],
]


def _writer(table: Table, key_cols: tuple[str, ...]) -> Writer:
    """The keyed, idempotent chunk writer of ``table`` (see ``upsert.write_chunk``)."""

    def write(
        conn: Connection, typed: pd.DataFrame, rows: np.ndarray, t0: dt.datetime, seen: RunKeys
    ) -> tuple[WriteCounts, list[RowError]]:
        return write_chunk(conn, table, typed, key_cols, rows, t0, seen)

    return write


def _names(fields: tuple[FieldSpec, ...]) -> list[str]:
    return [f.name for f in fields]


def _run(
    engine: Engine,
    kind: str,
    source_label: str,
    chunks: Iterable[pd.DataFrame],
    prepare: Callable[
        [Connection, pd.DataFrame, _Errors], tuple[pd.DataFrame, np.ndarray, list[RowError]]
    ],
    write: Writer,
    *,
    skip_invalid: bool,
    rejects_path: Path | None,
    progress: Progress | None,
    finish: Finish | None = None,
) -> IngestSummary:
    """The shared loop (``_run_once``), run again when a concurrent ingest committed the
    same new keys first (a unique violation): chunks given as a list or tuple are replayed
    (up to ``RETRIES`` times) and find those rows stored; a stream cannot be replayed, so
    there the collision is a ``ConflictError``."""
    replayable = isinstance(chunks, list | tuple)
    for attempt in range(RETRIES + 1):
        try:
            return _run_once(
                engine,
                kind,
                source_label,
                chunks,
                prepare,
                write,
                skip_invalid=skip_invalid,
                rejects_path=rejects_path,
                progress=progress,
                finish=finish,
            )
        except Exception as exc:
            if not _unique_violation(exc):
                raise
            if not replayable or attempt == RETRIES:
                raise ConflictError(
                    f"{kind} from {source_label or 'the input'}: a concurrent ingest stored "
                    "some of the same rows first; nothing was stored, run it again"
                ) from exc
    raise AssertionError("unreachable")


def _unique_violation(exc: BaseException) -> bool:
    """A unique-key violation, raised through SQLAlchemy or by the driver itself (bulk
    inserts use the driver's cursor): SQLSTATE 23505 on PostgreSQL, SQLite's message."""
    orig = exc.orig if isinstance(exc, IntegrityError) else exc
    if getattr(orig, "sqlstate", None) == "23505":
        return True
    return type(orig).__name__ == "IntegrityError" and "UNIQUE constraint failed" in str(orig)


def _run_once(
    engine: Engine,
    kind: str,
    source_label: str,
    chunks: Iterable[pd.DataFrame],
    prepare: Callable[
        [Connection, pd.DataFrame, _Errors], tuple[pd.DataFrame, np.ndarray, list[RowError]]
    ],
    write: Writer,
    *,
    skip_invalid: bool,
    rejects_path: Path | None,
    progress: Progress | None,
    finish: Finish | None = None,
) -> IngestSummary:
    """Validate each chunk, write the valid rows, commit once at the end (or roll back
    everything when errors were found and ``skip_invalid`` is off). ``finish`` checks
    what was written, inside the transaction, before it commits: row errors it returns
    roll everything back."""
    started = time.perf_counter()
    summary = IngestSummary(kind=kind, source=source_label)
    errs = _Errors()
    rejects = _Rejects(rejects_path if skip_invalid else None)
    run_started = utcnow()
    seen = RunKeys()  # per attempt: a replayed run starts afresh
    with engine.begin() as conn:
        for chunk in chunks:
            summary.rows += len(chunk)
            typed, bad, row_errors = prepare(conn, chunk, errs)
            errs.add(row_errors)
            if skip_invalid:
                rejects.write(chunk, bad, row_errors)
            writable = not errs.count or skip_invalid
            if writable and (~bad).any():
                counts, write_errors = write(
                    conn, typed.loc[~bad], chunk.index.to_numpy()[~bad], run_started, seen
                )
                summary.add(counts)
                if write_errors:
                    errs.add(write_errors)
                    if skip_invalid:
                        # a conflicting duplicate cannot be skipped row by row safely
                        raise ValidationFailedError(errs.listed, errs.count, summary.rows)
            if progress is not None:
                progress(len(chunk))
        if finish is not None and (skip_invalid or not errs.count):
            late = finish(conn)
            if late:  # about what the run wrote as a whole: nothing row by row to skip
                errs.add(late)
                conn.rollback()
                raise ValidationFailedError(errs.listed, errs.count, summary.rows)
        if errs.count and not skip_invalid:
            conn.rollback()
            raise ValidationFailedError(errs.listed, errs.count, summary.rows)
    summary.rejected = rejects.n
    summary.rejects_path = (
        str(rejects_path) if skip_invalid and rejects.n and rejects_path else None
    )
    summary.errors = [str(e) for e in errs.listed]
    summary.seconds = time.perf_counter() - started
    return summary


def _blank_bad(chunk: pd.DataFrame, bad: np.ndarray) -> pd.DataFrame:
    """``chunk`` with every cell of the rejected rows blanked (their text may not even be
    encodable), so extra columns are encoded for the valid rows only."""
    if not bad.any():
        return chunk
    out = chunk.astype(object)
    out.loc[bad] = ""
    return out


def _keyed(typed: pd.DataFrame, chunk: pd.DataFrame, known: list[str]) -> pd.DataFrame:
    """Add ``extra`` and ``content_hash``; fill a missing ``source_id`` from the content."""
    extra = extra_json(chunk, known)
    typed = typed.assign(**{C.EXTRA: extra if extra is not None else None})
    typed[HASH_COLUMN] = content_hash(typed)
    missing = typed[C.SOURCE_ID].isna().to_numpy()
    if missing.any():
        typed.loc[missing, C.SOURCE_ID] = stable_key(typed.loc[missing].drop(columns=HASH_COLUMN))
    return typed


# --- events ------------------------------------------------------------------------------


def event_chunks(
    path: str | Path,
    fmt: FileFormat = "native",
    *,
    source: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Chunks of native-layout event rows read from a file in ``fmt``."""
    for chunk in read_chunks(path, chunk_rows):
        if fmt == "acled":
            require_columns(chunk, ACLED_REQUIRED, path)
            chunk = acled_to_native(chunk, source or ACLED_SOURCE)
        else:
            require_columns(chunk, (C.DATE, C.KIND, C.SOURCE), path)
            if source is not None:
                chunk[C.SOURCE] = source
        yield chunk


def ingest_events(
    engine: Engine,
    chunks: Iterable[pd.DataFrame],
    *,
    source_label: str = "",
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    window: DateWindow | None = None,
) -> IngestSummary:
    """Ingest event rows (native layout, text cells) keyed by ``(source, source_id)``;
    dates must fall in ``window`` (default ``DateWindow.default()``)."""
    known = _names(EVENT_FIELDS)
    table = events_table

    def prepare(
        _c: Connection, chunk: pd.DataFrame, _e: _Errors
    ) -> tuple[pd.DataFrame, np.ndarray, list[RowError]]:
        typed, errors, bad = validate(chunk, EVENT_FIELDS, chunk.index.to_numpy(), window)
        typed[C.KIND] = typed[C.KIND].str.lower()
        return _keyed(typed, _blank_bad(chunk, bad), known), bad, errors

    return _run(
        engine,
        "events",
        source_label,
        chunks,
        prepare,
        _writer(table, (C.SOURCE, C.SOURCE_ID)),
        skip_invalid=skip_invalid,
        rejects_path=rejects_path,
        progress=progress,
    )


# --- statements --------------------------------------------------------------------------


def ingest_statements(
    engine: Engine,
    chunks: Iterable[pd.DataFrame],
    *,
    source_label: str = "",
    enrich: Enricher | None = None,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    window: DateWindow | None = None,
) -> IngestSummary:
    """Ingest statements keyed by ``(source, source_id)``. A stance given in the file is
    the analyst's; ``enrich`` (e.g. the statement-signal extractor) may fill the others and
    add ``stance_source``, ``confidence``, ``extractor_version`` and extra columns. Dates
    must fall in ``window``."""
    known = _names(STATEMENT_FIELDS)
    table = statements_table
    stored_cols = {c.name for c in table.columns}

    def prepare(
        _c: Connection, chunk: pd.DataFrame, _e: _Errors
    ) -> tuple[pd.DataFrame, np.ndarray, list[RowError]]:
        typed, errors, bad = validate(chunk, STATEMENT_FIELDS, chunk.index.to_numpy(), window)
        chunk = _blank_bad(chunk, bad)
        analyst = typed[C.STANCE].notna()
        typed[C.STANCE_SOURCE] = analyst.map({True: C.STANCE_SOURCE_ANALYST, False: None})
        typed[C.CONFIDENCE] = np.where(analyst, 1.0, np.nan)
        typed[C.EXTRACTOR_VERSION] = None
        extra_in = chunk
        if enrich is not None and (~bad).any():
            enriched, refused = _enriched(enrich, typed, bad)
            if refused:
                errors = [*errors, *refused]
                chunk = extra_in = _blank_bad(chunk, bad)
            for col in (C.STANCE, C.STANCE_SOURCE, C.CONFIDENCE, C.EXTRACTOR_VERSION):
                if col in enriched:
                    typed.loc[~bad, col] = enriched[col]
            added = [c for c in enriched.columns if c not in stored_cols and c not in typed]
            if added:
                extra_in = chunk.join(enriched[added].astype("string"), how="left")
        return _keyed(typed, extra_in, known), bad, errors

    return _run(
        engine,
        "statements",
        source_label,
        chunks,
        prepare,
        _writer(table, (C.SOURCE, C.SOURCE_ID)),
        skip_invalid=skip_invalid,
        rejects_path=rejects_path,
        progress=progress,
    )


def _enriched(
    enrich: Enricher, typed: pd.DataFrame, bad: np.ndarray
) -> tuple[pd.DataFrame, list[RowError]]:
    """``enrich`` of the valid rows. When it refuses some rows (an exception with
    ``rows``, (row label, value) pairs, e.g. a language the statement coder cannot read),
    those become row errors of ``C.LANGUAGE``, are marked in ``bad`` (in place) and the
    others are enriched again; any other exception propagates."""
    try:
        return enrich(typed.loc[~bad]), []
    except Exception as exc:
        rows = getattr(exc, "rows", None)
        if not rows:
            raise
        expected = getattr(exc, "expected", "") or "a value the enricher accepts"
        refused = [
            RowError(row=int(cast(int, label)), field=C.LANGUAGE, expected=expected, got=repr(v))
            for label, v in rows
        ]
        positions = typed.index.get_indexer([label for label, _ in rows])
        bad[positions[positions >= 0]] = True
        if not (~bad).any():
            return typed.loc[~bad], refused
        return enrich(typed.loc[~bad]), refused


# --- counts --------------------------------------------------------------------------------


def _week_start_entry(frequency: str, anchor: int | None) -> dict[str, str]:
    """A weekly series created from a file with a week start records it."""
    return {"week_start": WEEKDAYS[anchor]} if frequency == "W" and anchor else {}


def _series_anchor(conn: Connection, name: str) -> int:
    """The week start of series ``name`` from its catalog entry (Monday by default)."""
    definition = conn.execute(
        select(series_table.c.definition).where(series_table.c.name == name)
    ).scalar()
    value = (definition or {}).get("week_start")
    return 0 if value is None else week_start_index(value, f"series {name!r}, week_start")


def _filled(chunk: pd.DataFrame, column: str, value: str | None) -> pd.DataFrame:
    """``chunk`` with blank (or absent) cells of ``column`` set to ``value``."""
    if value is None:
        return chunk
    if column not in chunk.columns:
        return chunk.assign(**{column: value})
    cells = chunk[column].astype(object)
    blank = cells.isna() | (cells.astype(str).str.strip() == "")
    return chunk.assign(**{column: cells.where(~blank, value)})


def ingest_counts(
    engine: Engine,
    chunks: Iterable[pd.DataFrame],
    *,
    series: str | None = None,
    frequency: str | None = None,
    source: str = "counts",
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    week_start: str | None = None,
    window: DateWindow | None = None,
    check: ObservationCheck | None = None,
) -> IngestSummary:
    """Ingest aggregated counts (``series,date,count[,end]``) as observations over
    ``[date, end)``; a weekly or monthly count dated on any day of its period is stored
    on that period (``cadence.store.period_align``; weeks start on ``week_start``, else
    the series' catalog ``week_start``, else Monday). ``series`` fills a missing series
    column and ``source`` a missing source (both validated as row values). An unknown
    series is created as an observed series when ``frequency`` is given, otherwise it
    is a row error. Dates must fall in ``window``. ``check``: every series the file
    writes to is checked once written, with all its sources; a series whose counts can
    no longer be built (overlapping spans that disagree) rolls the ingest back, with a
    row error on the file's first row of that series."""
    table = observations_table
    s_table = series_table
    first_rows: dict[int, tuple[int, str, str]] = {}  # series id -> (row, name, frequency)
    cache: dict[str, tuple[int, str] | None] = {}
    file_anchor = None if week_start is None else week_start_index(week_start, "--week-start")
    anchors: dict[str, int] = {}  # week start of each series (0 = Monday)

    counted_from_events: set[str] = set()

    def lookup(conn: Connection, names: Iterable[str]) -> None:
        for name in names:
            if name in cache:
                continue
            row = conn.execute(
                select(s_table.c.id, s_table.c.frequency, s_table.c.observed).where(
                    s_table.c.name == name
                )
            ).first()
            if row is not None and not row[2]:
                # its counts come from the events its target selects: stored counts
                # would never reach its panel
                counted_from_events.add(name)
                cache[name] = None
                continue
            if frequency is not None:
                extra = _week_start_entry(frequency, file_anchor)
                cache[name] = ensure_observed_series(conn, name, frequency, extra)
            else:
                cache[name] = None if row is None else (int(row[0]), str(row[1]))
            anchors[name] = _series_anchor(conn, name) if file_anchor is None else file_anchor

    def prepare(
        conn: Connection, chunk: pd.DataFrame, _e: _Errors
    ) -> tuple[pd.DataFrame, np.ndarray, list[RowError]]:
        required = (C.DATE, C.COUNT) if series is not None else (C.SERIES, C.DATE, C.COUNT)
        missing = [c for c in required if c not in chunk.columns]
        if missing:  # a renamed header, not a value missing from every row
            raise InputFileError(
                f"missing required column(s) {', '.join(missing)}; the input has: "
                f"{', '.join(map(str, chunk.columns)) or 'no columns'}"
            )
        chunk = _filled(chunk, C.SERIES, series)
        chunk = _filled(chunk, C.SOURCE, source)
        rows = chunk.index.to_numpy()
        typed, errors, bad = validate(chunk, COUNT_FIELDS, rows, window)
        chunk = _blank_bad(chunk, bad)
        names = typed[C.SERIES].fillna("")
        lookup(conn, [n for n in names.unique() if n])
        declared = names.map(lambda n: cache.get(n) is not None).to_numpy(dtype=bool)
        unknown = ~declared & (names != "").to_numpy(dtype=bool)
        for i in np.flatnonzero(unknown):
            name = names.iloc[i]
            errors.append(
                RowError(
                    int(rows[i]),
                    C.SERIES,
                    "a series counted from observations (this one is counted from the "
                    "events its definition selects: ingest those events instead)"
                    if name in counted_from_events
                    else "a declared series (or --frequency to create it)",
                    repr(name),
                )
            )
        bad |= unknown
        known_ids = {n: v for n, v in cache.items() if v is not None}
        ids = names.map(lambda n: known_ids[n][0] if n in known_ids else -1)
        freqs = names.map(lambda n: known_ids[n][1] if n in known_ids else "D")
        start, end, misaligned, align_errors = align_counts(
            typed[C.DATE], typed[C.END], freqs, names.map(lambda n: anchors.get(n, 0)), rows
        )
        errors += align_errors
        bad |= misaligned
        not_after = (end <= start).to_numpy() & ~bad
        for i in np.flatnonzero(not_after):
            errors.append(
                RowError(
                    int(rows[i]),
                    C.END,
                    f"a date after {start.iloc[i].date()}",
                    repr(str(end.iloc[i].date())),
                )
            )
        bad |= not_after
        src = typed[C.SOURCE].fillna(source)
        obs = pd.DataFrame(
            {
                "series_id": ids.astype("int64"),
                "period_start": start,
                "period_end": end,
                "count": typed[C.COUNT],
                "source": src,
            }
        )
        obs[C.EXTRA] = extra_json(chunk, _names(COUNT_FIELDS))
        obs[HASH_COLUMN] = content_hash(obs[["count", C.EXTRA]])
        clash, clash_errors = _other_source_counts(conn, obs, names, rows, bad)
        errors += clash_errors
        bad |= clash
        for i in np.flatnonzero(~bad):
            sid = int(obs["series_id"].iloc[i])
            if sid >= 0 and sid not in first_rows:
                first_rows[sid] = (int(rows[i]), str(names.iloc[i]), str(freqs.iloc[i]))
        errors.sort(key=lambda e: e.row)
        return obs, bad, errors

    def finish(conn: Connection) -> list[RowError]:
        return [] if check is None else _check_series(conn, first_rows, check)

    return _run(
        engine,
        "counts",
        source,
        chunks,
        prepare,
        _writer(table, OBSERVATION_KEY),
        skip_invalid=skip_invalid,
        rejects_path=rejects_path,
        progress=progress,
        finish=finish,
    )


def _check_series(
    conn: Connection,
    first_rows: dict[int, tuple[int, str, str]],
    check: ObservationCheck,
    *,
    field: str = C.COUNT,
) -> list[RowError]:
    """``check`` on all the stored observations of each series written, as the
    transaction sees them; a row error (on ``field``) on the file's first row of each
    series that fails."""
    t = observations_table
    errors: list[RowError] = []
    for sid, (row, name, frequency) in first_rows.items():
        stmt = select(t.c.period_start, t.c.period_end, t.c.count).where(t.c.series_id == sid)
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=["start", "end", "count"])
        try:
            check(frame, frequency)
        except ValueError as exc:
            errors.append(
                RowError(
                    row,
                    field,
                    f"counts that agree with the observations stored for {name!r} from "
                    f"every source ({exc})",
                    "the counts of this file for that series",
                )
            )
    return errors


def _other_source_counts(
    conn: Connection, obs: pd.DataFrame, names: pd.Series, rows: np.ndarray, bad: np.ndarray
) -> tuple[np.ndarray, list[RowError]]:
    """Rows whose period is already stored for the series from another source with
    another count. Sources of one series must agree on a period (the series' counts are
    built from all of them and refuse two counts for one span), so such a row would
    leave the series unbuildable: a row error naming the stored count."""
    clash = np.zeros(len(obs), dtype=bool)
    errors: list[RowError] = []
    ok = ~bad & (obs["series_id"].to_numpy() >= 0)
    if not ok.any():
        return clash, errors
    t = observations_table
    for sid, group in obs.loc[ok].groupby("series_id", sort=False):
        starts = group["period_start"].dt.date.unique().tolist()
        stmt = select(t.c.period_start, t.c.period_end, t.c.source, t.c.count).where(
            t.c.series_id == int(sid), t.c.period_start.in_(bindparam("starts", expanding=True))
        )
        found: list[Any] = []
        for i in range(0, len(starts), 5000):
            found += conn.execute(stmt, {"starts": starts[i : i + 5000]}).all()
        if not found:
            continue
        stored = pd.DataFrame(found, columns=["period_start", "period_end", "source", "stored"])
        for col in ("period_start", "period_end"):
            stored[col] = pd.to_datetime(stored[col]).astype(group[col].dtype)
        both = group.reset_index().merge(stored, on=["period_start", "period_end"])
        both = both[(both["source_x"] != both["source_y"]) & (both["count"] != both["stored"])]
        for _, r in both.iterrows():
            i = int(r["index"])
            clash[obs.index.get_loc(i)] = True
            errors.append(
                RowError(
                    int(rows[obs.index.get_loc(i)]),
                    C.COUNT,
                    f"the count already stored for {names.loc[i]!r} on this period from "
                    f"source {r['source_y']!r} ({r['stored']:g}): sources of one series "
                    "must agree on a period",
                    repr(f"{r['count']:g}"),
                )
            )
    return clash, errors


# --- tallies ---------------------------------------------------------------------------------


def tally_intervals(typed: pd.DataFrame, rows: np.ndarray) -> tuple[pd.DataFrame, list[RowError]]:
    """Cumulative totals as of dates -> interval counts.

    Sorted by date, interval i covers ``[as_of[i-1] + 1 day, as_of[i] + 1 day)`` with
    ``total[i] - total[i-1]`` events; the first tally opens an interval only when its
    ``period_start`` (the day counting began) is given. Totals must not decrease.
    """
    df = typed.assign(_row=rows).sort_values([AS_OF_DATE, "_row"], kind="stable")
    errors: list[RowError] = []
    same_day = df.duplicated(AS_OF_DATE, keep=False)
    if same_day.any():
        for _, grp in df[same_day].groupby(AS_OF_DATE):
            if grp[TOTAL].nunique() > 1:
                first = grp.iloc[0]
                for _, r in grp.iloc[1:].iterrows():
                    errors.append(
                        RowError(
                            int(r["_row"]),
                            TOTAL,
                            f"the same total as row {int(first['_row'])} "
                            f"for {first[AS_OF_DATE].date()} ({first[TOTAL]})",
                            repr(str(r[TOTAL])),
                        )
                    )
        df = df.drop_duplicates(AS_OF_DATE, keep="first")
    totals = df[TOTAL].astype("int64").to_numpy()
    prev_rows = df["_row"].to_numpy()
    for i in np.flatnonzero(np.diff(totals) < 0) + 1:
        errors.append(
            RowError(
                int(prev_rows[i]),
                TOTAL,
                f"a total >= {totals[i - 1]} (the tally of row {int(prev_rows[i - 1])}, "
                "totals are cumulative)",
                repr(str(totals[i])),
            )
        )
    ends = df[AS_OF_DATE] + pd.Timedelta(days=1)
    starts = ends.shift(1)
    counts = pd.Series(np.r_[totals[:1], np.diff(totals)], index=df.index)
    first_start = df[PERIOD_START].iloc[0] if len(df) else pd.NaT
    if len(df) and pd.notna(first_start):
        if first_start > df[AS_OF_DATE].iloc[0]:  # the interval would be empty or reversed
            errors.append(
                RowError(
                    int(prev_rows[0]),
                    PERIOD_START,
                    f"a date on or before the first tally's {AS_OF_DATE} "
                    f"({df[AS_OF_DATE].iloc[0]:%Y-%m-%d}): counting began before it",
                    repr(f"{first_start:%Y-%m-%d}"),
                )
            )
        starts.iloc[0] = first_start
    out = pd.DataFrame(
        {"period_start": starts, "period_end": ends, "count": counts, "_row": df["_row"]}
    )
    return out.dropna(subset=["period_start"]), errors


TALLY_LABELS: Final = (
    FieldSpec(C.SERIES, required=True, max_len=256),
    FieldSpec(C.SOURCE, required=True, max_len=256),
)
MAX_LISTED_REMOVALS = 20


def ingest_tallies(
    engine: Engine,
    path: str | Path,
    *,
    series: str,
    frequency: str | None = None,
    source: str | None = None,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    replace: bool = False,
    window: DateWindow | None = None,
    check: ObservationCheck | None = None,
) -> IngestSummary:
    """Ingest cumulative tallies (``as_of_date,total[,period_start]``) as interval
    observations of ``series``. The tallies of one ``source`` are a snapshot: inserting a
    tally between two others splits their interval (the parts replace it, same total)
    instead of double counting. Any other stored interval of that source the file no
    longer implies is removed only when ``replace`` is set (reported as ``removed``);
    otherwise the ingest is refused (``RemovalRefusedError``, naming them) and nothing
    changes. An empty file is refused. Dates must fall in ``window``. ``check``: the
    series is checked once written, with all its sources, as ``ingest_counts`` does; a
    contradiction rolls the ingest back with a row error on the first tally."""
    started = time.perf_counter()
    src = source or Path(path).stem
    frame = pd.concat(list(read_chunks(path)))
    rows = frame.index.to_numpy()
    require_columns(frame, (AS_OF_DATE, TOTAL), path)
    labelled = frame.assign(**{C.SERIES: series, C.SOURCE: src})
    typed, errors, bad = validate(labelled, TALLY_FIELDS + TALLY_LABELS, rows, window)
    summary = IngestSummary(kind="tallies", source=src, rows=len(frame))
    if errors and not skip_invalid:
        raise ValidationFailedError(errors[:MAX_LISTED_ERRORS], len(errors), len(frame))
    intervals, order_errors = tally_intervals(typed.loc[~bad], rows[~bad])
    if order_errors:
        raise ValidationFailedError(order_errors[:MAX_LISTED_ERRORS], len(order_errors), len(frame))
    if skip_invalid:
        rej = _Rejects(rejects_path)
        rej.write(frame, bad, errors)
        summary.rejected = rej.n
        summary.rejects_path = str(rejects_path) if rej.n and rejects_path else None
    try:
        with engine.begin() as conn:
            sid, freq = _tally_series(conn, series, frequency)
            counts, summary.removed = _store_intervals(
                conn, series, sid, src, intervals, len(frame), replace=replace
            )
            if check is not None and len(intervals):
                first = (int(intervals["_row"].min()), series, freq)
                late = _check_series(conn, {sid: first}, check, field=TOTAL)
                if late:
                    conn.rollback()
                    raise ValidationFailedError(late, len(late), len(frame))
    except Exception as exc:
        if not _unique_violation(exc):
            raise
        raise ConflictError(
            f"tallies of {series!r}: a concurrent ingest stored some of the same intervals "
            "first; nothing was stored, run it again"
        ) from exc
    summary.add(counts)
    summary.seconds = time.perf_counter() - started
    return summary


def _store_intervals(
    conn: Connection,
    series: str,
    sid: int,
    src: str,
    intervals: pd.DataFrame,
    n_rows: int,
    *,
    replace: bool,
) -> tuple[WriteCounts, int]:
    """Write the tally intervals of ``(series, src)`` and remove the stale ones (see
    ``_remove_stale``); the write counts and the number removed."""
    obs = intervals.drop(columns="_row").assign(series_id=sid, source=src, extra=None)
    obs[HASH_COLUMN] = content_hash(obs[["count"]])
    rows = intervals["_row"].to_numpy()
    counts, werrs = write_chunk(conn, observations_table, obs, OBSERVATION_KEY, rows, utcnow())
    if werrs:
        raise ValidationFailedError(werrs, len(werrs), n_rows)
    return counts, _remove_stale(conn, series, sid, src, obs, replace=replace)


def _tally_series(conn: Connection, series: str, frequency: str | None) -> tuple[int, str]:
    """``(id, frequency)`` of the tallied series, created when missing and ``frequency``
    is given."""
    t = series_table
    row = conn.execute(select(t.c.id, t.c.frequency).where(t.c.name == series)).first()
    if row is not None:
        return int(row[0]), str(row[1])
    if frequency is None:
        raise ConflictError(f"no series named {series!r}; declare it or pass --frequency")
    return ensure_observed_series(conn, series, frequency)


def _refined(start: dt.date, end: dt.date, count: int, obs: pd.DataFrame) -> bool:
    """True when the new intervals inside ``[start, end)`` tile it exactly with the same
    total: a tally inserted between two others, not a loss."""
    starts = obs["period_start"].dt.date
    ends = obs["period_end"].dt.date
    inner = ((starts >= start) & (ends <= end)).to_numpy(dtype=bool)
    if not inner.any():
        return False
    days = int((obs["period_end"] - obs["period_start"])[inner].dt.days.sum())
    return days == (end - start).days and int(obs["count"][inner].sum()) == count


def _remove_stale(
    conn: Connection, series: str, sid: int, src: str, obs: pd.DataFrame, *, replace: bool
) -> int:
    """Delete the stored intervals of ``(sid, src)`` that ``obs`` no longer holds; without
    ``replace`` only those split by new tallies, others refuse the ingest."""
    table = observations_table
    keep = {
        (a.date(), b.date()) for a, b in zip(obs["period_start"], obs["period_end"], strict=True)
    }
    stored = conn.execute(
        select(table.c.id, table.c.period_start, table.c.period_end, table.c.count.label("n"))
        .where(table.c.series_id == sid, table.c.source == src)
        .order_by(table.c.period_start)
    ).all()
    stale = [r for r in stored if (r.period_start, r.period_end) not in keep]
    lost = [r for r in stale if not _refined(r.period_start, r.period_end, r.n, obs)]
    if lost and not replace:
        shown = [f"[{r.period_start}, {r.period_end}) count {r.n}" for r in lost]
        raise RemovalRefusedError(series, src, shown[:MAX_LISTED_REMOVALS], len(lost))
    if stale:
        conn.execute(delete(table).where(table.c.id.in_([r.id for r in stale])))
    return len(stale)
