"""Bounds on ingested values: the same rows are refused, as row errors, on both backends.

Dates fall in a window, whole numbers fit a 32-bit INTEGER, text has no NUL byte or
unpaired surrogate and fits its column, JSON objects are refused in known fields.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from cadence.store.bounds import DateWindow
from cadence.store.errors import InputFileError, ValidationFailedError
from cadence.store.ingest import (
    event_chunks,
    ingest_counts,
    ingest_events,
    ingest_statements,
    ingest_tallies,
)
from cadence.store.readers import json_rows_frame, read_chunks
from cadence.store.tables import events_table, observations_table, statements_table

from .synthetic import native_event_rows, write_csv, write_jsonl

WINDOW = DateWindow(dt.date(1990, 1, 1), dt.date(2024, 12, 31))
IN_WINDOW = "2024-01-02"


def n_rows(engine: Engine, table: object = events_table) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def event(**cells: object) -> dict[str, object]:
    return {"date": IN_WINDOW, "kind": "attack", "source": "synthetic", "source_id": "e1", **cells}


def errors_of(call: object) -> list[str]:
    with pytest.raises(ValidationFailedError) as info:
        call()  # type: ignore[operator]
    return [str(e) for e in info.value.errors]


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "1989-12-31", "2025-01-01"])
def test_event_dates_outside_the_window_are_row_errors(engine: Engine, date: str) -> None:
    frame = json_rows_frame([event(source_id="ok"), event(date=date)])
    assert errors_of(lambda: ingest_events(engine, [frame], window=WINDOW)) == [
        f"row 2, field `date`: expected a date from 1990-01-01 to 2024-12-31 "
        f"(the ingest window), got '{date}'"
    ]
    assert n_rows(engine) == 0


def test_skip_invalid_stores_the_rows_inside_the_window(engine: Engine, tmp_path: Path) -> None:
    rows = native_event_rows(10)
    rows[3]["date"] = "9999-12-31"
    path = write_csv(tmp_path / "events.csv", rows)
    rejects = tmp_path / "rejects.csv"
    s = ingest_events(
        engine, event_chunks(path), window=WINDOW, skip_invalid=True, rejects_path=rejects
    )
    assert (s.inserted, s.rejected) == (9, 1)
    assert "the ingest window" in pd.read_csv(rejects)["errors"].iloc[0]


def test_statement_dates_are_bounded(engine: Engine) -> None:
    frame = json_rows_frame(
        [{"date": "2030-01-01", "text": "t", "source": "synthetic", "source_id": "s1"}]
    )
    assert errors_of(lambda: ingest_statements(engine, [frame], window=WINDOW)) == [
        "row 1, field `date`: expected a date from 1990-01-01 to 2024-12-31 "
        "(the ingest window), got '2030-01-01'"
    ]
    assert n_rows(engine, statements_table) == 0


def test_count_dates_are_bounded_and_an_end_may_close_the_last_day(engine: Engine) -> None:
    ok = json_rows_frame([{"series": "c", "date": "2024-12-31", "end": "2025-01-01", "count": 1}])
    assert ingest_counts(engine, [ok], frequency="D", window=WINDOW).inserted == 1
    bad = json_rows_frame(
        [
            {"series": "c", "date": "2030-01-01", "count": 1},
            {"series": "c", "date": "2024-12-30", "end": "2025-01-02", "count": 1},
        ]
    )
    assert errors_of(lambda: ingest_counts(engine, [bad], window=WINDOW)) == [
        "row 1, field `date`: expected a date from 1990-01-01 to 2024-12-31 "
        "(the ingest window), got '2030-01-01'",
        "row 2, field `end`: expected a date from 1990-01-01 to 2025-01-01 "
        "(the ingest window), got '2025-01-02'",
    ]
    assert n_rows(engine, observations_table) == 1


@pytest.mark.parametrize("column", ["as_of_date", "period_start"])
def test_tally_dates_are_bounded(engine: Engine, tmp_path: Path, column: str) -> None:
    row = {"as_of_date": "2024-01-10", "total": "5", "period_start": "2024-01-01"}
    row[column] = "1900-01-01"
    path = write_csv(tmp_path / "t.csv", [row])
    errors = errors_of(
        lambda: ingest_tallies(engine, path, series="t", frequency="D", window=WINDOW)
    )
    assert errors == [
        f"row 1, field `{column}`: expected a date from 1990-01-01 to 2024-12-31 "
        "(the ingest window), got '1900-01-01'"
    ]


def test_the_default_window_ends_a_week_after_today(engine: Engine) -> None:
    today = dt.datetime.now(dt.UTC).date()
    near = json_rows_frame([event(date=str(today + dt.timedelta(days=7)))])
    assert ingest_events(engine, [near]).inserted == 1
    far = json_rows_frame([event(date=str(today + dt.timedelta(days=8)), source_id="e2")])
    assert errors_of(lambda: ingest_events(engine, [far]))[0].startswith(
        "row 1, field `date`: expected a date from 1990-01-01 to "
    )


# --- whole numbers ---------------------------------------------------------------------------

TOO_BIG = ["1e20", "2147483648", "99999999999999999999"]
NOT_WHOLE = ["1.5", "inf", "Infinity", "-inf", "NaN", "-1"]


@pytest.mark.parametrize("value", TOO_BIG + NOT_WHOLE)
def test_fatalities_must_be_a_32_bit_whole_number(engine: Engine, value: str) -> None:
    frame = json_rows_frame([event(fatalities=value)])
    expected = "a whole number at most 2147483647" if value in TOO_BIG else "a whole number >= 0"
    assert errors_of(lambda: ingest_events(engine, [frame], window=WINDOW)) == [
        f"row 1, field `fatalities`: expected {expected}, got '{value}'"
    ]


def test_the_largest_32_bit_count_is_stored(engine: Engine) -> None:
    frame = json_rows_frame([{"series": "c", "date": IN_WINDOW, "count": 2147483647}])
    assert ingest_counts(engine, [frame], frequency="D", window=WINDOW).inserted == 1


@pytest.mark.parametrize("value", [1.5, 1e20, 2147483648, 10**20])
def test_counts_from_json_numbers_must_be_whole_32_bit(engine: Engine, value: float) -> None:
    frame = json_rows_frame([{"series": "c", "date": IN_WINDOW, "count": value}])
    errors = errors_of(lambda: ingest_counts(engine, [frame], frequency="D", window=WINDOW))
    assert errors[0].startswith("row 1, field `count`: expected a whole number")


@pytest.mark.parametrize("value", ["1e20", "inf", "2.5"])
def test_tally_totals_must_be_whole_32_bit(engine: Engine, tmp_path: Path, value: str) -> None:
    path = write_csv(tmp_path / "t.csv", [{"as_of_date": IN_WINDOW, "total": value}])
    errors = errors_of(
        lambda: ingest_tallies(engine, path, series="t", frequency="D", window=WINDOW)
    )
    assert errors[0].startswith("row 1, field `total`: expected a whole number")


def test_json_lines_numbers_are_checked(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"date": "2024-01-02", "kind": "a", "source": "s", "injuries": 1e400}\n')
    errors = errors_of(lambda: ingest_events(engine, event_chunks(path), window=WINDOW))
    assert errors == ["row 1, field `injuries`: expected a whole number >= 0, got 'Infinity'"]


# --- text --------------------------------------------------------------------------------------

UNSAFE = "expected text without NUL bytes or unpaired surrogates"


@pytest.mark.parametrize("column", ["kind", "notes", "source_id", "an_extra_column"])
@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"])
def test_nul_bytes_and_lone_surrogates_are_row_errors(
    engine: Engine, column: str, bad: str
) -> None:
    frame = json_rows_frame([event(source_id="ok"), event(**{"source_id": "e2", column: bad})])
    errors = errors_of(lambda: ingest_events(engine, [frame], window=WINDOW))
    assert errors == [f"row 2, field `{column}`: {UNSAFE}, got {bad!r}"]
    assert n_rows(engine) == 0


def test_skip_invalid_stores_around_a_lone_surrogate(engine: Engine, tmp_path: Path) -> None:
    frame = json_rows_frame([event(source_id="ok", x="fine"), event(source_id="e2", x="\ud800")])
    rejects = tmp_path / "rejects.csv"
    s = ingest_events(engine, [frame], window=WINDOW, skip_invalid=True, rejects_path=rejects)
    assert (s.inserted, s.rejected) == (1, 1)
    assert "\\ud800" in rejects.read_text(encoding="utf-8")


def test_a_long_batch_source_is_a_row_error_on_every_backend(engine: Engine) -> None:
    frame = json_rows_frame([{"series": "c", "date": IN_WINDOW, "count": 1}])
    long_source = "s" * 300
    errors = errors_of(
        lambda: ingest_counts(engine, [frame], frequency="D", source=long_source, window=WINDOW)
    )
    assert errors == [
        f"row 1, field `source`: expected text of at most 256 characters, "
        f"got '{long_source[:57]}...'"
    ]
    assert n_rows(engine, observations_table) == 0


def test_a_long_tally_source_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", [{"as_of_date": IN_WINDOW, "total": "3"}])
    errors = errors_of(
        lambda: ingest_tallies(
            engine, path, series="t", frequency="D", source="s" * 300, window=WINDOW
        )
    )
    assert errors[0].startswith("row 1, field `source`: expected text of at most 256")


def test_json_objects_in_known_fields_are_refused(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [
            {"date": IN_WINDOW, "kind": {"a": 1}, "source": "s", "source_id": "1"},
            {"date": IN_WINDOW, "kind": "a", "source": "s", "source_id": "2", "tags": ["x"]},
        ],
    )
    errors = errors_of(lambda: ingest_events(engine, event_chunks(path), window=WINDOW))
    assert errors == [
        "row 1, field `kind`: expected a string or a number (not a JSON object, array or "
        """boolean), got '{"a": 1}'"""
    ]


def test_nested_extra_columns_are_still_kept(engine: Engine, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [{"date": IN_WINDOW, "kind": "a", "source": "s", "source_id": 7, "tags": ["x"]}],
    )
    assert ingest_events(engine, event_chunks(path), window=WINDOW).inserted == 1
    with engine.connect() as c:
        extra = c.execute(select(events_table.c.extra)).scalar_one()
    assert json.loads(extra) == {"tags": '["x"]'}


@pytest.mark.parametrize("time", ["25:99", "24:00", "12:60", "12:00:61"])
def test_impossible_times_are_refused(engine: Engine, time: str) -> None:
    frame = json_rows_frame([event(time=time)])
    errors = errors_of(lambda: ingest_events(engine, [frame], window=WINDOW))
    assert errors == [
        f"row 1, field `time`: expected a time as HH:MM or HH:MM:SS (00:00 to 23:59), got '{time}'"
    ]


# --- files -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["e.csv", "e.jsonl"])
@pytest.mark.parametrize("kind", ["events", "statements", "counts"])
def test_an_empty_file_is_refused(engine: Engine, tmp_path: Path, name: str, kind: str) -> None:
    path = tmp_path / name
    path.write_text("date,kind,source\n" if name.endswith(".csv") else "\n")
    ingest = {
        "events": lambda: ingest_events(engine, event_chunks(path)),
        "statements": lambda: ingest_statements(engine, read_chunks(path)),
        "counts": lambda: ingest_counts(engine, read_chunks(path), frequency="D"),
    }[kind]
    with pytest.raises(InputFileError, match="no data rows"):
        ingest()


def test_deeply_nested_json_lines_are_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(InputFileError, match="line 1 is nested too deeply"):
        list(read_chunks(path))


def test_rejects_are_spreadsheet_safe(engine: Engine, tmp_path: Path) -> None:
    frame = json_rows_frame(
        [
            event(source_id="ok", notes="=1+1"),
            event(source_id="=HYPERLINK(1)", date="bad", notes="+cmd", x="@sum", y="-2", z="\tt"),
        ]
    )
    rejects = tmp_path / "rejects.csv"
    ingest_events(engine, [frame], window=WINDOW, skip_invalid=True, rejects_path=rejects)
    rej = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    cells = rej.iloc[0][["source_id", "notes", "x", "y", "z"]].tolist()
    assert cells == ["'=HYPERLINK(1)", "'+cmd", "'@sum", "'-2", "'\tt"]
    assert rej.iloc[0]["kind"] == "attack"
    with engine.connect() as c:  # stored rows keep their text as given
        assert c.execute(select(events_table.c.notes)).scalar_one() == "=1+1"
