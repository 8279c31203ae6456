"""Corrected rows keep their earlier versions: a read as of an instant sees each row as
it stood then (counts and events corrected later included). Synthetic rows by code."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, func, select

from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_counts, ingest_events
from cadence.store.reads import events_frame, observations_frame
from cadence.store.tables import row_versions_table

SERIES = "synthetic-corrected"


def _engine(db_url: str) -> Engine:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    return engine


def _counts(values: list[int]) -> pd.DataFrame:
    days = pd.date_range("2024-03-01", periods=len(values), freq="D")
    return pd.DataFrame(
        {"series": SERIES, "date": days.strftime("%Y-%m-%d"), "count": [str(v) for v in values]}
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_counts_read_as_they_stood_at_each_instant(db_url: str) -> None:
    engine = _engine(db_url)
    try:
        ingest_counts(engine, [_counts([3, 4, 5])], frequency="D", source="synthetic")
        first = _now()
        ingest_counts(engine, [_counts([3, 9, 5])], source="synthetic")  # day 2 corrected
        second = _now()
        ingest_counts(engine, [_counts([3, 12, 5])], source="synthetic")  # and again
        assert observations_frame(engine, SERIES, known_at=first)["count"].tolist() == [3, 4, 5]
        assert observations_frame(engine, SERIES, known_at=second)["count"].tolist() == [3, 9, 5]
        assert observations_frame(engine, SERIES)["count"].tolist() == [3, 12, 5]
        then = observations_frame(engine, SERIES, known_at=first)
        assert then["start"].tolist() == list(pd.date_range("2024-03-01", periods=3))
        with engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(row_versions_table)).scalar_one()
        assert n == 2  # one version per correction, none for unchanged rows
        # re-ingesting the current content keeps no version
        ingest_counts(engine, [_counts([3, 12, 5])], source="synthetic")
        with engine.connect() as conn:
            assert (
                conn.execute(select(func.count()).select_from(row_versions_table)).scalar_one() == 2
            )
    finally:
        engine.dispose()


def test_a_corrected_event_is_read_as_it_was(db_url: str) -> None:
    engine = _engine(db_url)
    rows = pd.DataFrame(
        {
            "date": ["2024-03-01", "2024-03-02"],
            "kind": ["attack", "attack"],
            "notes": ["first report", "other"],
            "source": ["synthetic", "synthetic"],
            "source_id": ["e-1", "e-2"],
        }
    )
    try:
        ingest_events(engine, [rows], source_label="t")
        before = _now()
        fixed = rows.assign(date=["2024-03-05", "2024-03-02"], notes=["corrected", "other"])
        ingest_events(engine, [fixed], source_label="t")
        then = events_frame(engine, known_at=before)
        now = events_frame(engine)
        assert then.set_index("source_id").loc["e-1", "notes"] == "first report"
        assert then.set_index("source_id").loc["e-1", "date"] == pd.Timestamp("2024-03-01")
        assert now.set_index("source_id").loc["e-1", "date"] == pd.Timestamp("2024-03-05")
        assert then.set_index("source_id").loc["e-2", "notes"] == "other"
        # a window by date applies to each row as it stood then
        assert len(events_frame(engine, known_at=before, end=dt.date(2024, 3, 2))) == 2
        assert len(events_frame(engine, end=dt.date(2024, 3, 2))) == 1
        assert len(events_frame(engine, known_at=before, start=dt.date(2024, 3, 2))) == 1
    finally:
        engine.dispose()
