"""Tallies never remove stored intervals silently: only with ``replace`` (``--replace``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cadence.store.errors import InputFileError, RemovalRefusedError
from cadence.store.ingest import ingest_tallies
from cadence.store.reads import observations_frame
from cadence.store.tables import series_table

from .synthetic import write_csv

HISTORY = [
    ("2023-10-24", "13", "2023-10-17"),
    ("2023-10-31", "27", ""),
    ("2023-11-14", "55", ""),
]


def tallies_file(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    return write_csv(path, [{"as_of_date": a, "total": t, "period_start": p} for a, t, p in rows])


def stored(engine: Engine, series: str = "t") -> list[list[object]]:
    obs = observations_frame(engine, series)
    return obs[["start", "end", "count"]].astype(str).values.tolist()


@pytest.fixture
def history(engine: Engine, tmp_path: Path) -> list[list[object]]:
    path = tallies_file(tmp_path / "history.csv", HISTORY)
    ingest_tallies(engine, path, series="t", frequency="D", source="dod")
    return stored(engine)


def test_a_one_row_snapshot_is_refused_naming_what_it_would_remove(
    engine: Engine, tmp_path: Path, history: list[list[object]]
) -> None:
    path = tallies_file(tmp_path / "one.csv", [("2023-12-01", "70", "")])
    with pytest.raises(RemovalRefusedError) as info:
        ingest_tallies(engine, path, series="t", source="dod")
    assert info.value.n_removals == 3
    assert "[2023-10-17, 2023-10-25) count 13" in str(info.value)
    assert "[2023-11-01, 2023-11-15) count 28" in str(info.value)
    assert "--replace" in str(info.value)
    assert stored(engine) == history  # nothing changed, the new interval not added either


def test_replace_removes_the_intervals_the_file_no_longer_implies(
    engine: Engine, tmp_path: Path, history: list[list[object]]
) -> None:
    path = tallies_file(tmp_path / "one.csv", [("2023-12-01", "70", "2023-11-15")])
    s = ingest_tallies(engine, path, series="t", source="dod", replace=True)
    assert (s.inserted, s.removed) == (1, 3)
    assert stored(engine) == [["2023-11-15", "2023-12-02", "70"]]


def test_a_changed_total_that_drops_an_interval_is_refused(
    engine: Engine, tmp_path: Path, history: list[list[object]]
) -> None:
    # dropping the middle tally merges two intervals: the stored ones would be removed
    path = tallies_file(tmp_path / "merged.csv", [HISTORY[0], HISTORY[2]])
    with pytest.raises(RemovalRefusedError, match="count 14"):
        ingest_tallies(engine, path, series="t", source="dod")
    assert stored(engine) == history


def test_appending_a_tally_needs_no_replace(
    engine: Engine, tmp_path: Path, history: list[list[object]]
) -> None:
    path = tallies_file(tmp_path / "more.csv", [*HISTORY, ("2023-11-21", "60", "")])
    s = ingest_tallies(engine, path, series="t", source="dod")
    assert (s.inserted, s.unchanged, s.removed) == (1, 3, 0)


def test_other_sources_are_never_touched(
    engine: Engine, tmp_path: Path, history: list[list[object]]
) -> None:
    path = tallies_file(tmp_path / "other.csv", [("2023-12-01", "70", "2023-11-15")])
    s = ingest_tallies(engine, path, series="t", source="other")
    assert (s.inserted, s.removed) == (1, 0)
    assert len(stored(engine)) == 4


@pytest.mark.parametrize("content", ["as_of_date,total,period_start\n", ""])
def test_an_empty_file_is_refused_and_creates_no_series(
    engine: Engine, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(InputFileError, match="no data rows"):
        ingest_tallies(engine, path, series="brand-new", frequency="D", source="dod")
    with engine.connect() as c:
        assert c.execute(select(series_table.c.id)).first() is None
