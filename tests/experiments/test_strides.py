"""``--every`` as a calendar stride (``1W``, ``1M``, ``3M``) or a count of periods, matched
to each series' frequency. The monthly family is generated here by code (Poisson counts,
source ``synthetic``); nothing is real."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cadence.features.errors import SpecError
from cadence.features.periods import stride_periods
from cadence.service.cli import main

FAMILY = ["synthetic-monthly/a", "synthetic-monthly/b", "synthetic-monthly/c"]


@pytest.mark.parametrize(
    ("every", "freq", "periods"),
    [
        ("1W", "D", 7),
        ("7D", "D", 7),
        ("7D", "W", 1),
        ("14D", "W", 2),
        ("1W", "W", 1),
        ("1M", "M", 1),
        ("3M", "M", 3),
        ("1Q", "M", 3),
        ("1Y", "M", 12),
        ("4", "W", 4),
        (4, "M", 4),
    ],
)
def test_strides_in_periods_of_the_frequency(every: str | int, freq: str, periods: int) -> None:
    assert stride_periods(every, freq) == periods  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("every", "freq", "message"),
    [
        ("7D", "M", "not a whole number of periods of a monthly series (frequency M)"),
        ("1M", "W", "not a whole number of periods of a weekly series (frequency W)"),
        ("10D", "W", "weekly series"),
        ("1M", "D", "daily series"),
        ("0", "D", "at least one period"),
        ("monthly", "M", "expected a number of periods or a length like 1W, 1M or 3M"),
    ],
)
def test_mismatched_strides_name_the_frequency(every: str, freq: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        stride_periods(every, freq)  # type: ignore[arg-type]


@pytest.fixture
def monthly_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CADENCE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CADENCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CADENCE_MLFLOW_TRACKING_URI", raising=False)
    rng = np.random.default_rng(11)
    months = pd.date_range("2015-01-01", periods=96, freq="MS").strftime("%Y-%m-%d")
    rows = [
        pd.DataFrame({"series": name, "date": months, "count": rng.poisson(5 + 3 * i, 96)})
        for i, name in enumerate(FAMILY)
    ]
    path = tmp_path / "monthly.csv"
    pd.concat(rows).to_csv(path, index=False)
    assert main(["ingest", "counts", str(path), "--frequency", "M", "--source", "synthetic"]) == 0
    return tmp_path


def _backtest(home: Path, every: str, *series: str) -> tuple[int, Path]:
    out = home / f"bt-{every}.json"
    sel = [x for s in series for x in ("--series", s)]
    args = ["backtest", *sel, "--models", "recent_rate", "--horizon", "3", "--samples", "50"]
    code = main([*args, "--every", every, "--no-tracking", "--json", str(out)])
    return code, out


def test_monthly_family_backtests_every_month_and_quarter(
    monthly_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _backtest(monthly_home, "1M", "synthetic-monthly/*")
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    for item in doc["series"]:
        origins = pd.DatetimeIndex(item["origins"])
        assert len(origins) > 12 and set(np.diff(origins.month + 12 * origins.year)) == {1}
    code, out = _backtest(monthly_home, "3M", "synthetic-monthly/*")
    assert code == 0
    origins = pd.DatetimeIndex(json.loads(out.read_text())["series"][0]["origins"])
    assert set(np.diff(origins.month + 12 * origins.year)) == {3}
    code, out = _backtest(monthly_home, "2", "synthetic-monthly/a")  # two periods
    assert code == 0
    origins = pd.DatetimeIndex(json.loads(out.read_text())["origins"])
    assert set(np.diff(origins.month + 12 * origins.year)) == {2}


def test_a_day_stride_on_monthly_series_is_refused_naming_the_frequency(
    monthly_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code, _ = _backtest(monthly_home, "7D", "synthetic-monthly/a")
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "series 'synthetic-monthly/a'" in err and "monthly series (frequency M)" in err
    code, out = _backtest(monthly_home, "7D", "synthetic-monthly/*")
    assert code == 1  # many series: each one fails with the reason, none is scored
    rows = json.loads(out.read_text())["series"]
    assert [r["series"] for r in rows] == FAMILY
    assert all("monthly series (frequency M)" in r["error"] for r in rows), rows


def test_retrain_every_quarter_on_a_monthly_series(
    monthly_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["retrain", "--models", "climatology,recent_rate", "--horizon", "3"]
    base += ["--origins", "3", "--samples", "50", "--json"]
    capsys.readouterr()
    assert main([*base, "--series", "synthetic-monthly/b", "--every", "3M"]) == 0
    [outcome] = json.loads(capsys.readouterr().out)
    assert outcome["status"] in ("promoted", "kept", "fallback"), outcome
    assert main([*base, "--series", "synthetic-monthly/c", "--every", "7D"]) == 1
    [failed] = json.loads(capsys.readouterr().out)
    assert "monthly series (frequency M)" in failed["reason"]
