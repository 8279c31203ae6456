"""Reads of one series select its rows in SQL: many stored rows of an unrelated kind and
source are never fetched, by the API (observations, markers) or by a retrain's read, and
what is read gives the same panel as a read of every row. Synthetic rows."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from cadence.experiments.data import SeriesData, load_series_data
from cadence.features import SeriesSpec
from cadence.jobs.retrain.job import recent_origins_for
from cadence.service.api import create_app
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store import migrate, reads
from cadence.store.ingest import ingest_events, ingest_statements, ingest_tallies
from tests.conftest import SYNTHETIC_CATALOG

UNRELATED = 3_000


def _events() -> pd.DataFrame:
    rows = [
        ("2024-01-01", "attack", "US forces", "synthetic", "a1"),
        ("2024-01-03", "Attack", "us forces", "synthetic", "a2"),  # case-insensitive
        ("2024-01-04", "attack", "other forces", "synthetic", "o1"),  # not the target
        ("2024-01-02", "retaliation", "", "strikes", "r1"),  # a driver
        ("2024-01-06", "protest", "", "synthetic", "p1"),  # its feed ran to the 6th
        ("2024-03-01", "protest", "", "elsewhere", "x1"),  # another feed runs on
    ]
    cols = ["date", "kind", "target", "source", "source_id"]
    return pd.DataFrame(rows, columns=cols)


def _unrelated(n: int) -> pd.DataFrame:
    days = pd.date_range("2023-01-01", periods=n, freq="h").strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "date": days,
            "kind": "riot",
            "target": "civilians",
            "source": "bulk-feed",
            "source_id": [f"u{i}" for i in range(n)],
        }
    )


def _statements() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": ["2024-01-02"] + ["2023-06-01"] * 200,
            "actor": "group",
            "text": ["we will respond"] + ["unrelated"] * 200,
            "stance": ["escalation"] + ["neutral"] * 200,
            "source": ["synthetic"] + ["bulk-feed"] * 200,
            "source_id": [f"s{i}" for i in range(201)],
        }
    )


@pytest.fixture
def stored(engine: Engine, tmp_path: Path) -> Engine:
    (tmp_path / "catalog.yaml").write_text(SYNTHETIC_CATALOG)
    apply_catalog_file(engine, tmp_path / "catalog.yaml")
    ingest_events(engine, [_events(), _unrelated(UNRELATED)])
    ingest_statements(engine, [_statements()])
    return engine


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Row counts of every frame the store reads."""
    counts: list[int] = []
    real = reads._frame

    def spy(*args: object, **kwargs: object) -> pd.DataFrame:
        df = real(*args, **kwargs)  # type: ignore[arg-type]
        counts.append(len(df))
        return df

    monkeypatch.setattr(reads, "_frame", spy)
    yield counts


def test_a_series_read_fetches_only_its_rows(stored: Engine, fetched: list[int]) -> None:
    data = load_series_data(stored, "synthetic-attacks")
    assert max(fetched) < 10
    # target and retaliation rows, the latest of their feeds, the latest of all
    assert sorted(data.events["source_id"]) == ["a1", "a2", "p1", "r1", "x1"]
    assert list(data.statements["source_id"]) == ["s0"]
    everything = SeriesData(
        spec=SeriesSpec.from_dict(SYNTHETIC_CATALOG_SPEC),
        events=reads.events_frame(stored),
        statements=reads.statements_frame(stored),
        observations=None,
    )
    assert data.last_day == everything.last_day == pd.Timestamp("2024-01-06")
    pd.testing.assert_frame_equal(data.full_panel.frame, everything.full_panel.frame)


SYNTHETIC_CATALOG_SPEC = {
    "name": "synthetic-attacks",
    "frequency": "D",
    "target": {"events": {"kind": "attack", "target": "US forces"}},
    "drivers": {"retaliation": {"kind": "retaliation"}, "statements": {"source": "synthetic"}},
}


def test_api_reads_fetch_only_the_series_rows(
    stored: Engine, db_url: str, tmp_path: Path, fetched: list[int]
) -> None:
    with TestClient(create_app(Settings(home=tmp_path / "home", database_url=db_url))) as c:
        obs = c.get("/v1/series/synthetic-attacks/observations")
        markers = c.get("/v1/series/synthetic-attacks/events")
    assert obs.status_code == 200, obs.text
    assert [(o["start"], o["count"]) for o in obs.json()["observations"]][:3] == [
        ("2024-01-01", 1),
        ("2024-01-02", 0),
        ("2024-01-03", 1),
    ]
    assert obs.json()["observations"][-1]["start"] == "2024-01-06"
    assert markers.status_code == 200, markers.text
    assert [(m["date"], m["kind"]) for m in markers.json()["markers"]] == [
        ("2024-01-02", "retaliation"),
        ("2024-01-02", "statement"),
    ]
    assert fetched and max(fetched) < 10


def _index_names(engine: Engine) -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'events'"
    )
    with engine.connect() as conn:
        return {str(n) for n in conn.execute(text(sql)).scalars()}


def test_the_migration_indexes_the_filtered_columns(stored: Engine) -> None:
    wanted = {"ix_events_lower_kind", "ix_events_lower_target", "ix_events_source_date"}
    assert wanted <= _index_names(stored)
    migrate.downgrade(stored, "0005")
    assert not wanted & _index_names(stored)
    migrate.upgrade(stored)
    assert wanted <= _index_names(stored)


def test_a_replay_reads_a_row_corrected_away_from_the_filter(stored: Engine) -> None:
    """As of an instant, a row that matched the target then (corrected since to another
    kind) is still read, as it stood then."""
    stamp = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    fixed = _events().iloc[[0]].assign(kind="protest")  # a1 is no attack after all
    ingest_events(stored, [fixed])
    now = load_series_data(stored, "synthetic-attacks")
    then = load_series_data(stored, "synthetic-attacks", known_at=stamp)
    assert "a1" not in set(now.events.loc[now.events["kind"] == "attack", "source_id"])
    assert then.events.set_index("source_id").loc["a1", "kind"] == "attack"
    assert then.full_panel.frame["count"].sum() == now.full_panel.frame["count"].sum() + 1


TALLY_CATALOG = """
series:
  - name: synthetic-tallies
    frequency: D
    target: {observations: true}
    sampled: {kind: attack, target: US forces}
    drivers:
      retaliation: {kind: retaliation}
"""


def test_a_tally_series_reads_its_sampled_view(stored: Engine, tmp_path: Path) -> None:
    """A series observed through tallies with a sampled view: the read brings the view's
    events (``a1``, ``a2``; not the other target's ``o1``) and where their feed ends, so
    the panel carries ``smp_count`` and runs past the last tally to that day."""
    (tmp_path / "tallies.yaml").write_text(TALLY_CATALOG)
    apply_catalog_file(stored, tmp_path / "tallies.yaml")
    tallies = tmp_path / "tallies.csv"
    tallies.write_text("as_of_date,total,period_start\n2024-01-02,2,2024-01-01\n")
    ingest_tallies(stored, tallies, series="synthetic-tallies")
    data = load_series_data(stored, "synthetic-tallies")
    assert {"a1", "a2", "r1"} <= set(data.events["source_id"])
    assert "o1" not in set(data.events["source_id"])
    frame = data.full_panel.frame
    assert frame.index[-1] == pd.Timestamp("2024-01-06")  # the feed ran to the 6th
    assert frame["smp_count"].tolist() == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]


def test_retrain_origins_end_a_horizon_before_the_last_tally(
    stored: Engine, tmp_path: Path
) -> None:
    """The sampled feed runs the panel to 2024-01-06, but truth ends with the last tally
    (2024-01-02): a retrain's origins stop a horizon before that."""
    (tmp_path / "tallies.yaml").write_text(TALLY_CATALOG)
    apply_catalog_file(stored, tmp_path / "tallies.yaml")
    tallies = tmp_path / "tallies.csv"
    tallies.write_text("as_of_date,total,period_start\n2024-01-02,2,2023-12-25\n")
    ingest_tallies(stored, tallies, series="synthetic-tallies")
    data = load_series_data(stored, "synthetic-tallies")
    assert data.last_period == pd.Timestamp("2024-01-06")
    assert data.last_reported_period == pd.Timestamp("2024-01-02")
    origins = recent_origins_for(data, n=3, every=1, horizon=1)
    assert origins == list(pd.date_range("2023-12-30", "2024-01-01", freq="D"))
