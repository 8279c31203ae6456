"""Ensemble: weights, mixture proportions, reproducibility, interval capability."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from cadence.columns import COUNT
from cadence.models.baselines import Climatology, RecentRate
from cadence.models.ensemble import (
    Ensemble,
    PoolScores,
    energy_terms,
    mix_paths,
    weights_from_scores,
)
from cadence.models.errors import IntervalsUnsupportedError, NotFittedError
from cadence.models.forecast import CountForecast
from cadence.models.prophet_counts import ProphetCounts
from tests.models.synthetic import SyntheticCase, intervals_from


class Constant:
    """A member that always forecasts ``value``: makes mixture shares countable."""

    supports_intervals = True

    def __init__(self, value: int) -> None:
        self.value = value
        self.name = f"constant_{value}"

    def get_params(self) -> dict[str, object]:
        return {"value": self.value}

    def fit(
        self, panel: pd.DataFrame, target: str = COUNT, intervals: pd.DataFrame | None = None
    ) -> Self:
        self.origin_ = panel.index[-1]
        return self

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        index = pd.date_range(self.origin_, periods=horizon + 1, freq="D")[1:]
        samples = np.full((n_samples, horizon), self.value, dtype=np.int64)
        return CountForecast(origin=self.origin_, samples=samples, index=index)


def test_weights_are_normalized_and_validated() -> None:
    ens = Ensemble([Constant(0), Constant(100)], weights=[1.0, 3.0])
    np.testing.assert_allclose(ens.member_weights, [0.25, 0.75])
    np.testing.assert_allclose(Ensemble([Constant(0), Constant(1)]).member_weights, [0.5, 0.5])
    with pytest.raises(ValueError, match="2 weights"):
        Ensemble([Constant(0), Constant(1)], weights=[1.0])
    with pytest.raises(ValueError, match=">= 0"):
        Ensemble([Constant(0), Constant(1)], weights=[1.0, -1.0])


def test_weights_from_scores_favour_the_lower_crps() -> None:
    w = weights_from_scores([1.0, 2.0, 4.0])
    np.testing.assert_allclose(w, [4 / 7, 2 / 7, 1 / 7])
    np.testing.assert_allclose(weights_from_scores([1.0, 2.0], power=0.0), [0.5, 0.5])
    assert weights_from_scores([1.0, 2.0], power=4.0)[0] > 0.9
    with pytest.raises(ValueError):
        weights_from_scores([1.0, 0.0])
    ens = Ensemble.from_scores([Constant(0), Constant(1)], [2.0, 1.0])
    np.testing.assert_allclose(ens.member_weights, [1 / 3, 2 / 3])


def test_paths_are_drawn_from_members_by_weight(daily_case: SyntheticCase) -> None:
    ens = Ensemble([Constant(0), Constant(100), Constant(7)], weights=[0.25, 0.75, 0.0])
    fc = ens.fit(daily_case.panel).forecast(5, n_samples=4000, rng=np.random.default_rng(0))
    firsts = fc.samples[:, 0]
    assert set(np.unique(firsts)) == {0, 100}  # a zero-weight member is never drawn
    share = (firsts == 100).mean()
    assert abs(share - 0.75) < 3 * np.sqrt(0.75 * 0.25 / 4000)
    assert (fc.samples == fc.samples[:, :1]).all()  # whole paths, not mixed per period
    assert fc.meta["paths"][2] == 0
    # Shuffled: the first 100 paths are a mixture too.
    assert 0 < (fc.samples[:100, 0] == 100).mean() < 1


def test_same_seed_same_paths(daily_case: SyntheticCase) -> None:
    ens = Ensemble([Climatology(), RecentRate()], weights=[0.6, 0.4]).fit(daily_case.panel)
    a = ens.forecast(14, n_samples=300, rng=np.random.default_rng(9))
    b = ens.forecast(14, n_samples=300, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.model == "ensemble"


def test_interval_capability_follows_members(daily_case: SyntheticCase) -> None:
    panel, intervals = intervals_from(daily_case.panel, 7, first=0, last=210)
    capable = Ensemble([Climatology(), RecentRate()])
    assert capable.supports_intervals
    fc = capable.fit(panel, intervals=intervals).forecast(7, rng=np.random.default_rng(0))
    assert fc.samples.shape == (1000, 7)
    mixed = Ensemble([Climatology(), ProphetCounts()])
    assert not mixed.supports_intervals
    with pytest.raises(IntervalsUnsupportedError, match="prophet"):
        mixed.fit(panel, intervals=intervals)


def test_params_are_flat_for_logging() -> None:
    params = Ensemble([Climatology(window=90), RecentRate()], weights=[3, 1]).log_params()
    assert params["members"] == "climatology,recent_rate"
    assert params["weights"] == "0.75,0.25"
    assert params["m0.climatology.window"] == 90


def test_forecast_before_fit_is_an_error() -> None:
    with pytest.raises(NotFittedError):
        Ensemble().forecast(3, rng=np.random.default_rng(0))


def test_pool_crps_is_the_crps_of_the_weighted_mixture() -> None:
    """The quadratic form of ``PoolScores`` equals scoringrules' CRPS of the weighted
    ensemble of the members' paths (synthetic paths drawn here)."""
    rng = np.random.default_rng(0)
    paths = [rng.poisson(lam, size=(400, 5)) for lam in (3.0, 8.0, 20.0)]
    truth = np.array([4.0, 7.0, 9.0, 2.0, 15.0])
    a, b = energy_terms(paths, truth)
    pool = PoolScores.of([(a, b)])
    w = np.array([0.2, 0.5, 0.3])
    stacked = np.concatenate(paths, axis=0).astype(float)
    ens_w = np.repeat(w / 400, 400)
    expected = np.mean(
        [float(sr.crps_ensemble(truth[h], stacked[:, h], ens_w=ens_w)) for h in range(5)]
    )
    assert pool.pool_crps(w) == pytest.approx(expected, rel=1e-9)
    own = [np.mean(sr.crps_ensemble(truth, p.T.astype(float))) for p in paths]
    np.testing.assert_allclose(pool.member_crps(), own, rtol=1e-9)


def test_pool_weights_favour_the_right_member_and_drop_members_worse_than_the_reference() -> None:
    rng = np.random.default_rng(1)
    terms = []
    for _ in range(30):
        truth = rng.poisson(10.0, size=7).astype(float)
        paths = [
            rng.poisson(10.0, size=(300, 7)),  # the truth's own distribution
            rng.poisson(10.0 * rng.uniform(0.6, 1.6), size=(300, 7)),  # a biased rate
            rng.poisson(30.0, size=(300, 7)),  # far off: worse than the reference
        ]
        terms.append(energy_terms(paths, truth))
    pool = PoolScores.of(terms)
    w = pool.weights(reference=1)
    assert w.sum() == pytest.approx(1.0)
    assert w[2] == 0.0
    assert w[0] > w[1]
    assert pool.pool_crps(w) <= pool.pool_crps(np.array([0.5, 0.5, 0.0])) + 1e-9
    # few forecasts: the weights are shrunk toward equal
    few = PoolScores.of(terms[:1]).weights()
    many = PoolScores.of(terms).weights()
    assert np.ptp(few) <= np.ptp(many) + 1e-9


def test_mix_paths_draws_each_path_from_one_member_by_weight() -> None:
    rng = np.random.default_rng(2)
    members = [np.full((500, 3), i) for i in range(3)]
    samples, counts = mix_paths(rng, np.array([0.6, 0.4, 0.0]), 500, lambda i, k: members[i][:k])
    assert samples.shape == (500, 3)
    assert counts[2] == 0 and counts.sum() == 500
    assert np.array_equal(np.bincount(samples[:, 0], minlength=3), counts)
    assert 0.5 < counts[0] / 500 < 0.7
