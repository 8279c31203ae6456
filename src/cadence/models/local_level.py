"""``LocalLevel``: a latent log-level that moves, with negative-binomial counts.

Model, per period t (see ``cadence.models._level_filter``)::

    x_t = mbar + damping * (x_{t-1} - mbar) + eta_t,     eta_t ~ N(0, level_var)
    log mu_t = x_t + d_{dow(t)} + sum_c b_c * z_{t,c}
    y_t ~ NB2(mu_t, alpha)                                 variance mu + alpha * mu**2

``d`` are day-of-week effects (daily panels), ``z`` driver covariates (standardised
retaliation and statement signals, named at fit time). ``level_var`` and ``alpha`` are
fitted by maximum marginal likelihood under the Laplace-approximated filter (a grid,
then L-BFGS with the drivers' effects, ridge-penalised); the day-of-week effects are the
centred means of ``log1p(count)`` per weekday (robust to bursts, and cheap).

Interval totals (official tallies between briefings) enter the same filter: the total
over ``n`` periods is an NB2 observation of the level at the interval's last period, with
exposure the summed day-of-week factors and size ``n / alpha`` (exact when the level is
constant within the interval).

A series with a sampled view (a panel column ``smp_count``: dated reports of a share
``theta`` of the same events, e.g. a news list beside official tallies) adds a second
observation stream of the same level, ``smp_t ~ NB2(theta * exp(x_t + o_t), k_s)``
(``cadence.models._level_sampled``: ``theta`` is the ratio of sampled to counted events
where both cover the same periods; ``k_s`` is chosen on its own grid). The level then
follows the reports past the last tally; forecasts stay on the complete-count scale.

Forecasts draw the origin's level from its filtered distribution and carry it forward
along each path by the state equation, then draw NB2 counts around it. Paths therefore
share a moving level over the horizon, and 7-, 14- and 28-day totals widen with the
level's uncertainty instead of summing nearly independent days.

Why this filter: a conjugate Poisson-gamma discount filter (Harvey & Fernandes 1989) is
exact and cheaper, but it adds every count linearly to its level, so one burst day of a
few hundred alerts raises the level for weeks; on ``israel-alerts`` it scored daily CRPS
24.4 against 20.9 for this filter on the same 24 origins (7-day totals 121.5 against
95.7). The NB log-link update moves the level by a step bounded by the NB size.

References
----------
Harvey, A. C. and Fernandes, C. (1989). Time series models for count or qualitative
observations. *Journal of Business & Economic Statistics* 7(4), 407-417.
Durbin, J. and Koopman, S. J. (2012). *Time Series Analysis by State Space Methods*,
2nd ed., ch. 9-10 (non-Gaussian models, mode-based approximations).
West, M. and Harrison, J. (1997). *Bayesian Forecasting and Dynamic Models*, 2nd ed.,
ch. 14.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import pandas as pd

from cadence.columns import COUNT, PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.models._design import (
    Coverage,
    Series,
    by_frequency,
    exogenous_columns,
    exogenous_matrix,
    fallback_forecast,
    frequency_key,
    future_matrix,
    horizon_index,
    ignored_columns,
    interval_coverage,
    named_columns,
    read_series,
    warn_short_history,
)
from cadence.models._level_filter import simulate_levels
from cadence.models._level_fit import BatchLevelFit, LevelFit, fit_level, fit_level_batch
from cadence.models._level_sampled import sampled_stream
from cadence.models.base import ParamsMixin, check_fitted
from cadence.models.baselines import Climatology
from cadence.models.forecast import CountForecast

# Driver columns correlated beyond this with one already kept are left out: the panel
# carries each signal at several decay windows, which a short series cannot tell apart.
_MAX_DRIVER_CORRELATION = 0.9
_MIN_OBSERVED = 8
# The forecast variance factor of level_var_scale="auto" when the history is too short to
# choose one (see the class docstring).
AUTO_SCALE_FALLBACK = 2.0


def driver_columns(panel: pd.DataFrame, rows: np.ndarray) -> list[str]:
    """Retaliation and statement columns that vary on ``rows``, without near-duplicates
    (absolute correlation above 0.9 with a column listed earlier)."""
    cols = [
        c
        for c in exogenous_columns(panel, rows)
        if c.startswith((PREFIX_RETALIATION, PREFIX_STATEMENT))
    ]
    if len(cols) < 2:
        return cols
    x = exogenous_matrix(panel, cols)[rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(x, rowvar=False))
    kept: list[int] = []
    for j in range(len(cols)):
        if all(abs(corr[j, i]) <= _MAX_DRIVER_CORRELATION for i in kept):
            kept.append(j)
    return [cols[j] for j in kept]


class LocalLevel(ParamsMixin):
    """Local-level negative-binomial count model (see the module docstring).

    Parameters
    ----------
    damping : float
        ``1.0`` is a random-walk level; below 1 (default 0.98) the level reverts to the
        fitted window's mean level at that rate per period.
    day_of_week : bool
        Day-of-week effects on daily panels (ignored for weekly and monthly ones); off by
        default: on ``israel-alerts`` they raised daily CRPS (21.4 against 21.1).
    drivers : bool
        Use retaliation and statement covariates (``covariates`` or, when ``None``, the
        panel's varying ``ret_``/``stm_`` columns without near-duplicates); off by
        default: on ``israel-alerts`` every driver set tried raised CRPS (see the
        ablation in ``benchmarks/backtest.py --ablation``).
    covariates : sequence of str, optional
        The driver columns to use, by name; every name must be in the panel (checked
        also when ``drivers`` is off).
    ridge : float
        Penalty ``ridge * b**2 / 2`` on each standardised driver effect.
    level_var_scale : float or "auto"
        Factor on the fitted level variance when paths are simulated (default 2). The
        one-step likelihood sees how far the level moves from one period to the next; on
        bursty series it moves in jumps and goes further over weeks than that implies, so
        multi-week totals came out too narrow. On ``israel-alerts`` (24 origins, horizon
        28) 2 raised the 80% coverage of 28-day totals from 0.58 to 0.71 and of 7-day
        totals from 0.71 to 0.77 for daily CRPS 20.42 against 20.28. That factor was
        chosen on those same backtests: it is a calibration, and live accuracy is its
        check. ``"auto"`` chooses the factor on the series' own history at fit time
        instead: the filtered state of every week is carried forward with each factor of
        a grid, and a factor above 1 is taken only where its simulated 7- and 28-day
        totals scored a lower CRPS against what followed by more than a standard error
        (``cadence.models._level_calibration``; ``scale_choice_`` holds the scores;
        ``AUTO_SCALE_FALLBACK``, 2, when the history has fewer than six such windows or
        totals only). On the same backtests it kept 1 at all 24 origins: the history
        before each origin never showed the level moving further over weeks than the
        likelihood's variance implies; the weeks after did (28-day totals covered 0.58),
        which is why the default stays 2 (``benchmarks/variants.py``).
    window : int, optional
        Fit on the last ``window`` periods only (all when ``None``).
    sampled : bool
        Read the panel's sampled view (``smp_count``) as a second stream of the level
        when it has one (default); ``False`` fits the counts and totals alone.

    Attributes
    ----------
    level_var_, alpha_ : float
        Fitted level variance per period and NB2 dispersion.
    covariates_ : list of str
        The driver columns the fit used, in order; ``coef_`` their effects per unit.
    ignored_columns_ : list of str
        The panel's other columns (everything but the target and ``covariates_``).
    fallback_ : Climatology or None
        The Climatology that forecasts instead when the history has fewer than two
        observations, or fewer than 8 observed periods and no interval total
        (``fallback_reason_`` says which; a ``ShortHistoryWarning`` is raised); None
        otherwise (see ``cadence.models.base``).
    level_, level_sd_ : float
        Filtered log-level at the origin: mean and standard deviation.
    level_var_scale_ : float
        The factor on ``level_var_`` the paths use (chosen when ``level_var_scale`` is
        ``"auto"``); ``scale_choice_`` how it was chosen (None when fixed).
    theta_ : float or None
        Estimated reporting share of the sampled view; None when the fit did not use one
        (``k_sampled_`` is then NaN, else the sampled stream's NB size).
    """

    name = "local_level"
    supports_intervals = True
    fallback_: Climatology | None
    fallback_reason_: str | None
    covariates_: list[str]

    def __init__(
        self,
        damping: float = 0.98,
        day_of_week: bool = False,
        drivers: bool = False,
        covariates: Sequence[str] | None = None,
        ridge: float = 20.0,
        window: int | None = None,
        sampled: bool = True,
        level_var_scale: float | Literal["auto"] = 2.0,
    ) -> None:
        self.level_var_scale = level_var_scale
        self.damping = damping
        self.day_of_week = day_of_week
        self.drivers = drivers
        self.covariates = covariates
        self.ridge = ridge
        self.window = window
        self.sampled = sampled

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit by maximum marginal likelihood; returns ``self``."""
        if not 0.0 < self.damping <= 1.0:
            raise ValueError(f"damping must lie in (0, 1], got {self.damping}")
        auto = self.level_var_scale == "auto"
        if not auto and not (
            isinstance(self.level_var_scale, int | float) and self.level_var_scale > 0
        ):
            raise ValueError(
                f"level_var_scale must be 'auto' or a number > 0, got {self.level_var_scale!r}"
            )
        series = read_series(panel, target)
        first = 0 if self.window is None else max(0, series.y.size - self.window)
        panel = panel.iloc[first:]
        series = read_series(panel, target)
        coverage = None
        if intervals is not None and len(intervals):
            coverage = interval_coverage(intervals, series)
        observed = np.isfinite(series.y)
        reason = self._too_little(series, observed, coverage)
        if reason is not None:
            warn_short_history(self.name, reason)
            self.fallback_ = Climatology().fit(panel, target, intervals)
            self.fallback_reason_ = reason
            self.covariates_ = []
            self.ignored_columns_ = ignored_columns(panel, target, [])
            self.origin_, self.freq_ = series.origin, series.freq
            return self
        dow = self._dow_effects(series)
        covariates = self._covariates(panel, observed if coverage is None else None)
        z_raw = exogenous_matrix(panel, covariates)
        empty = np.zeros(0)
        self.z_low_: np.ndarray = z_raw.min(axis=0) if covariates else empty
        self.z_high_: np.ndarray = z_raw.max(axis=0) if covariates else empty
        self.z_mean_ = z_raw.mean(axis=0) if covariates else np.zeros(0)
        sd = z_raw.std(axis=0) if covariates else np.zeros(0)
        self.z_scale_ = np.where(sd > 0, sd, 1.0)
        z = (z_raw - self.z_mean_) / self.z_scale_
        stream = sampled_stream(panel, series, coverage) if self.sampled else None
        result = fit_level(
            series,
            coverage,
            dow[self._weekday(series.index)],
            z,
            damping=self.damping,
            ridge=self.ridge,
            sampled=stream,
            scale_fallback=AUTO_SCALE_FALLBACK if auto else None,
        )
        self._store(
            result,
            origin=series.origin,
            freq=series.freq,
            cap=float(np.log(10.0 * np.nanmax(np.append(series.y, result.max_total)) + 10.0)),
            dow=dow,
            cols=covariates,
            ignored=ignored_columns(panel, target, covariates),
            theta=None if stream is None else stream.theta,
        )
        return self

    def _too_little(
        self, series: Series, observed: np.ndarray, coverage: Coverage | None
    ) -> str | None:
        """Why the history cannot support a level (then Climatology forecasts), or None:
        fewer than two observations in all, or fewer than 8 periods without totals."""
        n_obs = int(observed.sum())
        n_totals = 0 if coverage is None else len(coverage)
        if n_obs + n_totals < 2:
            return f"{n_obs} observed periods and {n_totals} interval totals (needs 2)"
        if n_totals == 0 and n_obs < _MIN_OBSERVED:
            return f"{n_obs} observed periods (needs {_MIN_OBSERVED})"
        return None

    def _store(
        self,
        fit: LevelFit,
        *,
        origin: pd.Timestamp,
        freq: str,
        cap: float,
        dow: np.ndarray,
        cols: list[str],
        ignored: list[str],
        theta: float | None = None,
    ) -> None:
        """Every fitted attribute of a level that did not fall back (``fit`` and
        ``level_from_batch`` both end here); ``z_scale_`` must be set first."""
        self.level_var_ = fit.q
        self.alpha_ = 1.0 / fit.k
        self.coef_ = fit.beta / self.z_scale_ if cols else np.zeros(0)
        self.covariates_ = cols
        self.ignored_columns_ = ignored
        self.dow_ = dow
        self.level_ = fit.m
        self.level_sd_ = float(np.sqrt(fit.p))
        self.mbar_ = fit.mbar
        self.loglik_ = fit.loglik
        self.origin_ = origin
        self.freq_ = freq
        self.cap_ = cap
        self.fallback_ = None
        self.fallback_reason_ = None
        self.theta_ = theta
        self.k_sampled_ = fit.k_sampled
        self.scale_choice_ = fit.scale
        self.level_var_scale_ = (
            fit.scale.scale
            if fit.scale is not None
            else AUTO_SCALE_FALLBACK
            if self.level_var_scale == "auto"
            else float(self.level_var_scale)
        )

    def _weekday(self, index: pd.DatetimeIndex) -> np.ndarray:
        return np.asarray(index.day_of_week)

    def _dow_effects(self, series: Series) -> np.ndarray:
        """Centred mean of ``log1p(count)`` per weekday (zeros unless daily, asked for and
        at least four observed weeks)."""
        effects = np.zeros(7)
        observed = np.isfinite(series.y)
        if not self.day_of_week or frequency_key(series.freq) != "D" or observed.sum() < 28:
            return effects
        days = self._weekday(series.index)[observed]
        logs = np.log1p(series.y[observed])
        sums = np.bincount(days, weights=logs, minlength=7)
        counts = np.bincount(days, minlength=7)
        if counts.min() < 4:
            return effects
        means = sums / counts
        return np.asarray(means - means.mean())

    def _covariates(self, panel: pd.DataFrame, rows: np.ndarray | None) -> list[str]:
        named = (
            None if self.covariates is None else named_columns(self.name, panel, self.covariates)
        )
        if not self.drivers:
            return []
        if named is not None:
            return named
        mask = np.ones(len(panel), dtype=bool) if rows is None else rows
        return driver_columns(panel, mask)

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """``n_samples`` paths: the level drawn at the origin and carried forward, NB2
        counts around it. ``future`` must hold the fitted covariates for the horizon
        (clipped to their fitted range)."""
        check_fitted(self, "fallback_")
        fallback = fallback_forecast(self, horizon, n_samples, rng)
        if fallback is not None:
            return fallback
        index = horizon_index(self.origin_, horizon, self.freq_, n_samples=n_samples)
        offset = self.dow_[self._weekday(index)]
        if self.covariates_:
            zf = np.clip(future_matrix(future, self.covariates_, index), self.z_low_, self.z_high_)
            offset = offset + zf @ self.coef_
        x = simulate_levels(
            rng,
            np.full(n_samples, self.level_),
            self.level_sd_**2,
            self.level_var_ * self.level_var_scale_,
            horizon,
            damping=self.damping,
            mbar=self.mbar_,
        )
        mu = np.exp(np.minimum(x + offset[None, :], self.cap_))
        size = 1.0 / self.alpha_
        samples = rng.poisson(rng.gamma(size, mu / size)).astype(np.int64)
        return CountForecast(
            origin=self.origin_,
            samples=samples,
            index=index,
            model=self.name,
            meta={
                "level": float(np.exp(self.level_)),
                "level_sd": self.level_sd_,
                "level_var": self.level_var_,
                "level_var_scale": self.level_var_scale_,
                "alpha": self.alpha_,
                "covariates": list(self.covariates_),
                "sampled": getattr(self, "theta_", None) is not None,
                "theta": getattr(self, "theta_", None),
            },
        )


def forecast_many(
    counts: np.ndarray,
    horizon: int,
    *,
    freq: str = "D",
    n_samples: int = 1000,
    rng: np.random.Generator,
    damping: float = 0.98,
    level_var_scale: float = 2.0,
) -> tuple[np.ndarray, BatchLevelFit]:
    """Fit a local level to each row of ``counts`` (shape ``(S, T)``: series x periods,
    aligned, oldest first, NaN where unobserved) and draw forecast paths for all of
    them at once: samples of shape ``(S, n_samples, horizon)`` and the fitted values.

    The batch counterpart of ``LocalLevel(damping=damping,
    level_var_scale=level_var_scale)`` without drivers,
    day-of-week effects or intervals: one vectorised filter pass per grid, so a thousand
    series cost about as many filter steps as one.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (series, periods), got shape {counts.shape}")
    burn_in = min(by_frequency(freq, daily=7, weekly=2, monthly=1), counts.shape[1] // 10)
    fit = fit_level_batch(counts, damping=damping, burn_in=burn_in)
    x = simulate_levels(
        rng,
        np.repeat(fit.m[:, None], n_samples, axis=1),
        fit.p[:, None],
        fit.q[:, None] * level_var_scale,
        horizon,
        damping=damping,
        mbar=fit.mbar[:, None],
    )
    mu = np.exp(np.minimum(x, fit.cap[:, None, None]))
    size = fit.k[:, None, None]
    # the gamma draws in single precision: about 3.5x faster for a thousand series, and
    # far finer than the Poisson draw they feed
    shape = np.broadcast_to(size, mu.shape).astype(np.float32)
    gamma = rng.standard_gamma(shape, dtype=np.float32).astype(np.float64)
    samples = rng.poisson(gamma * (mu / size)).astype(np.int64)
    return samples, fit


def fit_many(counts: np.ndarray, *, freq: str = "D", damping: float = 0.98) -> BatchLevelFit:
    """The fit ``forecast_many`` makes (same burn-in), without drawing paths: for callers
    that draw each series' paths with its own generator, so a series' forecast does not
    depend on which other series share its batch."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError(f"counts must be 2-D (series, periods), got shape {counts.shape}")
    burn_in = min(by_frequency(freq, daily=7, weekly=2, monthly=1), counts.shape[1] // 10)
    return fit_level_batch(counts, damping=damping, burn_in=burn_in)


def level_from_batch(
    fit: BatchLevelFit, row: int, *, origin: pd.Timestamp, freq: str, damping: float = 0.98
) -> LocalLevel:
    """Series ``row`` of a batch fit as a fitted ``LocalLevel`` (no drivers, no
    day-of-week effects): its ``forecast`` draws the paths ``forecast_many`` would for
    that series, and it can be registered and served like any fitted model."""
    model = LocalLevel(damping=damping)
    empty = np.zeros(0)
    model.z_low_, model.z_high_, model.z_mean_, model.z_scale_ = empty, empty, empty, empty
    level = LevelFit(
        q=float(fit.q[row]),
        k=float(fit.k[row]),
        beta=empty,
        m=float(fit.m[row]),
        p=float(fit.p[row]),
        mbar=float(fit.mbar[row]),
        loglik=float("nan"),
        max_total=0.0,
    )
    model._store(
        level,
        origin=pd.Timestamp(origin),
        freq=freq,
        cap=float(fit.cap[row]),
        dow=np.zeros(7),
        cols=[],
        ignored=[],
    )
    return model
