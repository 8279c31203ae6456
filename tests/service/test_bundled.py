"""The shipped real data loads, twice without change, into the declared series."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from cadence.service.bundled import (
    SERIES_ISRAEL_ALERTS,
    SERIES_US_FORCES,
    load_bundled,
    militia_statements,
)
from cadence.service.settings import Settings
from cadence.store.reads import observations_frame, statements_frame

DATA = Settings().data_dir


def test_load_bundled_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    first = load_bundled(engine, DATA, tmp_path)
    second = load_bundled(engine, DATA, tmp_path)
    assert sum(s.inserted for s in first.ingests) > 0
    assert all(s.inserted == s.updated == s.removed == 0 for s in second.ingests)
    assert set(second.catalog.values()) == {"unchanged"}
    dod = observations_frame(engine, SERIES_US_FORCES)
    # DoD tallies: 13 attacks by 2023-10-24 counted from 2023-10-17; 168 by 2024-02-09
    assert dod["start"].min().strftime("%Y-%m-%d") == "2023-10-17"
    assert int(dod["count"].sum()) == 168
    alerts = observations_frame(engine, SERIES_ISRAEL_ALERTS)
    assert alerts["start"].min().strftime("%Y-%m-%d") == "2023-10-24"  # backfill days dropped
    assert ((alerts["end"] - alerts["start"]).dt.days == 1).all()


def test_full_resumption_statement_carries_its_full_text(engine: Engine, tmp_path: Path) -> None:
    frame = militia_statements(DATA)
    row = frame[frame["date"] == "2024-02-09"].iloc[0]
    assert row["text"].startswith("“What the Islamic Resistance gave today")
    assert row["stance"] == "escalation"
    load_bundled(engine, DATA, tmp_path)
    st = statements_frame(engine)
    kh = st[(st["date"] == "2024-01-30") & st["actor"].str.startswith("Kataib Hezbollah")]
    assert kh["stance"].tolist() == ["de-escalation"]
    assert (st["stance_source"] == "analyst").all()
