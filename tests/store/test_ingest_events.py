"""Event ingest: validation, transactions, idempotency, ACLED layout, on each backend."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from cadence.store.errors import InputFileError, ValidationFailedError
from cadence.store.ingest import event_chunks, ingest_events
from cadence.store.tables import events_table

from .synthetic import acled_rows, native_event_rows, write_csv, write_jsonl


def n_events(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(events_table)).scalar_one())


def ingest(engine: Engine, path: Path, **kw: object) -> object:
    fmt = kw.pop("fmt", "native")
    return ingest_events(
        engine, event_chunks(path, fmt, chunk_rows=int(kw.pop("chunk_rows", 40))), **kw
    )  # type: ignore[arg-type]


def with_three_bad(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    rows[9]["date"] = "17/10/2023"
    rows[49]["latitude"] = "123.5"
    rows[89]["fatalities"] = "-2"
    return rows


def test_bad_rows_reject_the_whole_file_and_keep_stored_rows(
    engine: Engine, tmp_path: Path
) -> None:
    ingest(engine, write_csv(tmp_path / "before.csv", native_event_rows(5, seed=9)))
    path = write_csv(tmp_path / "events.csv", with_three_bad(native_event_rows(100)))
    with pytest.raises(ValidationFailedError) as info:
        ingest(engine, path)
    messages = [str(e) for e in info.value.errors]
    assert messages == [
        "row 10, field `date`: expected a date as YYYY-MM-DD, got '17/10/2023'",
        "row 50, field `latitude`: expected a latitude between -90 and 90, got '123.5'",
        "row 90, field `fatalities`: expected a whole number >= 0, got '-2'",
    ]
    assert info.value.n_errors == 3 and info.value.n_rows == 100
    assert n_events(engine) == 5


def test_skip_invalid_stores_valid_rows_and_writes_rejects(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", with_three_bad(native_event_rows(100)))
    rejects = tmp_path / "rejects.csv"
    summary = ingest(engine, path, skip_invalid=True, rejects_path=rejects)
    assert (summary.inserted, summary.rejected) == (97, 3)  # type: ignore[attr-defined]
    assert n_events(engine) == 97
    rej = pd.read_csv(rejects, dtype=str)
    assert rej["row"].tolist() == ["10", "50", "90"]
    assert "expected a date as YYYY-MM-DD" in rej["errors"].iloc[0]
    assert rej["source_id"].tolist() == ["syn-000009", "syn-000049", "syn-000089"]


def test_same_file_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", native_event_rows(100))
    first = ingest(engine, path)
    with engine.connect() as c:
        before = c.execute(select(events_table).order_by(events_table.c.id)).all()
    second = ingest(engine, path)
    assert (first.inserted, first.unchanged) == (100, 0)  # type: ignore[attr-defined]
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 100)  # type: ignore[attr-defined]
    with engine.connect() as c:
        after = c.execute(select(events_table).order_by(events_table.c.id)).all()
    assert before == after


def test_changed_row_is_updated_and_reported(engine: Engine, tmp_path: Path) -> None:
    rows = native_event_rows(30)
    ingest(engine, write_csv(tmp_path / "a.csv", rows))
    rows[3]["fatalities"] = "7"
    summary = ingest(engine, write_csv(tmp_path / "b.csv", rows))
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 29)  # type: ignore[attr-defined]
    with engine.connect() as c:
        fat = c.execute(
            select(events_table.c.fatalities).where(events_table.c.source_id == "syn-000003")
        ).scalar_one()
    assert fat == 7


def test_extra_columns_are_kept(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write_csv(tmp_path / "e.csv", native_event_rows(10)))
    with engine.connect() as c:
        extras = dict(c.execute(select(events_table.c.source_id, events_table.c.extra)).all())
    assert json.loads(extras["syn-000000"]) == {"analyst_flag": "x"}
    assert extras["syn-000001"] is None


def test_rows_without_source_id_are_keyed_by_content(engine: Engine, tmp_path: Path) -> None:
    rows = native_event_rows(20)
    for r in rows:
        r["source_id"] = ""
    path = write_csv(tmp_path / "e.csv", rows)
    assert ingest(engine, path).inserted == 20  # type: ignore[attr-defined]
    assert ingest(engine, path).unchanged == 20  # type: ignore[attr-defined]
    assert n_events(engine) == 20


def test_conflicting_duplicate_key_in_one_file_is_an_error(engine: Engine, tmp_path: Path) -> None:
    rows = native_event_rows(100)
    rows[70] = dict(rows[5], notes="another text")  # same key as row 6, other content
    with pytest.raises(ValidationFailedError) as info:
        ingest(engine, write_csv(tmp_path / "e.csv", rows), chunk_rows=40)
    assert [e.row for e in info.value.errors] == [71]
    assert "row 6" in str(info.value.errors[0]) or "earlier row" in str(info.value.errors[0])
    # the key's fields and values as the file gives them
    err = info.value.errors[0]
    assert err.field == "source/source_id"
    assert err.got == f"source {rows[5]['source']!r}, source_id {rows[5]['source_id']!r}"
    assert n_events(engine) == 0


def test_missing_required_column_names_it(engine: Engine, tmp_path: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "kind"} for r in native_event_rows(3)]
    with pytest.raises(InputFileError, match="missing required column"):
        ingest(engine, write_csv(tmp_path / "e.csv", rows))


def test_json_lines_input(engine: Engine, tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [dict(r) for r in native_event_rows(12)]
    rows[0]["fatalities"] = 2
    rows[1]["latitude"] = None
    summary = ingest(engine, write_jsonl(tmp_path / "e.jsonl", rows))
    assert summary.inserted == 12  # type: ignore[attr-defined]
    with engine.connect() as c:
        got = c.execute(
            select(events_table.c.fatalities, events_table.c.latitude)
            .where(events_table.c.source_id.in_(["syn-000000", "syn-000001"]))
            .order_by(events_table.c.source_id)
        ).all()
    assert got[0][0] == 2 and got[1][1] is None


@pytest.mark.parametrize("long_dates", [False, True])
def test_acled_file_twice(engine: Engine, tmp_path: Path, long_dates: bool) -> None:
    path = write_csv(tmp_path / "acled.csv", acled_rows(60, long_dates=long_dates))
    first = ingest(engine, path, fmt="acled")
    second = ingest(engine, path, fmt="acled")
    assert first.inserted == 60  # type: ignore[attr-defined]
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 60)  # type: ignore[attr-defined]
    with engine.connect() as c:
        row = c.execute(select(events_table).where(events_table.c.source_id == "SYN0000000")).one()
    assert row.source == "acled" and row.kind == "explosions/remote violence"
    assert row.actor == "Synthetic militia" and row.target == "Synthetic forces"
    extra = json.loads(row.extra)
    assert extra["sub_event_type"] == "Air/drone strike"
    assert extra["source_outlets"] == "Synthetic Wire"


def test_content_keys_are_pinned_across_versions(engine: Engine, tmp_path: Path) -> None:
    """Rows without `source_id` keep the same key whatever the library versions: a change
    here would make re-ingesting an old file duplicate its rows."""
    rows = native_event_rows(2)
    for r in rows:
        r["source_id"] = ""
    ingest(engine, write_csv(tmp_path / "e.csv", rows))
    with engine.connect() as c:
        keys = dict(c.execute(select(events_table.c.notes, events_table.c.source_id)).all())
    assert keys == {
        "synthetic event 0": "h0e59d5584ea9e2d78261",
        "synthetic event 1": "h6fb27a335644eb8f129f",
    }


def test_a_byte_order_mark_does_not_change_the_first_columns_values(
    engine: Engine, tmp_path: Path
) -> None:
    """With a BOM the first column (here ``source_id``) is still read as text, so ``007``
    stays ``007`` and the same rows without the BOM are the same keys, not new ones."""
    text = "source_id,date,kind,source\n007,2024-07-01,attack,t\n0012,2024-07-02,attack,t\n"
    bom, plain = tmp_path / "bom.csv", tmp_path / "plain.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    plain.write_text(text)
    ingest(engine, bom)
    again = ingest(engine, plain)
    assert (again.inserted, again.unchanged) == (0, 2)  # type: ignore[attr-defined]
    with engine.connect() as c:
        ids = sorted(c.execute(select(events_table.c.source_id)).scalars())
    assert ids == ["0012", "007"]


@pytest.mark.parametrize("header", ["date,kind,source,notes,notes", "date,kind,source, kind"])
def test_a_column_named_twice_is_refused_by_name(
    engine: Engine, tmp_path: Path, header: str
) -> None:
    path = tmp_path / "twice.csv"
    path.write_text(header + "\n2024-07-01,attack,t,a,b\n")
    with pytest.raises(InputFileError, match=r"appear more than once"):
        ingest(engine, path)
    assert n_events(engine) == 0


def test_a_key_repeated_chunks_apart_with_other_content_is_refused_even_when_the_first_matched(
    engine: Engine, tmp_path: Path
) -> None:
    """The first occurrence equals what is stored, so writing it leaves no mark; the
    repeat, three chunks later with other content, must still be an error and change
    nothing (before, it went through as an update of the stored row)."""
    rows = native_event_rows(100)
    ingest(engine, write_csv(tmp_path / "a.csv", rows))
    with engine.connect() as c:
        before = sorted(c.execute(select(events_table.c.source_id, events_table.c.notes)).all())
    again = [*rows, dict(rows[5], notes="another text")]  # row 101 repeats row 6's key
    with pytest.raises(ValidationFailedError) as info:
        ingest(engine, write_csv(tmp_path / "b.csv", again), chunk_rows=30)
    (err,) = info.value.errors
    assert err.row == 101 and "(row 6)" in err.expected and err.field == "source/source_id"
    with engine.connect() as c:
        after = sorted(c.execute(select(events_table.c.source_id, events_table.c.notes)).all())
    assert after == before
    # the same content repeated chunks apart is one row, counted unchanged
    same = ingest(engine, write_csv(tmp_path / "c.csv", [*rows, dict(rows[5])]), chunk_rows=30)
    assert (same.inserted, same.updated, same.unchanged) == (0, 0, 101)  # type: ignore[attr-defined]
    assert n_events(engine) == 100


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_bytes_that_are_not_utf8_are_reported_on_their_line(
    engine: Engine, tmp_path: Path, suffix: str
) -> None:
    """Latin-1 text far into a file: the error names its physical line, not the first
    row of a chunk or no row at all."""
    rows = native_event_rows(300)
    good = write_csv(tmp_path / "e.csv", rows) if suffix == "csv" else None
    if good is None:
        good = write_jsonl(tmp_path / "e.jsonl", rows)
    lines = good.read_bytes().split(b"\n")
    target = 251 if suffix == "csv" else 250  # data row 250 (line 251 under a header)
    lines[target - 1] = lines[target - 1].replace(b",", b",\xe9", 1)
    good.write_bytes(b"\n".join(lines))
    with pytest.raises(InputFileError, match=rf"line {target} is not UTF-8 text \(byte 0xe9"):
        ingest(engine, good, chunk_rows=40)
    assert n_events(engine) == 0
