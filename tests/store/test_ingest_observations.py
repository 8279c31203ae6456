"""Counts and tallies: interval observations, snapshot semantics, validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from cadence.store.errors import ConflictError, ValidationFailedError
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
