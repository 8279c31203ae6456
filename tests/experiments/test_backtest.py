"""Rolling-origin backtests on synthetic series (every row generated here, labelled
``synthetic``): no leakage, failures reported, the fixed JSON shape, skill, intervals."""

from __future__ import annotations

import json
import math
from types import MappingProxyType
from typing import Self

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from cadence.columns import COUNT, DATE, END, KIND, SERIES, SOURCE, STANCE, START, TARGET
from cadence.experiments.backtest import (
    MAX_GAP,
    BacktestResult,
    ModelConfig,
    default_origins,
    fit_and_forecast,
    run_backtest,
)
from cadence.experiments.data import SeriesData
from cadence.experiments.errors import BacktestConfigError, NoOriginsError
from cadence.experiments.scoring import METRICS
from cadence.features import SeriesSpec
from cadence.models import lookup
from cadence.models.baselines import Climatology

SPEC = {
    "name": "synthetic-attacks",
    "frequency": "D",
    "target": {"events": {"kind": "attack"}},
    "drivers": {"retaliation": {"kind": "retaliation"}, "statements": {"source": "synthetic"}},
}


def synthetic_events(
    days: int = 150, rate: float = 2.0, seed: int = 0, start: str = "2024-01-01"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Poisson attack counts per day, a retaliation every 20 days, a statement every 10."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    n = rng.poisson(rate, size=days)
    attacks = pd.DataFrame({DATE: np.repeat(dates.to_numpy(), n), KIND: "attack"})
    ret = pd.DataFrame({DATE: dates[5::20], KIND: "retaliation"})
    events = pd.concat([attacks, ret], ignore_index=True).sort_values(DATE, kind="stable")
    events[TARGET] = "US forces"
    events[SOURCE] = "synthetic"
    events["fatalities"] = 0.0
    events[DATE] = events[DATE].astype("datetime64[s]")
    sdates = dates[3::10]
    stances = ["escalation", "neutral", "de-escalation"]
    statements = pd.DataFrame(
        {
            DATE: sdates.astype("datetime64[s]"),
            STANCE: [stances[i % 3] for i in range(len(sdates))],
            SOURCE: "synthetic",
        }
    )
    return events.reset_index(drop=True), statements


def synthetic_data(**kw: object) -> SeriesData:
    events, statements = synthetic_events(**kw)  # type: ignore[arg-type]
    return SeriesData(SeriesSpec.from_dict(SPEC), events, statements, None)


def with_spike(data: SeriesData, day: str, n: int = 500) -> SeriesData:
    """The same series with ``n`` more attacks (and a retaliation, a statement) on ``day``."""
    extra = pd.DataFrame(
        {
            DATE: [pd.Timestamp(day)] * (n + 1),
            KIND: ["attack"] * n + ["retaliation"],
            TARGET: "US forces",
            SOURCE: "synthetic",
            "fatalities": 5.0,
        }
    )
    extra[DATE] = extra[DATE].astype("datetime64[s]")
    events = pd.concat([data.events, extra], ignore_index=True).sort_values(DATE, kind="stable")
    stm = pd.DataFrame(
        {DATE: [pd.Timestamp(day)], STANCE: ["escalation"], SOURCE: "synthetic"}
    ).astype({DATE: "datetime64[s]"})
    statements = pd.concat([data.statements, stm], ignore_index=True)
    return SeriesData(data.spec, events.reset_index(drop=True), statements, None)


FAST = [ModelConfig("climatology"), ModelConfig("recent_rate"), ModelConfig("negbin_glm")]


@pytest.fixture(scope="module")
def data() -> SeriesData:
    return synthetic_data()


@pytest.fixture(scope="module")
def result(data: SeriesData) -> BacktestResult:
    origins = default_origins(data, every="14D", horizon=14)
    return run_backtest(data, FAST, origins=origins, horizon=14, n_samples=300, seed=3)


# --- leakage ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["climatology", "negbin_glm", "hawkes"])
def test_a_spike_after_the_origin_does_not_reach_the_forecast(data: SeriesData, name: str) -> None:
    origin = pd.Timestamp("2024-04-01")
    leaked = with_spike(data, "2024-04-04")
    cfg = ModelConfig(name)
    _, clean = fit_and_forecast(data, cfg, origin, 14, n_samples=200, seed=0)
    _, spiked = fit_and_forecast(leaked, cfg, origin, 14, n_samples=200, seed=0)
    np.testing.assert_array_equal(clean.samples, spiked.samples)
    # the spike is real for the engine: it is in the truth, and a model fitted after it
    # (what a leaking engine would do) forecasts differently
    assert leaked.truth(origin, 14)[2] - data.truth(origin, 14)[2] == 500
    _, late = fit_and_forecast(leaked, cfg, pd.Timestamp("2024-04-04"), 14, n_samples=200, seed=0)
    assert late.samples.mean() > clean.samples.mean() + 1


def test_a_leaked_future_value_changes_the_score_but_not_the_forecasts(data: SeriesData) -> None:
    origins = [pd.Timestamp("2024-03-18"), pd.Timestamp("2024-04-01")]
    leaked = with_spike(data, "2024-04-04")
    kw = {"origins": origins, "horizon": 14, "n_samples": 200, "seed": 1}
    a = run_backtest(data, FAST, **kw)  # type: ignore[arg-type]
    b = run_backtest(leaked, FAST, **kw)  # type: ignore[arg-type]
    for fa, fb in zip(a.forecasts, b.forecasts, strict=True):
        assert fa.forecast is not None and fb.forecast is not None
        np.testing.assert_array_equal(fa.forecast.samples, fb.forecast.samples)
    ca = a.per_origin.set_index(["model", "origin", "horizon"])["crps"]
    cb = b.per_origin.set_index(["model", "origin", "horizon"])["crps"]
    hit = ("climatology", origins[1], 3)  # 2024-04-04 is day 3 after 2024-04-01
    assert cb[hit] > ca[hit] + 100
    unaffected = ("climatology", origins[1], 2)
    assert cb[unaffected] == ca[unaffected]


def test_panels_and_futures_see_only_rows_up_to_the_origin(data: SeriesData) -> None:
    leaked = with_spike(data, "2024-04-04")
    origin = pd.Timestamp("2024-04-01")
    pd.testing.assert_frame_equal(data.panel(origin).frame, leaked.panel(origin).frame)
    pd.testing.assert_frame_equal(data.future(origin, 10), leaked.future(origin, 10))
    assert leaked.panel(pd.Timestamp("2024-04-04")).frame[COUNT].iloc[-1] >= 500


# --- shape of results -------------------------------------------------------------------------


def test_origins_are_spaced_back_from_the_last_complete_horizon(data: SeriesData) -> None:
    origins = default_origins(data, every="7D", horizon=14)
    assert origins[-1] == data.last_period - pd.Timedelta(days=14)
    assert set(np.diff(origins)) == {pd.Timedelta(days=7)}
    assert origins[0] >= data.first_period + pd.Timedelta(days=55)
    sub = default_origins(data, start="2024-04-01", end="2024-04-20", every="7D", horizon=14)
    assert sub == [pd.Timestamp(d) for d in ("2024-04-06", "2024-04-13", "2024-04-20")]
    with pytest.raises(NoOriginsError, match="no origin"):
        default_origins(data, start="2024-05-25", every="7D", horizon=28)


def test_scores_by_horizon_and_over_all(result: BacktestResult) -> None:
    n_origins = len(result.origins)
    assert result.models == ["climatology", "recent_rate", "negbin_glm"]
    assert len(result.per_origin) == 3 * n_origins * 14
    assert set(result.scores["horizon"]) == {*range(1, 15), "all"}
    all_rows = result.scores[result.scores["horizon"] == "all"].set_index("model")
    po = result.per_origin
    for m in result.models:
        assert all_rows.loc[m, "n"] == n_origins * 14
        assert all_rows.loc[m, "crps"] == pytest.approx(po[po["model"] == m]["crps"].mean())
    h1 = result.scores[(result.scores["horizon"] == 1) & (result.scores["model"] == "negbin_glm")]
    assert int(h1["n"].iloc[0]) == n_origins
    # 7-day totals: two windows per 14-day horizon
    assert set(result.window_per_origin["horizon"]) == {1, 2}
    assert len(result.window_per_origin) == 3 * n_origins * 2


def test_skill_is_relative_to_climatology(result: BacktestResult) -> None:
    skill = result.skill_vs_climatology()
    assert skill["climatology"] == 0.0
    crps = result.scores[result.scores["horizon"] == "all"].set_index("model")["crps"]
    assert skill["negbin_glm"] == pytest.approx(1 - crps["negbin_glm"] / crps["climatology"])


def test_climatology_is_added_when_missing(data: SeriesData) -> None:
    origins = default_origins(data, every="28D", horizon=7)
    r = run_backtest(data, [ModelConfig("recent_rate")], origins=origins, horizon=7, n_samples=50)
    assert r.models == ["climatology", "recent_rate"]
    assert math.isfinite(r.skill_vs_climatology()["recent_rate"])


@pytest.mark.parametrize(
    ("horizon", "n_samples", "field"), [(0, 50, "horizon"), (7, 0, "n_samples")]
)
def test_a_horizon_or_path_count_below_one_is_a_config_error(
    data: SeriesData, horizon: int, n_samples: int, field: str
) -> None:
    origins = default_origins(data, every="28D", horizon=7)
    with pytest.raises(BacktestConfigError, match=rf"^{field}: expected an integer >= 1, got 0$"):
        run_backtest(
            data,
            [ModelConfig("recent_rate")],
            origins=origins,
            horizon=horizon,
            n_samples=n_samples,
        )


def test_a_forecast_may_start_up_to_five_years_past_the_data_and_no_further(
    data: SeriesData,
) -> None:
    """Past the last period of the data (here the last attack day; an events series
    reads the days after it as empty) a forecast's panel or simulated gap grows with the
    distance: within ``MAX_GAP`` the periods after the origin are forecast, beyond it the
    origin is refused before anything is built."""
    last = data.last_period
    edge = last + pd.Timedelta(days=MAX_GAP["D"])
    _, fc = fit_and_forecast(data, ModelConfig("climatology"), edge, 7, n_samples=20, seed=0)
    assert fc.origin == edge
    assert fc.samples.shape == (20, 7)
    with pytest.raises(BacktestConfigError, match=r"lies 1,831 days after the last period"):
        fit_and_forecast(
            data, ModelConfig("climatology"), edge + pd.Timedelta(days=1), 7, n_samples=20, seed=0
        )


def test_crps_difference_and_its_interval(result: BacktestResult) -> None:
    mean, lo, hi = result.crps_difference("negbin_glm", "climatology", n_boot=500, seed=0)
    a = result.origin_crps("negbin_glm")
    b = result.origin_crps("climatology")
    assert mean == pytest.approx(float((a - b).mean()))
    assert lo <= mean <= hi
    assert result.crps_difference("climatology", "climatology") == (0.0, 0.0, 0.0)


def test_json_has_exactly_the_published_shape(result: BacktestResult) -> None:
    doc = json.loads(json.dumps(result.to_json({"negbin_glm": "abc123"})))
    assert list(doc) == [
        "series",
        "frequency",
        "origins",
        "horizon",
        "scores",
        "skill_vs_climatology",
        "mlflow_run_ids",
        "totals",
    ]
    assert doc["series"] == "synthetic-attacks" and doc["frequency"] == "D"
    assert doc["horizon"] == 14
    assert doc["origins"] == [o.strftime("%Y-%m-%d") for o in result.origins]
    assert doc["mlflow_run_ids"] == {"negbin_glm": "abc123"}
    keys = ["model", "horizon", *METRICS, "n"]
    for row in doc["scores"]:
        assert list(row) == keys
        assert row["horizon"] == "all" or isinstance(row["horizon"], int)
        assert isinstance(row["n"], int)
    late = [r for r in doc["scores"] if r["horizon"] == 14]
    assert all(r["brier_any_7"] is None for r in late)  # the 7-day window leaves the horizon
    assert set(doc["skill_vs_climatology"]) == set(result.models)
    # window totals: 7 and 14 days fit in the 14-day horizon, 28 does not
    assert set(doc["totals"]) == {"7", "14"}
    for rows in doc["totals"].values():
        assert all(list(row) == keys for row in rows)


def test_window_totals_are_scored_on_the_summed_paths(result: BacktestResult) -> None:
    """The 14-day total's CRPS of each model is the CRPS of its paths' sums against the
    sum of what happened, averaged over origins."""
    per_origin = result.total_per_origin[14]
    for f in result.forecasts:
        if f.forecast is None or not np.isfinite(f.truth[:14]).all():
            continue
        paths = f.forecast.samples[:, :14].sum(axis=1).astype(float)
        expected = float(sr.crps_ensemble(float(f.truth[:14].sum()), paths))
        row = per_origin[(per_origin["model"] == f.model) & (per_origin["origin"] == f.origin)]
        assert float(row["crps"].iloc[0]) == pytest.approx(expected)
    assert 28 not in result.total_scores or result.total_scores[28].empty


def test_same_seed_same_result_other_seed_other_samples(data: SeriesData) -> None:
    origins = default_origins(data, every="28D", horizon=7)
    kw = {"origins": origins, "horizon": 7, "n_samples": 100}
    a = run_backtest(data, FAST, seed=5, **kw)  # type: ignore[arg-type]
    b = run_backtest(data, FAST, seed=5, **kw)  # type: ignore[arg-type]
    c = run_backtest(data, FAST, seed=6, **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.per_origin, b.per_origin)
    assert not a.per_origin["crps"].equals(c.per_origin["crps"])


# --- failures -------------------------------------------------------------------------------------


class FlakyModel(Climatology):
    """Climatology that refuses to fit on panels ending in March (a test double)."""

    name = "flaky"

    def fit(
        self, panel: pd.DataFrame, target: str = COUNT, intervals: pd.DataFrame | None = None
    ) -> Self:
        if pd.Timestamp(panel.index[-1]).month == 3:
            raise RuntimeError("cannot fit in March")
        return super().fit(panel, target, intervals)


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = lookup.ModelSpec("flaky", f"{__name__}:FlakyModel", "test double")
    monkeypatch.setattr(lookup, "REGISTRY", MappingProxyType({**lookup.REGISTRY, "flaky": spec}))


@pytest.mark.usefixtures("flaky")
def test_failures_are_reported_with_origin_and_reason(data: SeriesData) -> None:
    origins = default_origins(data, every="14D", horizon=7)
    bad = ModelConfig("negbin_glm", {"include": ["no_such_column"]}, alias="broken")
    r = run_backtest(
        data,
        [ModelConfig("flaky"), bad, ModelConfig("no_such_model")],
        origins=origins,
        horizon=7,
        n_samples=50,
    )
    march = [o for o in origins if o.month == 3]
    assert march
    flaky_fails = [(o, why) for m, o, why in r.failures if m == "flaky"]
    assert [o for o, _ in flaky_fails] == march
    assert all(why == "RuntimeError: cannot fit in March" for _, why in flaky_fails)
    assert [o for m, o, _ in r.failures if m == "broken"] == origins
    assert all("no_such_column" in why for m, _, why in r.failures if m == "broken")
    assert "no_such_model" in r.skipped and "no model named" in r.skipped["no_such_model"]
    # the failed origins are absent from the scores, the others are scored
    scored = r.per_origin[r.per_origin["model"] == "flaky"]["origin"].unique()
    assert sorted(scored) == [o for o in origins if o.month != 3]
    assert "broken" not in set(r.scores["model"])
    assert next(f.error for f in r.forecasts if f.model == "broken").startswith("PanelError")


# --- ensemble ----------------------------------------------------------------------------------


def test_ensemble_mixes_members_with_weights_from_earlier_origins(data: SeriesData) -> None:
    origins = default_origins(data, every="7D", horizon=7)
    configs = [*FAST, ModelConfig("ensemble")]
    r = run_backtest(data, configs, origins=origins, horizon=7, n_samples=200, seed=2)
    ens = [f for f in r.forecasts if f.model == "ensemble"]
    assert all(f.forecast is not None for f in ens)
    first = ens[0].forecast
    assert first is not None
    assert first.meta["weights"] == pytest.approx([1 / 3] * 3)  # nothing observed yet
    last = ens[-1].forecast
    assert last is not None
    # members worse than climatology over the periods observed by then get no weight
    po = r.per_origin
    seen = po[po["origin"] + pd.to_timedelta(po["horizon"], unit="D") <= origins[-1]]
    means = seen.groupby("model")["crps"].mean()
    weights = dict(zip(last.meta["members"], last.meta["weights"], strict=True))
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["climatology"] > 0
    for m in ("recent_rate", "negbin_glm"):
        if means[m] > means["climatology"]:
            assert weights[m] == 0.0
        else:
            assert weights[m] > 0
    # every ensemble path is a path of one member at that origin
    members = {
        f.model: {tuple(p) for p in f.forecast.samples}
        for f in r.forecasts
        if f.origin == origins[-1] and f.model != "ensemble" and f.forecast is not None
    }
    union = set().union(*members.values())
    assert all(tuple(p) in union for p in last.samples)
    assert sum(last.meta["paths"]) == 200


# --- interval observations -----------------------------------------------------------------------


def interval_data() -> SeriesData:
    """A synthetic observed series: daily counts, then totals over 5-day spans."""
    spec = SeriesSpec.from_dict(
        {"name": "synthetic-tallies", "frequency": "D", "target": {"observations": True}}
    )
    rng = np.random.default_rng(7)
    days = pd.date_range("2024-01-01", periods=100, freq="D")
    rows = [(d, d + pd.Timedelta(days=1), int(rng.poisson(3))) for d in days]
    spans = pd.date_range("2024-04-10", periods=6, freq="5D")
    rows += [(s, s + pd.Timedelta(days=5), int(rng.poisson(15))) for s in spans]
    obs = pd.DataFrame(rows, columns=[START, END, COUNT])
    obs.insert(0, SERIES, spec.name)
    obs[START] = obs[START].astype("datetime64[s]")
    obs[END] = obs[END].astype("datetime64[s]")
    empty = pd.DataFrame({DATE: pd.Series([], dtype="datetime64[s]")})
    return SeriesData(spec, empty, empty, obs)


def test_interval_series_skip_models_without_interval_support_and_leave_truth_unknown() -> None:
    d = interval_data()
    assert d.has_intervals
    origins = [pd.Timestamp("2024-03-20"), pd.Timestamp("2024-04-06")]
    r = run_backtest(
        d,
        [ModelConfig("climatology"), ModelConfig("hawkes")],
        origins=origins,
        horizon=10,
        n_samples=100,
    )
    assert "hawkes" in r.skipped and "interval" in r.skipped["hawkes"]
    assert r.models == ["climatology"]
    truth = d.truth(origins[1], 10)
    assert np.isfinite(truth[:3]).all() and np.isnan(truth[3:]).all()  # from 2024-04-10 on
    po = r.per_origin.set_index(["origin", "horizon"])
    assert math.isnan(po.loc[(origins[1], 5), "crps"])
    assert r.scores.set_index(["model", "horizon"]).loc[("climatology", "all"), "n"] == 10 + 3
