"""The served forecast body: shape, values derived from the paths, stable bytes.
Sample paths are synthetic (drawn by code)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from cadence.experiments.summaries import window_periods
from cadence.jobs.served_body import counts_through, forecast_payload, with_fit_facts
from cadence.models import make_model
from cadence.models.forecast import CountForecast
from tests.models.test_regime_nb import RATES_2, STAY_2, simulate

GEN = dt.datetime(2024, 3, 2, 6, 30, tzinfo=dt.UTC)


def _forecast(freq: str = "D", horizon: int = 28, seed: int = 0) -> CountForecast:
    samples = np.random.default_rng(seed).negative_binomial(3, 0.4, size=(400, horizon))
    origin = pd.Timestamp("2024-03-04")
    index = pd.date_range(origin, periods=horizon + 1, freq={"D": "D", "W": "W-MON"}[freq])[1:]
    return CountForecast(origin=origin, samples=samples, index=index, model="m")


def _payload(fc: CountForecast, freq: str = "D", **kw: object) -> dict[str, object]:
    return forecast_payload(
        "s1", freq, fc, model_name="negbin_glm", version="4", run_id="r1", generated_at=GEN, **kw
    )  # type: ignore[arg-type]


def test_body_has_exactly_the_documented_shape() -> None:
    body = _payload(_forecast())
    assert set(body) == {
        "series", "frequency", "origin", "generated_at", "model", "periods", "windows"
    }  # fmt: skip
    assert body["model"] == {"name": "negbin_glm", "version": "4", "run_id": "r1"}
    assert body["origin"] == "2024-03-04"
    assert body["generated_at"] == "2024-03-02T06:30:00+00:00"
    periods = body["periods"]
    assert isinstance(periods, list) and len(periods) == 28
    assert set(periods[0]) == {"date", "mean", "quantiles", "p_any"}
    assert periods[0]["date"] == "2024-03-05" and periods[-1]["date"] == "2024-04-01"
    assert set(periods[0]["quantiles"]) == {"0.1", "0.5", "0.9"}
    windows = body["windows"]
    assert isinstance(windows, list) and [w["days"] for w in windows] == [7, 14, 28]
    assert set(windows[0]) == {"days", "mean", "quantiles", "p_at_least"}
    assert set(windows[0]["p_at_least"]) == {"1", "5", "10", "25", "50", "100"}


def test_values_derive_from_the_paths() -> None:
    fc = _forecast()
    body = _payload(fc, quantiles=(0.25, 0.75), k_values=(3,))
    s = fc.samples
    p0 = body["periods"][0]  # type: ignore[index]
    assert p0["mean"] == pytest.approx(s[:, 0].mean(), abs=1e-6)
    assert p0["p_any"] == pytest.approx((s[:, 0] >= 1).mean())
    assert p0["quantiles"]["0.25"] == int(np.quantile(s[:, 0], 0.25, method="inverted_cdf"))
    w7 = body["windows"][0]  # type: ignore[index]
    total = s[:, :7].sum(axis=1)
    assert w7["mean"] == pytest.approx(total.mean(), abs=1e-6)
    assert w7["p_at_least"]["3"] == pytest.approx((total >= 3).mean())
    assert w7["quantiles"]["0.75"] == int(np.quantile(total, 0.75, method="inverted_cdf"))


def test_horizon_truncates_periods_and_windows() -> None:
    body = _payload(_forecast(), horizon=10)
    assert len(body["periods"]) == 10  # type: ignore[arg-type]
    assert [w["days"] for w in body["windows"]] == [7]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="horizon"):
        _payload(_forecast(), horizon=29)


def test_weekly_windows_count_whole_weeks() -> None:
    assert (window_periods("W", 14), window_periods("W", 10), window_periods("M", 28)) == (
        2,
        None,
        None,
    )
    fc = _forecast("W", horizon=4)
    body = _payload(fc, "W")
    w14 = next(w for w in body["windows"] if w["days"] == 14)  # type: ignore[attr-defined]
    assert w14["mean"] == pytest.approx(fc.samples[:, :2].sum(axis=1).mean(), abs=1e-6)


def test_same_paths_give_the_same_bytes_and_json_is_strict() -> None:
    a = json.dumps(_payload(_forecast(seed=3)), allow_nan=False, sort_keys=True)
    b = json.dumps(_payload(_forecast(seed=3)), allow_nan=False, sort_keys=True)
    c = json.dumps(_payload(_forecast(seed=4)), allow_nan=False, sort_keys=True)
    assert a == b and a != c


REGIMES = {
    "states": [
        {"name": "quiet", "rate": 2.123456789, "probability": 0.25},
        {"name": "active", "rate": 20.0, "probability": 0.75},
    ],
    "most_likely": "active",
    "p_switch": {"7": 0.3333333333, "28": 0.8},
    "transition": [[0.9, 0.1], [0.05, 0.95]],
}


def test_regimes_block_only_when_the_model_reports_regimes() -> None:
    fc = _forecast()
    assert "regimes" not in _payload(fc)
    with_regimes = CountForecast(
        origin=fc.origin, samples=fc.samples, index=fc.index, model="regime_nb",
        meta={"regimes": REGIMES},
    )  # fmt: skip
    body = _payload(with_regimes)
    assert body["regimes"] == {
        "states": [
            {"name": "quiet", "rate": 2.123457, "probability": 0.25},
            {"name": "active", "rate": 20.0, "probability": 0.75},
        ],
        "most_likely": "active",
        "p_switch": {"7": 0.333333, "28": 0.8},
    }
    json.dumps(body)  # plain JSON
    broken = CountForecast(
        origin=fc.origin, samples=fc.samples, index=fc.index, meta={"regimes": {"states": []}}
    )
    with pytest.raises(ValueError, match="most_likely"):
        _payload(broken)


def test_regime_nb_forecast_serves_its_regimes() -> None:
    """End to end on a synthetic regime-switching panel (generated by code)."""
    panel, _ = simulate(300, STAY_2, RATES_2, 0.3, seed=2)
    model = make_model("regime_nb").fit(panel)
    fc = model.forecast(28, n_samples=200, rng=np.random.default_rng(0))
    regimes = _payload(fc)["regimes"]
    assert [s["name"] for s in regimes["states"]] == ["quiet", "active"]  # type: ignore[index]
    assert sum(s["probability"] for s in regimes["states"]) == pytest.approx(1.0, abs=1e-5)  # type: ignore[index]
    assert set(regimes["p_switch"]) == {"7", "28"}  # type: ignore[index]


def test_counts_through_names_the_last_counted_day_only_before_the_origin() -> None:
    origin = pd.Timestamp("2024-11-25")
    assert counts_through(pd.Timestamp("2024-02-09"), origin, "D") == "2024-02-09"
    assert counts_through(origin, origin, "D") is None
    # a weekly period ends on its Sunday
    assert counts_through(pd.Timestamp("2024-02-05"), origin, "W") == "2024-02-11"
    body = _payload(_forecast(), last_count="2024-02-09")
    assert body["counts_through"] == "2024-02-09"
    assert "counts_through" not in _payload(_forecast())


def test_fit_facts_survive_a_re_summary() -> None:
    stored = {"regimes": {"most_likely": "quiet"}, "counts_through": "2024-02-09", "x": 1}
    body = with_fit_facts(_payload(_forecast(), horizon=7), stored)
    assert body["regimes"] == {"most_likely": "quiet"}
    assert body["counts_through"] == "2024-02-09"
    assert "x" not in body and len(body["periods"]) == 7  # type: ignore[arg-type]
