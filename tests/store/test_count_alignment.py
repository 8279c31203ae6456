"""Weekly and monthly counts dated on any day of their period are stored on that period;
a count straddling two periods is refused naming the row and the expected week start.
All counts are generated here by code (Poisson draws, source ``synthetic``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from cadence.service.cli import main
from cadence.store.errors import ValidationFailedError
from cadence.store.ingest import ingest_counts
from cadence.store.tables import observations_table

SUNDAY_FAMILY = [f"synthetic-weekly-sun/{c}" for c in "abc"]
SATURDAY_FAMILY = [f"synthetic-weekly-sat/{c}" for c in "ab"]


def _weekly(names: list[str], first_day: str, weeks: int = 120, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range(first_day, periods=weeks, freq="7D").strftime("%Y-%m-%d")
    return pd.concat(
        pd.DataFrame({"series": n, "date": days, "count": rng.poisson(4 + 2 * i, weeks)})
        for i, n in enumerate(names)
    )


def _stored(engine: Engine) -> pd.DataFrame:
    t = observations_table
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.period_start, t.c.period_end, t.c.count)).all()
    return pd.DataFrame(rows, columns=["start", "end", "count"])


def test_counts_dated_on_any_day_of_their_period_land_on_it(engine: Engine) -> None:
    # week of Monday 2024-01-01: dated by its Sunday; January 2024: dated the 31st
    rows = pd.DataFrame(
        {
            "series": ["w", "w", "m", "d"],
            "date": ["2024-01-07", "2024-01-10", "2024-01-31", "2024-01-07"],
            "count": ["5", "6", "7", "8"],
        }
    )
    freqs = {"w": "W", "m": "M", "d": "D"}
    for name, freq in freqs.items():
        part = rows[rows["series"] == name]
        ingest_counts(engine, [part], frequency=freq, source="synthetic")
    got = _stored(engine).sort_values("count").reset_index(drop=True)
    starts = [pd.Timestamp(x).date().isoformat() for x in got["start"]]
    ends = [pd.Timestamp(x).date().isoformat() for x in got["end"]]
    assert starts == ["2024-01-01", "2024-01-08", "2024-01-01", "2024-01-07"]
    assert ends == ["2024-01-08", "2024-01-15", "2024-02-01", "2024-01-08"]


def test_a_saturday_week_is_stored_on_the_monday_week_holding_most_of_it(engine: Engine) -> None:
    # the week Saturday 2024-01-06 .. Friday 2024-01-12, dated by its Saturday, by its
    # Friday, or given with its end: five of its days fall in the week of Monday 01-08
    rows = pd.DataFrame(
        {
            "series": ["s", "s", "s"],
            "date": ["2024-01-06", "2024-01-19", "2024-01-20"],
            "end": ["2024-01-13", "", "2024-01-27"],
            "count": ["1", "2", "3"],
        }
    )
    ingest_counts(engine, [rows], frequency="W", source="synthetic", week_start="saturday")
    got = _stored(engine).sort_values("count")
    starts = [pd.Timestamp(x).date().isoformat() for x in got["start"]]
    assert starts == ["2024-01-08", "2024-01-15", "2024-01-22"]


def test_a_count_straddling_two_weeks_is_refused_naming_the_row(engine: Engine) -> None:
    rows = pd.DataFrame(
        {
            "series": ["w", "w"],
            "date": ["2024-01-01", "2024-01-07"],
            "end": ["2024-01-08", "2024-01-14"],  # the second runs Sunday to Saturday
            "count": ["1", "2"],
        },
        index=[1, 2],  # row numbers, as the file readers number them
    )
    with pytest.raises(ValidationFailedError) as info:
        ingest_counts(engine, [rows], frequency="W", source="synthetic")
    text = str(info.value)
    assert "row 2" in text and "field `date`" in text
    assert "one week starting on Monday" in text and "--week-start" in text
    assert "2024-01-07 to 2024-01-13, which straddles two of its periods" in text
    assert _stored(engine).empty  # nothing of the file was written
    month = pd.DataFrame(
        {"series": ["m"], "date": ["2024-01-20"], "end": ["2024-02-20"], "count": ["3"]},
        index=[1],
    )
    with pytest.raises(ValidationFailedError, match=r"row 1.*one calendar month"):
        ingest_counts(engine, [month], frequency="M", source="synthetic")


def _cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CADENCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CADENCE_MLFLOW_TRACKING_URI", raising=False)


@pytest.mark.parametrize(
    ("names", "first_day", "extra"),
    [
        (SUNDAY_FAMILY, "2021-01-10", []),  # dated on the Sunday ending each ISO week
        (SATURDAY_FAMILY, "2021-01-09", ["--week-start", "saturday"]),  # ACLED-style
    ],
)
def test_weekly_families_ingest_backtest_and_retrain(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    names: list[str],
    first_day: str,
    extra: list[str],
) -> None:
    _cli_home(tmp_path, monkeypatch)
    path = tmp_path / "weekly.csv"
    _weekly(names, first_day).to_csv(path, index=False)
    assert main(["ingest", "counts", str(path), "--frequency", "W", *extra]) == 0
    family = names[0].split("/")[0] + "/*"
    out = tmp_path / "bt.json"
    args = ["backtest", "--series", family, "--models", "recent_rate", "--horizon", "4"]
    args += ["--every", "4W", "--samples", "50", "--no-tracking", "--json", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    for item in json.loads(out.read_text())["series"]:
        scores = {(r["model"], r["horizon"]): r for r in item["scores"]}
        assert scores[("recent_rate", "all")]["n"] > 0, item  # the counts were not lost
    capsys.readouterr()
    retrain = ["retrain", "--series", names[0], "--models", "climatology,recent_rate"]
    retrain += ["--horizon", "4", "--origins", "3", "--every", "1W", "--samples", "50"]
    assert main([*retrain, "--json"]) == 0, capsys.readouterr().err
    [outcome] = json.loads(capsys.readouterr().out)
    assert outcome["status"] != "failed" and outcome["origin"] is not None, outcome
    assert pd.Timestamp(outcome["origin"]).weekday() == 0  # a Monday week


def test_cli_refuses_a_straddling_file_and_a_bad_week_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli_home(tmp_path, monkeypatch)
    path = tmp_path / "straddle.csv"
    path.write_text("series,date,end,count\nw,2024-01-01,2024-01-08,3\nw,2024-01-14,2024-01-21,4\n")
    capsys.readouterr()
    assert main(["ingest", "counts", str(path), "--frequency", "W"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "row 2" in err and "one week starting on Monday" in err
    sundays = tmp_path / "sundays.csv"
    sundays.write_text(
        "series,date,end,count\nw,2024-01-07,2024-01-14,3\nw,2024-01-14,2024-01-21,4\n"
    )
    assert main(["ingest", "counts", str(sundays), "--frequency", "W"]) == 2  # Monday weeks
    assert (
        main(["ingest", "counts", str(sundays), "--frequency", "W", "--week-start", "sunday"]) == 0
    )
    assert main(["ingest", "counts", str(path), "--week-start", "someday"]) == 2
