"""RegimeNB recovers a known regime-switching process (synthetic data generated here).

Every series below is simulated by code from a hidden Markov chain with NB2 emissions
whose parameters are known; nothing resembles real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNT
from cadence.models import make_model
from cadence.models.errors import ModelError, NotFittedError, ShortHistoryWarning
from cadence.models.regime_nb import RegimeNB

STAY_2 = np.array([[0.95, 0.05], [0.10, 0.90]])
RATES_2 = np.array([2.0, 20.0])
DRIVER = "stm_deescalation_decay"


def simulate(
    n: int,
    transition: np.ndarray,
    rates: np.ndarray,
    alpha: float,
    *,
    seed: int,
    drivers: tuple[np.ndarray, float] | None = None,
    freq: str = "D",
) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic panel of ``n`` periods and its true regime path. With ``drivers``
    ``(x, b)`` the step into period t adds ``b * x[t - 1]`` to the logit of the quiet
    regime (regime 0) in every row of ``transition``."""
    rng = np.random.default_rng(seed)
    k = rates.size
    states = np.zeros(n, dtype=np.int64)
    log_p = np.log(transition)
    for t in range(1, n):
        logits = log_p[states[t - 1]].copy()
        if drivers is not None:
            logits[0] += drivers[1] * drivers[0][t - 1]
        p = np.exp(logits - logits.max())
        states[t] = rng.choice(k, p=p / p.sum())
    lam = rng.gamma(1.0 / alpha, alpha * rates[states])
    index = pd.date_range("2020-01-06", periods=n, freq=freq, name="date")
    panel = pd.DataFrame({COUNT: rng.poisson(lam).astype(float)}, index=index)
    if drivers is not None:
        panel[DRIVER] = drivers[0][:n]
    panel.attrs["synthetic"] = True
    return panel, states


def statement_signal(
    n: int, *, seed: int, rate: float = 0.03, half_life: float = 5.0
) -> np.ndarray:
    """A decaying de-escalation statement signal: events at ``rate`` per period."""
    rng = np.random.default_rng(seed)
    events = (rng.random(n) < rate).astype(float)
    rho = 0.5 ** (1.0 / half_life)
    out = np.empty(n)
    acc = 0.0
    for t, e in enumerate(events):
        acc = acc * rho + e
        out[t] = acc
    return out


@pytest.fixture(scope="module")
def two_regimes() -> tuple[pd.DataFrame, np.ndarray, RegimeNB]:
    panel, states = simulate(2000, STAY_2, RATES_2, 0.3, seed=1)
    return panel, states, RegimeNB(n_regimes=2).fit(panel)


def test_recovers_transitions_rates_and_dispersion(
    two_regimes: tuple[pd.DataFrame, np.ndarray, RegimeNB],
) -> None:
    _, _, model = two_regimes
    assert model.converged_
    np.testing.assert_allclose(model.transition_, STAY_2, atol=0.03)
    np.testing.assert_allclose(model.rates_, RATES_2, rtol=0.1)
    assert 0.3 * 0.8 < model.alpha_ < 0.3 * 1.25
    assert model.regime_names_ == ["quiet", "active"]


def test_viterbi_decodes_the_regime_path(
    two_regimes: tuple[pd.DataFrame, np.ndarray, RegimeNB],
) -> None:
    panel, states, model = two_regimes
    path = model.decode()
    assert path.index.equals(panel.index)
    assert (path.to_numpy() == states).mean() > 0.95


def test_three_regimes_ordered_and_recovered() -> None:
    transition = np.array([[0.96, 0.03, 0.01], [0.04, 0.92, 0.04], [0.02, 0.08, 0.90]])
    rates = np.array([1.0, 10.0, 60.0])
    panel, states = simulate(2000, transition, rates, 0.15, seed=3)
    model = RegimeNB(n_regimes=3).fit(panel)
    assert model.regime_names_ == ["quiet", "active", "surge"]
    np.testing.assert_allclose(model.rates_, rates, rtol=0.15)
    np.testing.assert_allclose(np.diag(model.transition_), np.diag(transition), atol=0.04)
    assert (model.decode().to_numpy() == states).mean() > 0.9
    # BIC tells the number of regimes apart.
    assert RegimeNB(n_regimes="auto").fit(panel).n_regimes_ == 3
    two_only, _ = simulate(1500, STAY_2, RATES_2, 0.3, seed=4)
    assert RegimeNB(n_regimes="auto").fit(two_only).n_regimes_ == 2


def test_switch_probability_from_a_certain_regime() -> None:
    """A history ending in a long active stretch: the origin regime is certain and
    P(no switch within n) is p_stay ** n; the path means follow the chain."""
    panel, _ = simulate(1500, STAY_2, RATES_2, 0.3, seed=5)
    panel.iloc[-10:, 0] = [25.0, 30.0, 18.0, 22.0, 27.0, 19.0, 24.0, 31.0, 21.0, 26.0]
    model = RegimeNB().fit(panel)
    assert model.regime_probs_[1] > 0.999
    fc = model.forecast(28, n_samples=4000, rng=np.random.default_rng(0))
    block = fc.meta["regimes"]
    assert isinstance(block, dict)
    stay = model.transition_[1, 1]
    assert block["most_likely"] == "active"
    assert block["p_switch"]["7"] == pytest.approx(1 - stay**7, abs=1e-3)
    assert block["p_switch"]["28"] == pytest.approx(1 - stay**28, abs=1e-3)
    assert [s["name"] for s in block["states"]] == ["quiet", "active"]
    # Mean count h periods ahead: the regime law moved h steps along the chain.
    law = model.regime_probs_.copy()
    expected = []
    for _ in range(28):
        law = law @ model.transition_
        expected.append(law @ model.rates_)
    np.testing.assert_allclose(fc.mean(), expected, rtol=0.08)
    # Totals carry the chance of a switch: far wider than a fixed active regime's.
    fixed_sd = np.sqrt(28 * (20 + model.alpha_ * 400))
    assert fc.window_total(28).std() > 1.5 * fixed_sd


def test_switch_probability_mixes_the_origin_regimes() -> None:
    panel, _ = simulate(800, STAY_2, RATES_2, 0.3, seed=6)
    model = RegimeNB().fit(panel)
    block = model.forecast(7, n_samples=10, rng=np.random.default_rng(0)).meta["regimes"]
    assert isinstance(block, dict)
    stay = np.diag(model.transition_)
    expected = 1 - model.regime_probs_ @ stay**28  # beyond the horizon the chain is held
    assert block["p_switch"]["28"] == pytest.approx(expected, abs=1e-9)
    probs = [s["probability"] for s in block["states"]]
    np.testing.assert_allclose(probs, model.regime_probs_)
    assert sum(probs) == pytest.approx(1.0)


def test_same_seed_same_paths_and_fit_is_deterministic() -> None:
    panel, _ = simulate(400, STAY_2, RATES_2, 0.3, seed=7)
    a, b = RegimeNB().fit(panel), RegimeNB().fit(panel)
    np.testing.assert_array_equal(a.rates_, b.rates_)
    np.testing.assert_array_equal(a.transition_, b.transition_)
    fa = a.forecast(14, n_samples=300, rng=np.random.default_rng(3))
    fb = b.forecast(14, n_samples=300, rng=np.random.default_rng(3))
    fc = b.forecast(14, n_samples=300, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(fa.samples, fb.samples)
    assert not np.array_equal(fa.samples, fc.samples)


def test_missing_counts_are_missing_observations(
    two_regimes: tuple[pd.DataFrame, np.ndarray, RegimeNB],
) -> None:
    panel, states, _ = two_regimes
    holed = panel.copy()
    rng = np.random.default_rng(8)
    holed.iloc[rng.choice(len(panel) - 5, size=200, replace=False), 0] = np.nan
    holed.iloc[-3:, 0] = np.nan  # the last three periods unobserved
    model = RegimeNB().fit(holed)
    np.testing.assert_allclose(model.rates_, RATES_2, rtol=0.1)
    np.testing.assert_allclose(model.transition_, STAY_2, atol=0.04)
    assert (model.decode().to_numpy() == states).mean() > 0.9
    # Unobserved periods at the origin only move the regime law along the chain.
    observed_part = RegimeNB().fit(holed.iloc[:-3])
    law = observed_part.regime_probs_ @ np.linalg.matrix_power(observed_part.transition_, 3)
    np.testing.assert_allclose(model.regime_probs_, law, atol=0.02)


def test_driver_raising_the_quiet_regime_is_recovered() -> None:
    n = 2500
    x = statement_signal(n + 1, seed=9)
    base = np.array([[0.93, 0.07], [0.08, 0.92]])
    panel, _ = simulate(n, base, np.array([3.0, 25.0]), 0.2, seed=10, drivers=(x, 2.0))
    model = RegimeNB(transition_drivers=True).fit(panel)
    assert model.drivers_ == [DRIVER]
    true_slope = 2.0 * panel[DRIVER].std(ddof=0)  # per standard deviation of the driver
    assert model.driver_coef_.loc["quiet", DRIVER] == pytest.approx(true_slope, abs=0.25)
    assert model.driver_coef_.loc["active", DRIVER] == 0.0
    # A fresh statement in the future raises the chance of the quiet regime.
    index = pd.date_range(panel.index[-1], periods=15, freq="D")[1:]
    calm = pd.DataFrame({DRIVER: np.zeros(14)}, index=index)
    pause = pd.DataFrame({DRIVER: np.full(14, 2.0)}, index=index)
    rng = np.random.default_rng
    mean_calm = model.forecast(14, future=calm, n_samples=4000, rng=rng(1)).mean()[3:].mean()
    mean_pause = model.forecast(14, future=pause, n_samples=4000, rng=rng(1)).mean()[3:].mean()
    assert mean_pause < mean_calm
    # Without the flag the driver column is ignored.
    assert RegimeNB().fit(panel).drivers_ == []


@pytest.mark.parametrize("freq", ["W-MON", "MS"])
def test_weekly_and_monthly_panels(freq: str) -> None:
    panel, _ = simulate(150, STAY_2, np.array([5.0, 60.0]), 0.2, seed=11, freq=freq)
    model = make_model("regime_nb").fit(panel)
    fc = model.forecast(6, n_samples=200, rng=np.random.default_rng(0))
    assert fc.index.freqstr == freq
    assert fc.index[0] == panel.index[-1] + pd.tseries.frequencies.to_offset(freq)


def test_rejects_an_unknown_number_of_regimes() -> None:
    panel, _ = simulate(200, STAY_2, RATES_2, 0.3, seed=12)
    with pytest.raises(ModelError, match="n_regimes must be 2, 3 or 'auto', got 4"):
        RegimeNB(n_regimes=4).fit(panel)


def test_unfitted_and_fallback_are_explicit() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        RegimeNB().decode()
    panel, _ = simulate(200, STAY_2, RATES_2, 0.3, seed=13)
    panel[COUNT] = 0.0
    panel.iloc[-5, 0] = 4.0  # one event: nothing to tell regimes apart
    with pytest.warns(ShortHistoryWarning, match="regime_nb"):
        model = RegimeNB().fit(panel)
    fc = model.forecast(7, n_samples=100, rng=np.random.default_rng(0))
    assert fc.meta["fallback"] == "climatology"
    assert "regimes" not in fc.meta
    with pytest.raises(ModelError, match="fell back to climatology"):
        model.decode()
    with pytest.raises(ModelError, match="fell back to climatology"):
        model.regime_summary()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_stickiness_makes_regimes_phases_that_carry_into_the_paths(seed: int) -> None:
    """Generated counts: a quiet phase, an active one, then 30 quiet days again, with
    bursty days (NB size 0.5). The sticky prior makes every regime's stay more likely
    than the likelihood alone does, so the paths stay in the quiet phase longer and the
    28-day total comes out lower (the phase's rate gives 17)."""
    rng = np.random.default_rng(seed)
    mu = np.r_[np.full(60, 0.6), np.full(90, 4.0), np.full(30, 0.6)]
    y = rng.poisson(rng.gamma(0.5, mu / 0.5)).astype(float)
    panel = pd.DataFrame({COUNT: y}, index=pd.date_range("2021-01-01", periods=y.size))
    plain = RegimeNB(stickiness=0.0).fit(panel)
    sticky = RegimeNB(stickiness=20.0).fit(panel)
    assert np.all(np.diag(sticky.transition_) > np.diag(plain.transition_))

    def total(m: RegimeNB) -> float:
        paths = m.forecast(28, n_samples=4000, rng=np.random.default_rng(0)).samples
        return float(paths.sum(axis=1).mean())

    assert total(sticky) < total(plain)
    with pytest.raises(ModelError, match="stickiness"):
        RegimeNB(stickiness=-1.0).fit(panel)
