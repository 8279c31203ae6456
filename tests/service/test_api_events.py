"""``GET /v1/series/{name}/events``: the retaliation events and statements a series' driver
filters select, on the bundled data and on synthetic rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cadence.service.api import create_app
from cadence.service.api.routes_events import TEXT_CHARS
from cadence.service.bundled import load_bundled
from cadence.service.catalog import apply_catalog_file
from cadence.service.settings import Settings
from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.ingest import ingest_events, ingest_statements

KEY_EVENTS = "israel-fronts-key-events/events_2023-10_2024-06.csv"


@pytest.fixture
def bundled(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    settings = Settings(home=tmp_path / "home", database_url=db_url)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    load_bundled(engine, settings.data_dir, tmp_path / "work")
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        yield c, settings.data_dir


def test_bundled_markers_are_the_series_drivers(bundled: tuple[TestClient, Path]) -> None:
    client, data = bundled
    r = client.get("/v1/series/israel-alerts/events")
    assert r.status_code == 200, r.text
    markers = r.json()["markers"]
    rows = pd.read_csv(data / KEY_EVENTS, dtype=str)
    rows = rows[rows["kind"].isin(["retaliation", "statement"])]
    # every strike and statement of the key-events list, none of its attacks, nothing else
    assert sorted((m["date"], m["kind"]) for m in markers) == sorted(
        zip(rows["date"], rows["kind"], strict=True)
    )
    assert [m["date"] for m in markers] == sorted(m["date"] for m in markers)
    coded = rows[rows["kind"] == "statement"]
    assert sorted((m["date"], m["stance"]) for m in markers if m["kind"] == "statement") == sorted(
        zip(coded["date"], coded["stance"], strict=True)
    )
    assert all(m["stance"] is None for m in markers if m["kind"] == "retaliation")
    assert all(m["source"] == "israel-fronts-key-events" for m in markers)
    assert all(0 < len(m["text"]) <= TEXT_CHARS for m in markers)


def test_window_is_inclusive_and_series_differ(bundled: tuple[TestClient, Path]) -> None:
    client, _ = bundled
    all_rows = client.get("/v1/series/us-forces-iraq-syria/events").json()["markers"]
    r = client.get(
        "/v1/series/us-forces-iraq-syria/events",
        params={"start": "2023-11-12", "end": "2024-01-04"},
    )
    body = r.json()
    assert body["start"] == "2023-11-12" and body["end"] == "2024-01-04"
    assert body["markers"] == [m for m in all_rows if "2023-11-12" <= m["date"] <= "2024-01-04"]
    assert {m["date"] for m in body["markers"]} >= {"2023-11-12", "2024-01-04"}
    # the US strikes and militia statements, not the Israel-fronts rows
    assert {m["source"] for m in all_rows} == {
        "us-strikes-transcribed",
        "militia-statements-transcribed",
    }
    strike = next(m for m in all_rows if m["date"] == "2023-11-22")
    assert strike["kind"] == "retaliation" and strike["fatalities"] == 5


def test_unknown_series_and_bad_dates(bundled: tuple[TestClient, Path]) -> None:
    client, _ = bundled
    r = client.get("/v1/series/nope/events")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/v1/series/israel-alerts/events", params={"end": "last week"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["query", "end"]


SYNTHETIC = """
series:
  - name: synthetic-statements-only
    frequency: D
    target:
      events: {kind: attack}
    drivers:
      statements: {source: synthetic-a}
  - name: synthetic-no-drivers
    frequency: W
    target:
      events: {kind: attack}
"""


def test_synthetic_filters_stances_and_short_text(tmp_path: Path) -> None:
    """Synthetic rows: a series without a retaliation filter shows no strikes; one without
    drivers shows nothing; statements of other sources are left out; a long statement is
    cut to TEXT_CHARS."""
    db = f"sqlite:///{tmp_path / 'cadence.db'}"
    engine = make_engine(db)
    migrate.upgrade(engine)
    (tmp_path / "catalog.yaml").write_text(SYNTHETIC)
    apply_catalog_file(engine, tmp_path / "catalog.yaml")
    ingest_events(
        engine,
        [
            pd.DataFrame(
                {
                    "date": ["2024-01-02", "2024-01-03"],
                    "kind": ["retaliation", "attack"],
                    "source": "synthetic-a",
                    "source_id": ["r1", "a1"],
                }
            )
        ],
    )
    long_text = "synthetic statement " * 30
    ingest_statements(
        engine,
        [
            pd.DataFrame(
                {
                    "date": ["2024-01-05", "2024-01-04", "2024-01-06"],
                    "actor": ["Actor A", "Actor B", "Actor C"],
                    "text": [long_text, "short synthetic text", "other source"],
                    "stance": ["de-escalation", "neutral", "escalation"],
                    "source": ["synthetic-a", "synthetic-a", "synthetic-b"],
                    "source_id": ["s1", "s2", "s3"],
                }
            )
        ],
    )
    engine.dispose()
    with TestClient(create_app(Settings(home=tmp_path, database_url=db))) as client:
        markers = client.get("/v1/series/synthetic-statements-only/events").json()["markers"]
        assert client.get("/v1/series/synthetic-no-drivers/events").json()["markers"] == []
    assert [(m["date"], m["kind"], m["stance"], m["actor"]) for m in markers] == [
        ("2024-01-04", "statement", "neutral", "Actor B"),
        ("2024-01-05", "statement", "de-escalation", "Actor A"),
    ]
    cut = markers[1]["text"]
    assert len(cut) == TEXT_CHARS and cut.endswith("…")
    assert long_text.startswith(cut[:-1])
