"""`cadence panel --as-of` rebuilds exactly what was knowable on that date."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cadence.service.cli import main
from tests.store.synthetic import native_event_rows, write_csv


def _split(
    rows: list[dict[str, str]], day: str
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    return [r for r in rows if r["date"] <= day], [r for r in rows if r["date"] > day]


def test_panel_as_of_is_unchanged_by_later_events(catalog_home: Path) -> None:
    early, late = _split(native_event_rows(300, seed=4), "2024-03-31")
    assert main(["ingest", "events", str(write_csv(catalog_home / "early.csv", early))]) == 0
    first = catalog_home / "p1.csv"
    assert (
        main(
            ["panel", "--series", "synthetic-attacks", "--as-of", "2024-03-31", "--out", str(first)]
        )
        == 0
    )
    assert main(["ingest", "events", str(write_csv(catalog_home / "late.csv", late))]) == 0
    second = catalog_home / "p2.csv"
    assert (
        main(
            [
                "panel",
                "--series",
                "synthetic-attacks",
                "--as-of",
                "2024-03-31",
                "--out",
                str(second),
            ]
        )
        == 0
    )
    assert first.read_bytes() == second.read_bytes()
    # a later as-of extends the same rows
    third = catalog_home / "p3.csv"
    assert main(["panel", "--series", "synthetic-attacks", "--out", str(third)]) == 0
    a, c = pd.read_csv(first, index_col=0), pd.read_csv(third, index_col=0)
    assert len(c) > len(a)
    pd.testing.assert_frame_equal(c.loc[a.index], a)


def test_known_at_replays_what_the_database_held(catalog_home: Path) -> None:
    rows = native_event_rows(200, seed=5)
    assert main(["ingest", "events", str(write_csv(catalog_home / "a.csv", rows[:150]))]) == 0
    stamp = pd.Timestamp.now(tz="UTC").isoformat()
    before = catalog_home / "before.csv"
    assert (
        main(
            [
                "panel",
                "--series",
                "synthetic-attacks",
                "--as-of",
                "2024-09-01",
                "--out",
                str(before),
            ]
        )
        == 0
    )
    # a late report of events dated before the as-of date
    assert main(["ingest", "events", str(write_csv(catalog_home / "b.csv", rows[150:]))]) == 0
    replay, now = catalog_home / "replay.csv", catalog_home / "now.csv"
    assert (
        main(
            [
                "panel",
                "--series",
                "synthetic-attacks",
                "--as-of",
                "2024-09-01",
                "--known-at",
                stamp,
                "--out",
                str(replay),
            ]
        )
        == 0
    )
    assert (
        main(["panel", "--series", "synthetic-attacks", "--as-of", "2024-09-01", "--out", str(now)])
        == 0
    )
    assert replay.read_bytes() == before.read_bytes()
    assert now.read_bytes() != before.read_bytes()


def test_panel_rejects_unknown_output_type(
    catalog_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["panel", "--series", "synthetic-attacks", "--out", str(catalog_home / "p.xlsx")]) == 2
    )
    assert "expected a .csv or .parquet file" in capsys.readouterr().err


def test_features_list_json_names_every_panel_column(
    catalog_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["ingest", "events", str(write_csv(catalog_home / "a.csv", native_event_rows(50)))])
        == 0
    )
    assert (
        main(["panel", "--series", "synthetic-attacks", "--out", str(catalog_home / "p.csv")]) == 0
    )
    capsys.readouterr()
    assert main(["features", "list", "--json"]) == 0
    names = {d["name"] for d in json.loads(capsys.readouterr().out)}
    cols = set(pd.read_csv(catalog_home / "p.csv", index_col=0).columns) - {"count"}
    assert cols <= names
