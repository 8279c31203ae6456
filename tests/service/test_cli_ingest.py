"""The `cadence` CLI end to end on each backend: exit statuses, messages, summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from cadence.service.cli import main
from cadence.store.engine import make_engine
from cadence.store.tables import events_table, statements_table
from tests.store.synthetic import acled_rows, native_event_rows, write_csv


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CADENCE_DATABASE_URL", db_url)
    return db_url


def count(url: str, table: object = events_table) -> int:
    eng = make_engine(url)
    with eng.connect() as c:
        n = int(c.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    eng.dispose()
    return n


def three_bad(tmp_path: Path) -> Path:
    rows = native_event_rows(100)
    rows[9]["date"] = "17/10/2023"
    rows[49]["kind"] = ""
    rows[89]["longitude"] = "east"
    return write_csv(tmp_path / "events.csv", rows)


def test_bad_file_exits_2_lists_errors_and_stores_nothing(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            ["ingest", "events", str(write_csv(tmp_path / "ok.csv", native_event_rows(4, seed=3)))]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["ingest", "events", str(three_bad(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "row 10, field `date`: expected a date as YYYY-MM-DD, got '17/10/2023'" in err
    assert "row 50, field `kind`: expected a value (required), got an empty value" in err
    assert "row 90, field `longitude`: expected a longitude between -180 and 180, got 'east'" in err
    assert "nothing was stored" in err
    assert count(cli_env) == 4


def test_skip_invalid_stores_97_and_writes_3_rejects(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rejects = tmp_path / "rejected.csv"
    code = main(
        [
            "ingest",
            "events",
            str(three_bad(tmp_path)),
            "--skip-invalid",
            "--rejects",
            str(rejects),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["inserted"], summary["rejected"]) == (97, 3)
    assert count(cli_env) == 97
    assert len(pd.read_csv(rejects)) == 3


def test_acled_twice_second_run_all_unchanged(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_csv(tmp_path / "acled.csv", acled_rows(50)))
    assert main(["ingest", "events", path, "--format", "acled", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["ingest", "events", path, "--format", "acled", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["inserted"] == 50
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, 50)


def test_statements_without_stance_get_the_extractors(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(
        tmp_path / "st.csv",
        [
            {
                "date": "2024-01-30",
                "actor": "synthetic group",
                "text": "We announce the suspension of military operations "
                "against the occupation forces",
                "stance": "",
                "source": "synthetic",
                "source_id": "s1",
            },
            {
                "date": "2024-02-09",
                "actor": "synthetic group",
                "text": "statement text",
                "stance": "escalation",
                "source": "synthetic",
                "source_id": "s2",
            },
        ],
    )
    assert main(["ingest", "statements", str(path), "--json"]) == 0
    eng = make_engine(cli_env)
    with eng.connect() as c:
        rows = {r.source_id: r for r in c.execute(select(statements_table)).all()}
    eng.dispose()
    assert rows["s1"].stance == "de-escalation" and rows["s1"].stance_source == "extractor"
    assert rows["s1"].extractor_version
    assert rows["s2"].stance == "escalation" and rows["s2"].stance_source == "analyst"


def test_unknown_series_is_bad_input(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "c.csv", [{"series": "nope", "date": "2024-01-01", "count": "3"}])
    assert main(["ingest", "counts", str(path)]) == 2
    assert "field `series`: expected a declared series" in capsys.readouterr().err
    assert main(["ingest", "counts", str(path), "--frequency", "D", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 1


def test_missing_file_is_bad_input(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "events", str(tmp_path / "absent.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    # a long path is not broken across lines (stderr stays grep-able)
    deep = tmp_path / ("x" * 90) / "absent.csv"
    assert main(["ingest", "events", str(deep)]) == 2
    assert f"{deep}: no such file" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["--help"],
        ["ingest", "--help"],
        ["ingest", "events", "--help"],
        ["series", "apply", "--help"],
        ["db", "upgrade", "--help"],
        ["run", "--help"],
    ):
        assert main(args) == 0
        assert "Usage" in capsys.readouterr().out
