"""The baselines every model must beat: ``Climatology`` and ``RecentRate``.

Both forecast a constant rate per period, drawn as negative binomial (NB2: variance
``mu + alpha * mu**2``) or Poisson counts, independent across periods. Both also fit
interval observations: under a constant rate ``mu`` per period, the total over an
interval covering ``n`` periods is NB2 with mean ``n * mu`` and size ``n / alpha`` (a sum
of ``n`` independent NB2 counts), or Poisson with mean ``n * mu``.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize

from cadence.columns import COUNT
from cadence.models._design import (
    Series,
    by_frequency,
    horizon_index,
    ignored_columns,
    interval_coverage,
    nb2_loglik,
    read_series,
    sample_nb,
)
from cadence.models.base import ParamsMixin, check_fitted
from cadence.models.errors import InsufficientDataError
from cadence.models.forecast import CountForecast

Dispersion = Literal["auto", "poisson", "nb"]

# Below this alpha the NB2 and Poisson predictive distributions are indistinguishable
# for the rates seen here; reporting Poisson keeps the sampler exact.
_ALPHA_FLOOR = 1e-6
_LOG_ALPHA_BOUNDS = (-15.0, 6.0)
_OVERDISPERSION_Z = 1.645


def fit_constant_rate(
    counts: np.ndarray,
    totals: np.ndarray,
    exposure: np.ndarray,
    dispersion: Dispersion = "auto",
) -> tuple[float, float]:
    """Maximum-likelihood constant rate ``mu`` (per period) and NB2 ``alpha``.

    ``counts``: observed per-period counts, shape ``(n,)``; ``totals``: interval totals,
    shape ``(J,)``, each covering ``exposure[j]`` periods. ``dispersion="auto"`` fits NB2
    unless the score test of ``alpha = 0`` finds no significant overdispersion
    (one-sided 5 %), then Poisson (``alpha = 0``); ``"poisson"`` forces Poisson, ``"nb"``
    always fits alpha.
    With no event at all the rate is half an event over the exposure (a zero rate would
    rule out any future event).
    """
    counts = np.asarray(counts, dtype=float)
    totals = np.asarray(totals, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    n_total = counts.size + exposure.sum()
    if n_total <= 0:
        raise InsufficientDataError("no observed period or interval to fit a rate to")
    events = counts.sum() + totals.sum()
    if events == 0:
        return 0.5 / float(n_total), 0.0
    mu0 = float(events / n_total)
    if dispersion == "poisson":
        return mu0, 0.0
    # Score test of alpha = 0 (Dean & Lawless; Cameron & Trivedi): an interval over n
    # periods has dispersion alpha / n, and under Poisson each term (y - m)^2 - y has
    # variance 2 m^2. Poisson unless overdispersion is significant (one-sided 5 %).
    n_eff = np.maximum(exposure, 1e-12)
    score = 0.5 * (
        np.sum((counts - mu0) ** 2 - counts)
        + np.sum(((totals - exposure * mu0) ** 2 - totals) / n_eff)
    )
    var = 2.0 * (counts.size * mu0**2 + np.sum((exposure * mu0 / n_eff) ** 2))
    z = 2.0 * score / np.sqrt(var)
    if dispersion == "auto" and z <= _OVERDISPERSION_Z:
        return mu0, 0.0
    # Identical counts share one likelihood term (weights = multiplicities): long daily
    # series have few distinct values.
    values, weights = np.unique(counts, return_counts=True)
    if totals.size == 0:
        # Daily counts only: the sample mean is the MLE of mu; alpha solves a 1-D score.
        return mu0, _profile_alpha(values, weights.astype(float), mu0)
    denom = counts.size * mu0**2 + np.sum(exposure) * mu0**2
    alpha0 = float(np.clip(2 * score / denom, 1e-3, 1e2)) if score > 0 else 1e-3

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu, alpha = np.exp(theta[0]), np.exp(theta[1])
        size = 1.0 / alpha
        ll_d, dmu_d, dsz_d = nb2_loglik(values, np.full(values.shape, mu), size)
        mean_i = exposure * mu
        size_i = exposure * size
        ll_i, dmu_i, dsz_i = nb2_loglik(totals, mean_i, size_i)
        ll = weights @ ll_d + ll_i.sum()
        g_logmu = (weights @ dmu_d) * mu + np.sum(dmu_i * mean_i)
        g_logalpha = -(weights @ dsz_d) * size - np.sum(dsz_i * size_i)
        return -float(ll), -np.array([g_logmu, g_logalpha])

    res = minimize(
        objective,
        np.array([np.log(mu0), np.log(alpha0)]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(np.log(mu0) - 10, np.log(mu0) + 10), _LOG_ALPHA_BOUNDS],
    )
    mu, alpha = float(np.exp(res.x[0])), float(np.exp(res.x[1]))
    return mu, (alpha if alpha > _ALPHA_FLOOR else 0.0)


def _profile_alpha(values: np.ndarray, weights: np.ndarray, mu: float) -> float:
    """NB2 ``alpha`` maximizing the likelihood of counts ``values`` (with multiplicities
    ``weights``) at mean ``mu``: the root in log(alpha) of the score, by Brent's method
    (the bound when the score does not change sign)."""
    mus = np.full(values.shape, mu)

    def score(log_alpha: float) -> float:
        size = np.exp(-log_alpha)
        return float(-(weights @ nb2_loglik(values, mus, size)[2]) * size)

    lo, hi = _LOG_ALPHA_BOUNDS
    s_lo, s_hi = score(lo), score(hi)
    if s_lo <= 0:
        return 0.0
    if s_hi >= 0:
        return float(np.exp(hi))
    alpha = float(np.exp(brentq(score, lo, hi, xtol=1e-8)))
    return alpha if alpha > _ALPHA_FLOOR else 0.0


class _ConstantRate(ParamsMixin):
    """Shared fit/forecast of a constant-rate model over the last ``window`` periods."""

    name = ""
    supports_intervals = True

    def _window(self, freq: str) -> int | None:
        raise NotImplementedError

    def _dispersion(self) -> Dispersion:
        raise NotImplementedError

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit the rate to the trailing window of ``panel[target]`` and of ``intervals``
        (an interval counts if it reaches into the window). Returns ``self``."""
        series = read_series(panel, target)
        self._fit_series(series, intervals)
        # The baselines use no covariate: every other column is ignored, visibly.
        self.covariates_: list[str] = []
        self.ignored_columns_ = ignored_columns(panel, target, ())
        self.fallback_ = None
        return self

    def _fit_series(self, series: Series, intervals: pd.DataFrame | None) -> None:
        window = self._window(series.freq)
        n = series.y.size
        first = 0 if window is None else max(0, n - window)
        recent = series.y[first:]
        counts = recent[np.isfinite(recent)]
        totals = np.zeros(0)
        exposure = np.zeros(0)
        if intervals is not None and len(intervals):
            cov = interval_coverage(intervals, series)
            keep = cov.weights[:, first:].sum(axis=1) > 0
            totals, exposure = cov.totals[keep], cov.exposure[keep]
        if counts.size == 0 and totals.size == 0:
            raise InsufficientDataError(
                f"{self.name}: no observed count in the last {n - first} periods "
                f"up to {series.origin.date()}"
            )
        self.mu_, self.alpha_ = fit_constant_rate(counts, totals, exposure, self._dispersion())
        self.n_obs_ = int(counts.size)
        self.n_intervals_ = int(totals.size)
        self.origin_ = series.origin
        self.freq_ = series.freq

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """``n_samples`` paths of ``horizon`` independent NB2/Poisson counts at the fitted
        rate. ``future`` is accepted and ignored (the baselines use no covariates)."""
        check_fitted(self, "mu_")
        index = horizon_index(self.origin_, horizon, self.freq_, n_samples=n_samples)
        samples = sample_nb(rng, np.full((n_samples, horizon), self.mu_), self.alpha_)
        return CountForecast(
            origin=self.origin_,
            samples=samples,
            index=index,
            model=self.name,
            meta={"mu": self.mu_, "alpha": self.alpha_},
        )


class Climatology(_ConstantRate):
    """Negative binomial (Poisson when not overdispersed) fitted by maximum likelihood to
    the last ``window`` periods (all history when ``None``).

    Fitted state: ``mu_`` (mean count per period), ``alpha_`` (NB2 dispersion, 0 for
    Poisson), ``n_obs_``, ``n_intervals_``, ``origin_``, ``freq_``; ``covariates_`` (always
    empty), ``ignored_columns_`` (the panel's other columns), ``fallback_`` (always None).
    """

    name = "climatology"

    def __init__(self, window: int | None = 365, dispersion: Dispersion = "auto") -> None:
        self.window = window
        self.dispersion = dispersion

    def _window(self, freq: str) -> int | None:
        return self.window

    def _dispersion(self) -> Dispersion:
        return self.dispersion


class RecentRate(_ConstantRate):
    """Poisson (or NB2 with ``family="nb"``) at the rate of the last ``window`` periods.

    ``window=None`` picks 28 days, 8 weeks or 3 months by the panel frequency. Fitted
    state as ``Climatology``.
    """

    name = "recent_rate"

    def __init__(
        self, window: int | None = None, family: Literal["poisson", "nb"] = "poisson"
    ) -> None:
        self.window = window
        self.family = family

    def _window(self, freq: str) -> int | None:
        if self.window is not None:
            return self.window
        return by_frequency(freq, daily=28, weekly=8, monthly=3)

    def _dispersion(self) -> Dispersion:
        return "poisson" if self.family == "poisson" else "auto"
