"""Chunked readers for CSV and JSON Lines, and the ACLED export layout.

Every cell is read as text (validation types it), so a value is never silently coerced
on the way in. Chunks keep a running 1-based data-row number.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from cadence import columns as C
from cadence.store.bounds import unsafe_text
from cadence.store.errors import InputFileError
from cadence.store.fields import NESTED_COLUMN

FileFormat = Literal["native", "acled"]
DEFAULT_CHUNK_ROWS: Final = 50_000

# ACLED export columns mapped onto the native event layout; all other ACLED columns
# (event_type, sub_event_type, inter1, iso, ...) are kept in ``extra``.
ACLED_MAP: Final = {
    "event_id_cnty": C.SOURCE_ID,
    "event_date": C.DATE,
    "actor1": C.ACTOR,
    "actor2": C.TARGET,
    "country": C.COUNTRY,
    "admin1": C.ADMIN1,
    "location": C.LOCATION,
    "latitude": C.LATITUDE,
    "longitude": C.LONGITUDE,
    "fatalities": C.FATALITIES,
    "notes": C.NOTES,
}
ACLED_REQUIRED: Final = ("event_id_cnty", "event_date", "event_type")
ACLED_SOURCE: Final = "acled"
ACLED_OUTLETS: Final = "source_outlets"  # ACLED's own ``source`` column (news outlets)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in (".csv", ".jsonl", ".ndjson", ".json"):
        if name.endswith(s) or name.endswith(s + ".gz"):
            return s
    raise InputFileError(
        f"{path}: unknown file type; expected a .csv, .jsonl, .ndjson or .json (JSON Lines) file"
    )


def read_chunks(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Yield chunks of string columns (blank = ""), indexed by their 1-based data-row
    number."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such file")
    suffix = _suffix(p)
    chunks = _csv_chunks(p, chunk_rows) if suffix == ".csv" else _jsonl_chunks(p, chunk_rows)
    empty = True
    for chunk in _numbered(chunks, p):
        empty = empty and chunk.empty
        yield chunk
    if empty:
        raise InputFileError(f"{p}: the file has no data rows; nothing was stored")


def _csv_header(p: Path) -> list[str]:
    with (
        pa.input_stream(str(p), compression="detect") as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh,
    ):
        return next(csv.reader(fh), [])


def _csv_chunks(p: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """CSV text cells in chunks of ``chunk_rows`` rows, parsed by Arrow's streaming reader
    (several times faster than pandas' parser); every column is read as text."""
    header = _csv_header(p)
    if not header:
        return
    _columns_once(p, [h.strip() for h in header])  # before a row is parsed
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(header, pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    read = pacsv.ReadOptions(block_size=8 << 20)
    pending: list[pd.DataFrame] = []
    n_pending = 0
    try:
        with pacsv.open_csv(
            pa.input_stream(str(p), compression="detect"),
            read_options=read,
            convert_options=convert,
        ) as reader:
            for batch in reader:
                pending.append(batch.to_pandas())
                n_pending += batch.num_rows
                while n_pending >= chunk_rows:
                    block = (
                        pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
                    )
                    yield block.iloc[:chunk_rows].reset_index(drop=True)
                    rest = block.iloc[chunk_rows:].reset_index(drop=True)
                    pending, n_pending = [rest], len(rest)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise _not_utf8(p) from exc
        raise InputFileError(f"{p}: cannot be parsed as CSV: {exc}") from exc
    if n_pending:
        yield pd.concat(pending, ignore_index=True)


def _numbered(reader: Iterator[pd.DataFrame], p: Path) -> Iterator[pd.DataFrame]:
    first = 1
    try:
        for chunk in reader:
            chunk.columns = [str(c).strip() for c in chunk.columns]
            _columns_once(p, list(chunk.columns))  # JSON keys " count" and "count"
            chunk.index = pd.RangeIndex(first, first + len(chunk))
            first += len(chunk)
            yield chunk
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(f"{p}: cannot be parsed near data row {first}: {exc}") from exc


def _columns_once(p: Path, names: list[str]) -> None:
    """``InputFileError`` naming the columns that appear more than once in ``names``."""
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputFileError(
            f"{p}: column(s) {', '.join(repr(n) for n in twice)} appear more than once: "
            "expected each column once; nothing was stored"
        )


def _not_utf8(p: Path) -> InputFileError:
    """The error for a file with bytes that are not UTF-8, naming the first such line
    (a physical line of the file: the header is line 1)."""
    with pa.input_stream(str(p), compression="detect") as raw:
        for lineno, line in enumerate(io.BufferedReader(raw), start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return InputFileError(
                    f"{p}: line {lineno} is not UTF-8 text (byte {line[exc.start]:#04x}, the "
                    f"line's byte {exc.start + 1}): expected a UTF-8 file; nothing was stored"
                )
    return InputFileError(f"{p}: expected a UTF-8 file; nothing was stored")


def _jsonl_chunks(p: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    try:
        yield from _jsonl_records(p, chunk_rows)
    except UnicodeDecodeError as exc:
        raise _not_utf8(p) from exc


def _jsonl_records(p: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    buf: list[dict[str, object]] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFileError(f"{p}: line {lineno} is not valid JSON: {exc.msg}") from exc
            except RecursionError:
                raise InputFileError(
                    f"{p}: line {lineno} is nested too deeply to be read as JSON"
                ) from None
            if not isinstance(obj, dict):
                raise InputFileError(f"{p}: line {lineno}: expected a JSON object")
            buf.append(obj)
            if len(buf) >= chunk_rows:
                yield _json_frame(buf)
                buf = []
    if buf:
        yield _json_frame(buf)


def _text(v: object) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else json.dumps(v)


def _nested_keys(record: dict[str, object]) -> str:
    return ",".join(k.strip() for k, v in record.items() if isinstance(v, dict | list | bool))


def _json_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    """JSON values as text: numbers keep their JSON spelling, null and absent keys are
    blank, nested values stay JSON. The keys holding an object, array or boolean are
    listed per row in the hidden ``NESTED_COLUMN`` (validation refuses them in known
    fields). A key that is not valid text (a NUL or an unpaired surrogate) is refused."""
    names = pd.Series(list(dict.fromkeys(k for r in records for k in r)), dtype=object)
    unsafe = unsafe_text(names)
    if unsafe.any():
        raise InputFileError(f"field name {names[unsafe].iloc[0]!r} is not valid text")
    # object columns: a lone surrogate cannot be Arrow text (validation reports it)
    df = pd.DataFrame([{k: _text(v) for k, v in r.items()} for r in records], dtype=object)
    df = df.where(df.notna(), "")
    nested = [_nested_keys(r) for r in records]
    if any(nested):
        df[NESTED_COLUMN] = nested
    return df


def json_rows_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    """JSON objects (e.g. an API batch) as one text chunk numbered from row 1."""
    frame = _json_frame(records)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def require_columns(chunk: pd.DataFrame, required: tuple[str, ...], path: str | Path) -> None:
    missing = [c for c in required if c not in chunk.columns]
    if missing:
        raise InputFileError(
            f"{path}: missing required column(s) {', '.join(missing)}; "
            f"the file has: {', '.join(map(str, chunk.columns))}"
        )


def acled_to_native(chunk: pd.DataFrame, source: str = ACLED_SOURCE) -> pd.DataFrame:
    """Map an ACLED export chunk onto native event columns.

    ``kind`` is ACLED's ``event_type`` lower-cased (``explosions/remote violence``);
    ``event_date`` may be ``YYYY-MM-DD`` or ACLED's older ``17 October 2023``. ACLED's
    ``source`` column (the reporting outlets) is kept in ``extra`` as ``source_outlets``.
    """
    out = chunk.rename(columns={**ACLED_MAP, "source": ACLED_OUTLETS})
    out[C.KIND] = chunk["event_type"].str.strip().str.lower()
    out[C.SOURCE] = source
    dates = out[C.DATE].str.strip()
    iso = pd.to_datetime(dates, format="%Y-%m-%d", errors="coerce")
    long = pd.to_datetime(dates.where(iso.isna()), format="%d %B %Y", errors="coerce")
    recoded = long.dt.strftime("%Y-%m-%d")
    out[C.DATE] = dates.where(iso.notna() | long.isna(), recoded)
    return out
