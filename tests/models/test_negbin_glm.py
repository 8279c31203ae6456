"""NegBinGLM: estimates, effects, interval fits, simulation and its guards (synthetic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cadence.columns import COUNT
from cadence.models._design import read_series
from cadence.models.baselines import Climatology
from cadence.models.errors import (
    FutureFrameError,
    PanelError,
    ReducedModelWarning,
    ShortHistoryWarning,
)
from cadence.models.negbin_glm import EFFECT_COLUMNS, NegBinGLM, fill_counts, lag_features
from tests.models import synthetic
from tests.models.synthetic import (
    RET_STRIKE,
    STM_DEESCALATION,
    STM_ESCALATION,
    SyntheticCase,
    SyntheticSpec,
    constant_rate_panel,
    intervals_from,
)


@pytest.fixture(scope="module")
def long_case() -> SyntheticCase:
    """Four years daily, retaliation provokes (+0.4), de-escalation calms (-0.5)."""
    return synthetic.case("D", 1460, seed=31)


@pytest.fixture(scope="module")
def fitted(long_case: SyntheticCase) -> NegBinGLM:
    return NegBinGLM().fit(long_case.panel)


def test_matches_statsmodels_negative_binomial(daily_case: SyntheticCase) -> None:
    model = NegBinGLM(ridge=0.0).fit(daily_case.panel)
    span = max(model.lags_, model.rolling_)
    series = read_series(daily_case.panel)
    ar = lag_features(fill_counts(series, None), model.lags_, model.rolling_)
    x = np.column_stack([ar, daily_case.panel[model.exog_columns_].to_numpy()])[span:]
    ref = sm.NegativeBinomial(series.y[span:], sm.add_constant(x)).fit(disp=0, maxiter=300)
    np.testing.assert_allclose(model.coef_.to_numpy(), ref.params[1:-1], atol=1e-3)
    assert model.intercept_ == pytest.approx(ref.params[0], abs=1e-3)
    assert model.alpha_ == pytest.approx(ref.params[-1], rel=1e-3)


def test_effects_shape_and_signs(fitted: NegBinGLM, long_case: SyntheticCase) -> None:
    eff = fitted.effects()
    assert list(eff.columns) == list(EFFECT_COLUMNS)
    assert set(eff["feature"]) == {RET_STRIKE, STM_ESCALATION, STM_DEESCALATION}
    assert (eff["lower"] < eff["irr"]).all() and (eff["irr"] < eff["upper"]).all()
    row = eff.set_index("feature")
    truth = long_case.spec.effects
    # Retaliation provokes: IRR above 1 and significant; de-escalation calms.
    assert row.loc[RET_STRIKE, "lower"] > 1.0
    assert row.loc[RET_STRIKE, "p_value"] < 0.01
    assert row.loc[STM_DEESCALATION, "upper"] < 1.0
    for feature, beta in truth.items():
        assert row.loc[feature, "lower"] < np.exp(beta) < row.loc[feature, "upper"], feature


def test_no_effect_gives_an_interval_around_one() -> None:
    spec = SyntheticSpec(effects={RET_STRIKE: 0.0, STM_ESCALATION: 0.0, STM_DEESCALATION: 0.0})
    case = synthetic.case("D", 1460, seed=32, spec=spec)
    eff = NegBinGLM().fit(case.panel).effects().set_index("feature")
    assert (eff["lower"] < 1.0).all() and (eff["upper"] > 1.0).all()


def test_interval_fit_recovers_a_daily_rate() -> None:
    """A model with no lags and no covariates fitted to interval totals only recovers the
    daily rate that generated them."""
    panel = constant_rate_panel(2000, mu=3.0, alpha=0.3, seed=33)
    hidden, intervals = intervals_from(panel, [5, 9, 14])
    model = NegBinGLM(lags=0, rolling=0, exogenous=False, min_periods=10).fit(
        hidden, intervals=intervals
    )
    assert np.exp(model.intercept_) == pytest.approx(3.0, abs=0.15)
    # ~220 interval totals pin alpha down only loosely ...
    assert 0.15 < model.alpha_ < 0.6
    # ... but with a constant rate the likelihood is Climatology's exact one.
    clim = Climatology(window=None).fit(hidden, intervals=intervals)
    assert np.exp(model.intercept_) == pytest.approx(clim.mu_, rel=1e-4)
    assert model.alpha_ == pytest.approx(clim.alpha_, rel=1e-3)


def test_interval_fit_keeps_the_effects(long_case: SyntheticCase) -> None:
    hidden, intervals = intervals_from(long_case.panel, [7, 10, 14], first=0, last=800)
    eff = NegBinGLM().fit(hidden, intervals=intervals).effects().set_index("feature")
    assert eff.loc[RET_STRIKE, "lower"] > 1.0
    assert eff.loc[STM_DEESCALATION, "upper"] < 1.0


def test_simulation_feeds_back_simulated_counts(
    fitted: NegBinGLM, long_case: SyntheticCase
) -> None:
    """Lags come from the paths: after a burst the first days are higher than later
    ones, and higher than after a quiet spell."""
    rng = np.random.default_rng(0)
    future = long_case.future
    burst, quiet = long_case.panel.copy(), long_case.panel.copy()
    burst.iloc[-7:, 0] = 40.0
    quiet.iloc[-7:, 0] = 0.0
    hot = NegBinGLM().fit(burst).forecast(28, future=future, n_samples=2000, rng=rng)
    cold = NegBinGLM().fit(quiet).forecast(28, future=future, n_samples=2000, rng=rng)
    assert hot.mean()[0] > 1.3 * cold.mean()[0]
    assert hot.mean()[0] > hot.mean()[-7:].mean()
    assert fitted.coef_["log1p_lag1"] > 0.1


def test_future_frame_is_required_and_checked(fitted: NegBinGLM, long_case: SyntheticCase) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(FutureFrameError, match="pass future"):
        fitted.forecast(7, rng=rng)
    with pytest.raises(FutureFrameError, match="lacks exogenous columns"):
        fitted.forecast(7, future=long_case.future.drop(columns=[RET_STRIKE]), rng=rng)
    with pytest.raises(FutureFrameError, match="horizon period"):
        fitted.forecast(40, future=long_case.future, rng=rng)  # future covers 28


def test_scenario_in_future_moves_the_forecast(fitted: NegBinGLM, long_case: SyntheticCase) -> None:
    strike = long_case.future.copy()
    strike[RET_STRIKE] = 2.0  # a hypothetical strike series decaying slowly
    base = fitted.forecast(
        14, future=long_case.future, n_samples=2000, rng=np.random.default_rng(1)
    )
    hit = fitted.forecast(14, future=strike, n_samples=2000, rng=np.random.default_rng(1))
    assert hit.mean().mean() > 1.5 * base.mean().mean()


def test_collinear_dummies_are_dropped(long_case: SyntheticCase) -> None:
    panel = long_case.panel.copy()
    dows = [f"cal_dow_{d}" for d in range(1, 7)]
    panel["cal_dow_0"] = 1.0 - panel[dows].sum(axis=1)
    model = NegBinGLM().fit(panel)
    assert model.coef_["cal_dow_0"] == 0.0
    assert np.isfinite(model.coef_).all()


def test_short_history_drops_lags_then_falls_back(daily_case: SyntheticCase) -> None:
    with pytest.warns(ReducedModelWarning, match="without lags"):
        reduced = NegBinGLM().fit(daily_case.panel.iloc[:40])
    assert reduced.reduced_ and reduced.lags_ == 0 and reduced.rolling_ == 0
    drivers = {RET_STRIKE, STM_ESCALATION, STM_DEESCALATION}
    assert reduced.exog_columns_ and set(reduced.exog_columns_) <= drivers  # no cal_ terms
    future = daily_case.panel.iloc[40:47].drop(columns=[COUNT])
    fc = reduced.forecast(7, future=future, rng=np.random.default_rng(0))
    assert "fallback" not in fc.meta
    assert len(reduced.effects()) == len(reduced.exog_columns_)

    with pytest.warns(ShortHistoryWarning, match=r"climatology.*include=|include=.*climatology"):
        model = NegBinGLM().fit(daily_case.panel.iloc[:20])
    fc = model.forecast(7, future=daily_case.future, rng=np.random.default_rng(0))
    assert fc.meta["fallback"] == "climatology"
    assert fc.model == "negbin_glm"
    assert model.effects().empty


def test_weekly_and_monthly_defaults(
    weekly_case: SyntheticCase, monthly_case: SyntheticCase
) -> None:
    weekly = NegBinGLM().fit(weekly_case.panel)
    monthly = NegBinGLM().fit(monthly_case.panel)
    assert (weekly.lags_, weekly.rolling_) == (4, 8)
    assert (monthly.lags_, monthly.rolling_) == (3, 6)
    assert "cal_dow_1" not in weekly.exog_columns_  # no such column at weekly frequency


def test_thousands_per_day(daily_case: SyntheticCase) -> None:
    panel = daily_case.panel.copy()
    panel[COUNT] = panel[COUNT] * 400
    fc = (
        NegBinGLM()
        .fit(panel)
        .forecast(28, future=daily_case.future, n_samples=500, rng=np.random.default_rng(3))
    )
    level = panel[COUNT].iloc[-90:].mean()
    assert 0.5 * level < fc.mean().mean() < 2 * level


def test_missing_days_without_intervals_are_skipped(long_case: SyntheticCase) -> None:
    panel = long_case.panel.copy()
    panel.iloc[100:160, 0] = np.nan
    model = NegBinGLM().fit(panel)
    full = NegBinGLM().fit(long_case.panel)
    assert model.n_obs_ < full.n_obs_
    assert model.coef_[RET_STRIKE] == pytest.approx(full.coef_[RET_STRIKE], abs=0.1)


def test_not_constant_columns_only(long_case: SyntheticCase) -> None:
    panel = long_case.panel.copy()
    panel["ret_always_zero"] = 0.0
    panel["stm_missing"] = np.nan
    panel["other_column"] = pd.Series(np.arange(len(panel)), index=panel.index)
    model = NegBinGLM().fit(panel)
    assert "ret_always_zero" not in model.exog_columns_
    assert "stm_missing" not in model.exog_columns_
    assert "other_column" not in model.exog_columns_


def _quiet_start(c: SyntheticCase) -> pd.DataFrame:
    panel = c.panel.copy()
    panel.iloc[: 2 * len(panel) // 3, 0] = 0.0  # nothing happens for sixteen months
    return panel


def test_persistence_cap_keeps_paths_from_exploding(daily_case: SyntheticCase) -> None:
    """Without the leading-zero trim the lags 'explain' the switch from silence to
    activity with an explosive sum of AR coefficients; the cap holds it at 0.9."""
    panel = _quiet_start(daily_case)
    n_ar = 8  # seven lags and the rolling mean
    free = NegBinGLM(trim_leading_zeros=False, max_persistence=None).fit(panel)
    capped = NegBinGLM(trim_leading_zeros=False).fit(panel)
    assert free.coef_.iloc[:n_ar].sum() > 1.5
    assert capped.coef_.iloc[:n_ar].sum() == pytest.approx(0.9, abs=0.01)
    rng = np.random.default_rng(0)
    wild = free.forecast(28, future=daily_case.future, n_samples=500, rng=rng)
    tame = capped.forecast(28, future=daily_case.future, n_samples=500, rng=rng)
    recent = panel[COUNT].iloc[-90:].mean()
    assert wild.mean()[-7:].mean() > 10 * recent
    assert tame.mean()[-7:].mean() < 2 * recent


def test_leading_zeros_are_left_out_of_the_fit(daily_case: SyntheticCase) -> None:
    panel = _quiet_start(daily_case)
    trimmed = NegBinGLM().fit(panel)
    first = int(np.flatnonzero(panel[COUNT].to_numpy() > 0)[0])
    assert trimmed.n_obs_ == len(panel) - first
    kept = NegBinGLM(trim_leading_zeros=False).fit(panel)
    rng = np.random.default_rng(1)
    recent = panel[COUNT].iloc[-90:].mean()
    near = trimmed.forecast(28, future=daily_case.future, n_samples=500, rng=rng).mean()
    low = kept.forecast(28, future=daily_case.future, n_samples=500, rng=rng).mean()
    # Sixteen silent months drag the untrimmed long-run level far below the recent one.
    assert low[-7:].mean() < 0.5 * recent < near[-7:].mean()


def test_few_interval_totals_fit_chosen_columns(daily_case: SyntheticCase) -> None:
    """Fifteen tallies of about a week each, as official briefings give them: the full
    model is out of reach; the driver effects alone, or the columns passed in
    ``include``, are estimable."""
    panel, intervals = intervals_from(daily_case.panel.iloc[-120:], [8, 9, 7], first=0, last=118)
    assert len(intervals) == 15 and panel[COUNT].notna().sum() == 2
    # 18 coefficients: intercept, 7 lags, the rolling mean, 3 drivers, 6 weekday dummies;
    # the annual pair is left out of a 120-day fit (it cannot go through two cycles).
    with pytest.warns(ReducedModelWarning, match="17 observations for 18 coefficients"):
        auto = NegBinGLM().fit(panel, intervals=intervals)
    assert auto.reduced_ and len(auto.effects()) == 3
    chosen = NegBinGLM(lags=0, rolling=0, include=[RET_STRIKE, STM_DEESCALATION]).fit(
        panel, intervals=intervals
    )
    assert not chosen.reduced_ and chosen.fallback_ is None
    assert list(chosen.effects()["feature"]) == [RET_STRIKE, STM_DEESCALATION]
    with pytest.raises(PanelError, match="not in the panel"):
        NegBinGLM(include=["ret_nonexistent"]).fit(panel, intervals=intervals)
