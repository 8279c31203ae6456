"""The Python API (``cadence.panel``, ``cadence.backtest``, ``cadence.forecast``) and its
worked example in docs/python-api.md, on the bundled data in a temporary home."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cadence
from cadence.service.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CADENCE_HOME", str(path))
        mp.delenv("CADENCE_DATABASE_URL", raising=False)
        mp.setenv("CADENCE_MLFLOW_TRACKING_URI", f"sqlite:///{path}/mlflow.db")
        assert main(["load-bundled"]) == 0
        yield path


def test_the_worked_example_runs(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 4
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # the page's own code
    panel = namespace["panel"]
    assert isinstance(panel, pd.DataFrame) and panel.index[-1] == pd.Timestamp("2024-03-31")
    summary = namespace["summary"]
    assert isinstance(summary, pd.DataFrame) and len(summary) == 14
    assert summary.index[0] == pd.Timestamp("2024-04-01")
    assert (summary["q0.1"] <= summary["q0.9"]).all()
    assert "next 7 days:" in capsys.readouterr().out


def records(scores: pd.DataFrame, window: str) -> list[dict[str, object]]:
    """The rows of one window as the JSON has them (a missing score is null there)."""
    rows = scores[scores["window"] == window].drop(columns="window").to_dict("records")
    return [
        {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in r.items()} for r in rows
    ]


def test_backtest_numbers_equal_the_cli_json(home: Path, tmp_path: Path) -> None:
    args = ["--horizon", "7", "--start", "2024-04-07", "--end", "2024-05-26"]
    out = tmp_path / "bt.json"
    assert (
        main(
            [
                "backtest",
                "--series",
                "israel-alerts",
                "--models",
                "climatology,local_level",
                *args,
                "--no-tracking",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    cli = json.loads(out.read_text())
    py = cadence.backtest(
        "israel-alerts",
        models=["climatology", "local_level"],
        horizon=7,
        start="2024-04-07",
        end="2024-05-26",
    )
    assert py.attrs["origins"] == cli["origins"]
    assert records(py, "day") == cli["scores"]
    assert records(py, "7d") == cli["totals"]["7"]
    assert py.attrs["skill"] == cli["skill_vs_climatology"]


def test_panel_and_forecast_match_the_cli(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "panel.csv"
    assert (
        main(["panel", "--series", "israel-alerts", "--as-of", "2024-03-31", "--out", str(out)])
        == 0
    )
    cli = pd.read_csv(out, index_col=0, parse_dates=True)
    py = cadence.panel("israel-alerts", as_of="2024-03-31")
    np.testing.assert_allclose(py["count"].to_numpy(), cli["count"].to_numpy())
    assert list(py.columns) == list(cli.columns)
    fc, summary = cadence.forecast("israel-alerts", model="climatology", horizon=7)
    np.testing.assert_allclose(summary["mean"].to_numpy(), fc.mean())
    assert fc.samples.shape == (1000, 7)


def test_unknown_names_are_clear_errors(home: Path) -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = cadence.nothing  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="no-such-series"):
        cadence.panel("no-such-series")
