"""Counts and tallies: interval observations, snapshot semantics, validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from cadence.store.errors import ConflictError, InputFileError, ValidationFailedError
from cadence.store.ingest import ingest_counts, ingest_tallies
from cadence.store.readers import read_chunks
from cadence.store.reads import observations_frame

from .synthetic import write_csv


def counts(engine: Engine, path: Path, **kw: object) -> object:
    return ingest_counts(engine, read_chunks(path), **kw)  # type: ignore[arg-type]


def test_counts_create_series_and_default_period_end(engine: Engine, tmp_path: Path) -> None:
    rows = [
        {"series": "weekly-synthetic", "date": "2024-01-01", "count": "4"},
        {"series": "weekly-synthetic", "date": "2024-01-08", "count": "0"},
        {"series": "monthly-synthetic", "date": "2024-01-01", "count": "9"},
    ]
    path = write_csv(tmp_path / "c.csv", rows)
    with pytest.raises(ValidationFailedError, match="declared series"):
        counts(engine, path)
    # a series created on the fly takes the given frequency
    s = counts(engine, path, frequency="W")
    assert s.inserted == 3  # type: ignore[attr-defined]
    obs = observations_frame(engine, "weekly-synthetic")
    assert obs["end"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-08", "2024-01-15"]
    assert counts(engine, path).unchanged == 3  # type: ignore[attr-defined]


def test_counts_with_explicit_end_and_bad_end(engine: Engine, tmp_path: Path) -> None:
    good = write_csv(
        tmp_path / "g.csv", [{"date": "2024-01-01", "end": "2024-01-20", "count": "25"}]
    )
    counts(engine, good, series="s", frequency="D")
    obs = observations_frame(engine, "s")
    assert (obs["end"] - obs["start"]).dt.days.tolist() == [19]
    bad = write_csv(tmp_path / "b.csv", [{"date": "2024-02-01", "end": "2024-01-20", "count": "2"}])
    with pytest.raises(
        ValidationFailedError, match="row 1, field `end`: expected a date after 2024-02-01"
    ):
        counts(engine, bad, series="s")


def tallies_file(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    return write_csv(
        tmp_path / "tallies.csv",
        [{"as_of_date": d, "total": t, "period_start": p} for d, t, p in rows],
    )


def test_tallies_become_intervals(engine: Engine, tmp_path: Path) -> None:
    path = tallies_file(
        tmp_path,
        [("2023-10-24", "13", "2023-10-17"), ("2023-10-31", "27", ""), ("2023-11-14", "55", "")],
    )
    s = ingest_tallies(engine, path, series="tally-synthetic", frequency="D", source="t")
    assert s.inserted == 3
    obs = observations_frame(engine, "tally-synthetic")
    assert obs[["start", "end"]].astype(str).values.tolist() == [
        ["2023-10-17", "2023-10-25"],
        ["2023-10-25", "2023-11-01"],
        ["2023-11-01", "2023-11-15"],
    ]
    assert obs["count"].tolist() == [13, 14, 28]


def test_inserting_a_tally_splits_an_interval_without_double_counting(
    engine: Engine, tmp_path: Path
) -> None:
    ingest_tallies(
        engine,
        tallies_file(tmp_path, [("2023-10-24", "13", "2023-10-17"), ("2023-11-14", "55", "")]),
        series="t",
        frequency="D",
        source="t",
    )
    s = ingest_tallies(
        engine,
        tallies_file(
            tmp_path,
            [
                ("2023-10-24", "13", "2023-10-17"),
                ("2023-10-31", "27", ""),
                ("2023-11-14", "55", ""),
            ],
        ),
        series="t",
        source="t",
    )
    assert (s.inserted, s.unchanged, s.removed) == (2, 1, 1)
    obs = observations_frame(engine, "t")
    assert obs["count"].sum() == 55 and len(obs) == 3


def test_decreasing_tally_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = tallies_file(tmp_path, [("2023-10-24", "13", ""), ("2023-10-31", "12", "")])
    with pytest.raises(
        ValidationFailedError, match=r"row 2, field `total`: expected a total >= 13"
    ):
        ingest_tallies(engine, path, series="t", frequency="D")


def test_tallies_for_an_unknown_series_need_a_frequency(engine: Engine, tmp_path: Path) -> None:
    path = tallies_file(tmp_path, [("2023-10-24", "13", "")])
    with pytest.raises(ConflictError, match="pass --frequency"):
        ingest_tallies(engine, path, series="nope")


def test_observation_read_is_typed(engine: Engine, tmp_path: Path) -> None:
    counts(
        engine,
        write_csv(tmp_path / "c.csv", [{"series": "x", "date": "2024-03-01", "count": "1"}]),
        frequency="M",
    )
    obs = observations_frame(engine, "x")
    assert pd.api.types.is_datetime64_any_dtype(obs["start"])
    assert obs["end"].iloc[0] == pd.Timestamp("2024-04-01")


def test_a_second_source_must_agree_with_the_stored_count_of_a_period(
    engine: Engine, tmp_path: Path
) -> None:
    """The series' counts are built from every source and refuse two counts for one
    period, so a disagreeing row is refused at ingest (it used to be stored and leave
    the series without a panel or a forecast); an agreeing one is stored."""
    first = [{"series": "daily-synthetic", "date": "2024-01-03", "count": "9"}]
    counts(engine, write_csv(tmp_path / "a.csv", first), frequency="D", source="list-a")
    other = [
        {"series": "daily-synthetic", "date": "2024-01-03", "count": "1000"},
        {"series": "daily-synthetic", "date": "2024-01-04", "count": "2"},
    ]
    with pytest.raises(ValidationFailedError) as info:
        counts(engine, write_csv(tmp_path / "b.csv", other), source="list-b")
    (err,) = info.value.errors
    assert (err.row, err.field, err.got) == (1, "count", "'1000'")
    assert "from source 'list-a' (9)" in err.expected
    assert observations_frame(engine, "daily-synthetic")["count"].tolist() == [9]
    agree = [{"series": "daily-synthetic", "date": "2024-01-03", "count": "9"}]
    s = counts(engine, write_csv(tmp_path / "c.csv", agree), source="list-b")
    assert s.inserted == 1  # type: ignore[attr-defined]


def test_counts_for_a_series_counted_from_events_are_refused(
    engine: Engine, tmp_path: Path
) -> None:
    from cadence.store.series_repo import apply_series

    with engine.begin() as conn:
        apply_series(conn, "events-synthetic", "D", observed=False, definition={"name": "x"})
    rows = [{"series": "events-synthetic", "date": "2024-01-03", "count": "5"}]
    for kw in ({}, {"frequency": "D"}):
        with pytest.raises(ValidationFailedError, match="counted from the events"):
            counts(engine, write_csv(tmp_path / "e.csv", rows), **kw)


def test_a_counts_file_without_its_columns_names_them(engine: Engine, tmp_path: Path) -> None:
    rows = [{"Series": "daily-synthetic", "day": "2024-01-03", "count": "5"}]
    with pytest.raises(InputFileError, match=r"missing required column\(s\) series, date; "):
        counts(engine, write_csv(tmp_path / "h.csv", rows), frequency="D")
    # --series stands in for the series column
    with pytest.raises(InputFileError, match=r"missing required column\(s\) date; "):
        counts(engine, write_csv(tmp_path / "h.csv", rows), series="s", frequency="D")


@pytest.mark.parametrize("start", ["2024-07-20", "2024-07-11"], ids=["reversed", "empty"])
def test_counting_cannot_begin_after_the_first_tally(
    engine: Engine, tmp_path: Path, start: str
) -> None:
    """The first interval runs from period_start to the first as-of date: a later start
    made it reversed or empty, stored without a word, and the series unbuildable."""
    path = tallies_file(tmp_path, [("2024-07-10", "13", start), ("2024-07-15", "20", "")])
    with pytest.raises(ValidationFailedError) as info:
        ingest_tallies(engine, path, series="tally-synthetic", frequency="D", source="t")
    (err,) = info.value.errors
    assert (err.row, err.field) == (1, "period_start") and "2024-07-10" in err.expected
    same_day = tallies_file(tmp_path, [("2024-07-10", "13", "2024-07-10")])
    s = ingest_tallies(engine, same_day, series="tally-synthetic", frequency="D", source="t")
    assert s.inserted == 1


def test_stored_counts_are_looked_up_in_a_few_statements_not_one_a_row(
    engine: Engine, tmp_path: Path
) -> None:
    from sqlalchemy import event

    days = pd.date_range("2024-01-01", periods=1000, freq="D").strftime("%Y-%m-%d")
    rows = [{"series": f"s{i}", "date": d, "count": "1"} for i in range(2) for d in days]
    path = write_csv(tmp_path / "many.csv", rows)
    counts(engine, path, frequency="D")
    statements: list[str] = []

    def seen(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "observations" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        again = counts(engine, path)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert again.unchanged == 2000  # type: ignore[attr-defined]
    # per series: the stored keys and the other sources' counts (was one per row)
    assert len(statements) <= 8, len(statements)


def test_a_span_overlapping_another_sources_counts_must_agree_with_them(
    engine: Engine, tmp_path: Path
) -> None:
    """Rule 3 of the counts (finer counts inside an interval total): a 3-day total that
    contradicts the daily counts another source stored is refused with the ingest's
    first row of the series, and nothing of the file is stored; one that agrees is."""
    from cadence.features.counts import check_observations

    days = [
        {"series": "daily-synthetic", "date": f"2024-01-0{d}", "count": str(c)}
        for d, c in ((3, 4), (4, 5), (5, 6))
    ]
    counts(engine, write_csv(tmp_path / "d.csv", days), frequency="D", source="list-a")
    total = [
        {"series": "daily-synthetic", "date": "2024-01-07", "end": "", "count": "1"},
        {"series": "daily-synthetic", "date": "2024-01-03", "end": "2024-01-06", "count": "5"},
    ]
    path = write_csv(tmp_path / "t.csv", total)
    with pytest.raises(ValidationFailedError) as info:
        counts(engine, path, source="list-b", check=check_observations)
    (err,) = info.value.errors
    assert (err.row, err.field) == (1, "count") and "the 15 counted inside it" in err.expected
    assert len(observations_frame(engine, "daily-synthetic")) == 3
    # a total equal to the days inside it agrees with them
    total[1]["count"] = "15"
    s = counts(
        engine, write_csv(tmp_path / "t.csv", total), source="list-b", check=check_observations
    )
    assert s.inserted == 2  # type: ignore[attr-defined]


def test_a_tally_contradicting_stored_counts_is_refused_whole(
    engine: Engine, tmp_path: Path
) -> None:
    from cadence.features.counts import check_observations

    days = [{"series": "tally-synthetic", "date": f"2024-07-0{d}", "count": "4"} for d in (1, 2, 3)]
    counts(engine, write_csv(tmp_path / "d.csv", days), frequency="D", source="daily-list")
    # counting began 2024-07-01; 5 by the end of 07-03, where the daily list has 12
    path = tallies_file(tmp_path, [("2024-07-03", "5", "2024-07-01")])
    with pytest.raises(ValidationFailedError) as info:
        ingest_tallies(engine, path, series="tally-synthetic", source="t", check=check_observations)
    (err,) = info.value.errors
    assert (err.row, err.field) == (1, "total") and "the 12 counted inside it" in err.expected
    assert len(observations_frame(engine, "tally-synthetic")) == 3
    agree = tallies_file(tmp_path, [("2024-07-03", "12", "2024-07-01")])
    s = ingest_tallies(
        engine, agree, series="tally-synthetic", source="t", check=check_observations
    )
    assert s.inserted == 1
