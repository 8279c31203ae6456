"""`cadence ingest` on bad input, on each backend: exit 2, the row and value named,
nothing stored; tallies that would remove stored intervals need --replace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cadence.service.cli import main
from cadence.store.engine import make_engine
from cadence.store.tables import events_table, observations_table, series_table
from tests.store.synthetic import write_csv


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CADENCE_DATABASE_URL", db_url)
    return db_url


def count(url: str, table: object) -> int:
    eng = make_engine(url)
    with eng.connect() as c:
        n = int(c.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    eng.dispose()
    return n


def tallies(path: Path, rows: list[tuple[str, str, str]]) -> str:
    cells = [{"as_of_date": a, "total": t, "period_start": p} for a, t, p in rows]
    return str(write_csv(path, cells))


def test_a_tallies_snapshot_that_would_remove_history_needs_replace(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tallies(
        tmp_path / "dod.csv", [("2023-10-24", "13", "2023-10-17"), ("2023-11-14", "55", "")]
    )
    base = ["ingest", "tallies", "--series", "us-forces", "--source", "dod-tallies"]
    assert main([*base, history, "--frequency", "D"]) == 0
    one_row = tallies(tmp_path / "t.csv", [("2024-01-01", "80", "")])
    capsys.readouterr()
    assert main([*base, one_row]) == 2
    err = capsys.readouterr().err
    assert "would remove 2 stored interval(s)" in err
    assert "[2023-10-17, 2023-10-25) count 13" in err and "--replace" in err
    assert count(cli_env, observations_table) == 2
    assert main([*base, one_row, "--replace", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 2
    assert count(cli_env, observations_table) == 0  # a first tally without period_start


@pytest.mark.parametrize(
    ("kind", "header", "extra"),
    [
        ("events", "date,kind,source\n", []),
        ("statements", "date,text,source\n", []),
        ("counts", "series,date,count\n", ["--frequency", "D"]),
        ("tallies", "as_of_date,total,period_start\n", ["--series", "new-x", "--frequency", "D"]),
    ],
)
def test_an_empty_file_exits_2_for_every_kind(
    cli_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    header: str,
    extra: list[str],
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(header)
    assert main(["ingest", kind, str(path), *extra]) == 2
    assert "the file has no data rows" in capsys.readouterr().err
    assert count(cli_env, series_table) == 0


def test_a_far_future_event_is_refused_with_the_window(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "far.csv"
    path.write_text(
        "date,kind,target,country,source,source_id\n"
        "2024-01-05,attack,US forces,Iraq,x,0\n"
        "9999-12-31,attack,US forces,Iraq,x,1\n"
    )
    assert main(["ingest", "events", str(path)]) == 2
    err = capsys.readouterr().err
    assert "row 2, field `date`: expected a date from 1990-01-01 to " in err
    assert "(the ingest window), got '9999-12-31'" in err
    assert count(cli_env, events_table) == 0
    assert main(["ingest", "events", str(path), "--skip-invalid", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rejected"] == 1
    assert count(cli_env, events_table) == 1


def test_the_window_is_a_setting(
    cli_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CADENCE_INGEST_FIRST_DATE", "2024-01-01")
    path = write_csv(tmp_path / "c.csv", [{"series": "c", "date": "2023-12-31", "count": "1"}])
    assert main(["ingest", "counts", str(path), "--frequency", "D"]) == 2
    assert "expected a date from 2024-01-01 to " in capsys.readouterr().err
    monkeypatch.setenv("CADENCE_INGEST_FIRST_DATE", "2023-01-01")
    assert main(["ingest", "counts", str(path), "--frequency", "D"]) == 0


@pytest.mark.parametrize("value", ["1.5", "inf", "Infinity", "1e20", "2147483648"])
def test_bad_numbers_are_row_errors_not_tracebacks(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    path = write_csv(
        tmp_path / "e.csv",
        [{"date": "2024-01-02", "kind": "attack", "source": "x", "fatalities": value}],
    )
    assert main(["ingest", "events", str(path)]) == 2
    assert "row 1, field `fatalities`: expected a whole number" in capsys.readouterr().err


def test_deeply_nested_json_lines_exit_2(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    assert main(["ingest", "events", str(path)]) == 2
    assert "line 1 is nested too deeply" in capsys.readouterr().err
