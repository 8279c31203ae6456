"""``Ingarch``: log-linear negative-binomial count autoregression with covariates.

The model of R's tscount (``tsglm(link = "log", distr = "nbinom")``)::

    nu_t = beta_0 + sum_i beta_i log(1 + Y_{t - p_i}) + sum_l alpha_l nu_{t - q_l} + eta' X_t
    Y_t | past ~ NB(mean exp(nu_t), size r),     Var = mu + mu^2 / r

``Y_t`` is the count of period t (the panel's ``count``), ``X_t`` the panel's exogenous
columns at row t (prefixes ``ret_``, ``stm_``, ``cal_``; dated <= t by the panel's
contract). Covariates enter inside the feedback (tscount's default ``external = FALSE``).
Fitted by maximum likelihood (L-BFGS-B on the analytic score; stationarity kept by bounds
``|beta_i|, |alpha_l| < 0.995`` and a penalty outside ``|sum beta + sum alpha| < 0.99``)
with a ridge on the standardized covariate coefficients chosen by forward validation;
standard errors from the inverse observed information (central differences of the
analytic score).

Covariates inside the feedback are summed up by it: with a persistence near one a dozen
slowly varying driver columns can stand in for a drifting level. A fit with covariates
that ends on the stationarity bound is refitted without them (``ReducedModelWarning``).
Forecasts simulate paths forward, feeding simulated counts back; the horizon's covariate
values are clipped to their range over the history (no extrapolation of a log-linear
effect).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Literal, Self

import numpy as np
import pandas as pd

from cadence.columns import COUNT, EXOGENOUS_PREFIXES, PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.models._autoregressive import (
    AutoregressiveCountModel,
    count_loglik,
    draw_counts,
    lag_list,
    selected_columns,
    single_threaded_blas,
)
from cadence.models._design import (
    exogenous_matrix,
    exogenous_range,
    future_matrix,
    horizon_index,
    ignored_columns,
    repeating_calendar,
)
from cadence.models._ingarch_likelihood import NU_CLIP, IngarchData
from cadence.models._penalty import DEFAULT_RIDGE, RIDGE_GRID, choose_ridge, holdout_split
from cadence.models.errors import ReducedModelWarning
from cadence.models.forecast import CountForecast

Distribution = Literal["nbinom", "poisson"]


class Ingarch(AutoregressiveCountModel):
    """Log-linear NB autoregression (INGARCH) with covariates, tscount-style.

    Hyperparameters:
        past_obs: lags of ``log(1 + Y)``; an int n means lags 1..n (tscount's
            ``past_obs``).
        past_mean: lags of ``nu`` (tscount's ``past_mean``), same convention; 0 for none.
        distribution: ``"nbinom"`` (dispersion estimated) or ``"poisson"``.
        covariates: exogenous columns to use; None means every panel column with a
            prefix in ``exog_prefixes`` except calendar columns that do not go through
            two cycles over the history (an annual pair on less than two years is a
            trend in disguise). Columns constant over the history, or exactly collinear
            with earlier ones, are dropped.
        exog_prefixes: prefixes scanned when ``covariates`` is None.
        ridge: L2 weight on the standardized covariate coefficients; ``"auto"``: chosen
            by forward validation (``_penalty``), including leaving the covariates out
            when that predicts the later periods better.
        min_history: fewer observed periods than this (or than 3 per parameter without
            covariates) falls back to ``Climatology`` with a ``ShortHistoryWarning``;
            fewer than 3 per parameter with them drops the covariates
            (``ReducedModelWarning``).
        min_events: fewer non-zero periods than this (all zeros, a single spike: the
            likelihood has no interior maximum) also falls back, with the same warning.

    Fitted attributes (after ``fit``): ``coef_`` (Series, covariates in panel units),
    ``cov_`` (DataFrame), ``alpha_`` (NB2 dispersion, 0 for Poisson; ``size_`` is
    ``1 / alpha_``, read-only), ``loglik_``, ``aic_``, ``n_obs_``,
    ``covariates_``, ``dropped_covariates_``, ``ignored_columns_`` (the panel's other
    columns), ``ridge_`` (the covariate ridge used),
    ``exog_low_``/``exog_high_`` (the covariates' range over the history; horizon values
    are clipped to it), ``fitted_`` (in-sample conditional means,
    Series), ``converged_``, ``fallback_reason_`` (None, or why ``Climatology`` is used),
    ``fallback_`` (that fitted ``Climatology`` or None), ``origin_``, ``freq_``,
    ``fit_start_`` (first period fitted: later than the panel's first row when a long
    leading all-zero stretch was left out, see ``_autoregressive.series_start``).
    """

    name = "ingarch"
    supports_intervals = False

    def __init__(
        self,
        past_obs: int | Sequence[int] = 1,
        past_mean: int | Sequence[int] = 1,
        distribution: Distribution = "nbinom",
        covariates: Sequence[str] | None = None,
        exog_prefixes: Sequence[str] = EXOGENOUS_PREFIXES,
        ridge: float | Literal["auto"] = "auto",
        min_history: int = 30,
        min_events: int = 5,
    ) -> None:
        self.past_obs = past_obs
        self.past_mean = past_mean
        self.distribution = distribution
        self.covariates = covariates
        self.exog_prefixes = exog_prefixes
        self.ridge = ridge
        self.min_history = min_history
        self.min_events = min_events

    # --- fitting ------------------------------------------------------------------------

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit by maximum likelihood to ``panel[target]`` (counts per period, oldest
        first; NaN periods are skipped in the likelihood and fed back as the mean)."""
        p_lags = lag_list(self.past_obs, "past_obs") if self.past_obs else ()
        q_lags = lag_list(self.past_mean, "past_mean") if self.past_mean else ()
        panel, series = self._start_fit(panel, target, intervals)
        y = series.y
        self.p_lags_, self.q_lags_ = p_lags, q_lags
        observed = np.isfinite(y)
        self._select_covariates(panel, observed)
        n_params = 1 + len(p_lags) + len(q_lags) + int(self._negbin) + len(self.covariates_)
        if self._fall_back_if_short(panel, target, y, n_params):
            return self

        x = exogenous_matrix(panel, self.covariates_)
        x_mean, x_sd = x[observed].mean(axis=0), x[observed].std(axis=0)
        self.exog_low_, self.exog_high_ = exogenous_range(x[observed])
        xs = (x - x_mean) / x_sd
        with single_threaded_blas():
            self.ridge_ = self._choose_ridge(y, xs, p_lags, q_lags)
            if not np.isfinite(self.ridge_):  # the covariates did not help on later data
                xs, x_mean, x_sd = self._drop_covariates(xs, x_mean, x_sd)
            data = IngarchData.build(y, xs, p_lags, q_lags, self._negbin, self.ridge_)
            theta, converged = self._maximize(data)
            if theta is not None and xs.shape[1] and data.at_bound(theta):
                warnings.warn(
                    f"{self.name}: with the covariates the fit sits on the stationarity "
                    "bound (a unit root); fitting without them",
                    ReducedModelWarning,
                    stacklevel=2,
                )
                xs, x_mean, x_sd = self._drop_covariates(xs, x_mean, x_sd)
                data = IngarchData.build(y, xs, p_lags, q_lags, self._negbin)
                theta, converged = self._maximize(data)
            if theta is not None:
                info = self._information(data, theta)
        if theta is None:
            self._fall_back(panel, target, y, "likelihood maximization failed")
            return self

        p, q = len(data.past_obs), len(data.past_mean)
        covs = slice(1 + p + q, 1 + p + q + data.x.shape[1])
        self._store_estimates(data, (theta, converged, info), covs, (x_mean, x_sd), y)
        nu = data.nu(theta)
        self.fitted_ = pd.Series(np.exp(nu), index=series.index, name="fitted_mean")
        # State that continues the recursion past the origin (oldest first).
        z = np.log1p(data.y)
        self.z_tail_ = _tail(z, max(p_lags, default=0), float(z.mean()))
        self.nu_tail_ = _tail(nu, max(q_lags, default=0), data.nu0)
        self.ignored_columns_ = ignored_columns(panel, target, self.covariates_)
        return self

    def _select_covariates(self, panel: pd.DataFrame, observed: np.ndarray) -> None:
        """Set ``covariates_``/``dropped_covariates_``: the named or scanned columns,
        without those a short history cannot carry (``ReducedModelWarning``)."""
        used, dropped = selected_columns(
            panel, observed, self.covariates, self.exog_prefixes, self.name
        )
        if self.covariates is None:
            repeating = repeating_calendar(panel, used, observed)
            dropped += [c for c in used if c not in repeating]
            used = repeating
        n_core = 1 + len(self.p_lags_) + len(self.q_lags_) + int(self._negbin)
        n_obs = int(observed.sum())
        if used and 3 * (n_core + len(used)) > n_obs >= max(self.min_history, 3 * n_core):
            warnings.warn(
                f"{self.name}: {n_obs} observed periods for {n_core + len(used)} parameters "
                f"(needs {3 * (n_core + len(used))}); fitting without covariates",
                ReducedModelWarning,
                stacklevel=3,
            )
            dropped, used = dropped + used, []
        self.covariates_, self.dropped_covariates_ = used, dropped

    def _drop_covariates(
        self, xs: np.ndarray, x_mean: np.ndarray, x_sd: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fit without the covariates from here on: their columns emptied."""
        self.dropped_covariates_ += self.covariates_
        self.covariates_ = []
        self.exog_low_, self.exog_high_ = self.exog_low_[:0], self.exog_high_[:0]
        self.ridge_ = 0.0
        return xs[:, :0], x_mean[:0], x_sd[:0]

    def _coef_names(self) -> list[str]:
        names = ["intercept"]
        names += [f"beta_{k}" for k in self.p_lags_]
        names += [f"alpha_{k}" for k in self.q_lags_]
        names += list(self.covariates_)
        if self._negbin:
            names.append("log_size")
        return names

    def _choose_ridge(
        self, y: np.ndarray, xs: np.ndarray, p_lags: tuple[int, ...], q_lags: tuple[int, ...]
    ) -> float:
        """The covariate ridge: ``self.ridge``, or for ``"auto"`` the weight whose fit on
        the earlier periods best predicts the later ones one step ahead (see
        ``_penalty``; ``DEFAULT_RIDGE`` when the history is too short to split)."""
        if self.ridge != "auto":
            return float(self.ridge)
        if not xs.shape[1]:
            return 0.0
        split = holdout_split(np.isfinite(y), 2 + len(p_lags) + len(q_lags))
        if split is None:
            return DEFAULT_RIDGE
        cut, held = split
        full = IngarchData.build(y, xs, p_lags, q_lags, self._negbin)
        low, high = exogenous_range(xs[:cut][np.isfinite(y[:cut])])
        clipped = IngarchData.build(y, np.clip(xs, low, high), p_lags, q_lags, self._negbin)

        def score(ridge: float) -> np.ndarray | None:
            k = xs.shape[1] if np.isfinite(ridge) else 0
            train = IngarchData.build(
                y[:cut], xs[:cut, :k], p_lags, q_lags, self._negbin, ridge if k else 0.0
            )
            theta, _ = self._maximize(train)
            if theta is None or (k and train.at_bound(theta)):
                return None
            ref = clipped if k else IngarchData.build(y, xs[:, :0], p_lags, q_lags, self._negbin)
            mu = np.exp(np.clip(ref.nu(theta), -NU_CLIP, NU_CLIP))[held]
            return count_loglik(full.y[held], mu, full.log_size(theta))

        return choose_ridge(score, (*RIDGE_GRID, np.inf))

    def _starts(self, data: IngarchData) -> Iterator[list[float]]:
        """A persistent starting point, then a less persistent one."""
        nubar = float(np.log(max(data.y[data.observed].mean(), 1e-2)))
        p, q, k = len(data.past_obs), len(data.past_mean), data.x.shape[1]
        for persistence in (0.6, 0.2):
            b = (
                np.full(p, persistence / 2 / max(p, 1))
                if q
                else np.full(p, persistence / max(p, 1))
            )
            a = np.full(q, persistence / 2 / max(q, 1))
            yield [nubar * (1 - b.sum() - a.sum()), *b, *a, *np.zeros(k)]

    def _watch(self, data: IngarchData) -> Sequence[int]:
        return range(1, 1 + len(data.past_obs) + len(data.past_mean))

    # --- reporting ----------------------------------------------------------------------

    def effects(self, level: float = 0.95) -> pd.DataFrame:
        """Incidence-rate ratios of the ``ret_`` and ``stm_`` covariates: the factor by
        which one unit more of the feature at period t multiplies the expected count of
        period t, the past held fixed (the long-run factor of a sustained unit change is
        ``irr ** (1 / (1 - sum(alpha)))`` through the mean feedback). Columns ``feature,
        irr, lower, upper, p_value`` (Wald ``level`` interval on the log scale);
        empty when the model fell back to ``Climatology``."""
        rows = [c for c in self.covariates_ if c.startswith((PREFIX_RETALIATION, PREFIX_STATEMENT))]
        return self._effects_of(rows, level)

    def summary(self) -> str:
        """A plain-text report: fit facts and the coefficient table."""
        self._check_fitted()
        head = [
            f"Ingarch  past_obs={list(self.p_lags_)} past_mean={list(self.q_lags_)} "
            f"distribution={self.distribution}"
        ]
        head.append(
            f"fitted {self.fit_start_.date()} .. {self.origin_.date()}  freq {self.freq_}  "
            f"observed periods {self.n_obs_}"
        )
        fallback = self._fallback_line()
        if fallback is not None:
            head.append(fallback)
            return "\n".join(head)
        head.append(
            f"log-likelihood {self.loglik_:.3f}  AIC {self.aic_:.3f}  converged {self.converged_}"
        )
        if self.alpha_ > 0:
            head.append(f"NB2 alpha {self.alpha_:.4g} (NB size 1/alpha = {1 / self.alpha_:.4g})")
        if self.dropped_covariates_:
            head.append(f"dropped covariates: {self.dropped_covariates_}")
        with pd.option_context("display.width", 120, "display.max_rows", 200):
            return "\n".join(head) + "\n" + self.coef_table().round(4).to_string()

    # --- forecasting --------------------------------------------------------------------

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """Sample paths ``(n_samples, horizon)`` of the counts after the origin, simulated
        forward with each path's simulated counts fed back. ``future`` must hold the
        fitted covariates for the horizon periods (rows matched by date)."""
        fallback = self._fallback_forecast(horizon, n_samples, rng)
        if fallback is not None:
            return fallback
        index = horizon_index(self.origin_, horizon, self.freq_, n_samples=n_samples)
        x_future = np.clip(
            future_matrix(future, self.covariates_, index), self.exog_low_, self.exog_high_
        )
        coef = self.coef_
        b0 = float(coef["intercept"])
        beta = coef[[f"beta_{k}" for k in self.p_lags_]].to_numpy()
        alpha = coef[[f"alpha_{k}" for k in self.q_lags_]].to_numpy()
        eta = coef[list(self.covariates_)].to_numpy()
        exog = b0 + x_future @ eta  # (horizon,)

        max_p, max_q = len(self.z_tail_), len(self.nu_tail_)
        z = np.empty((n_samples, max_p + horizon))
        z[:, :max_p] = self.z_tail_
        nu = np.empty((n_samples, max_q + horizon))
        nu[:, :max_q] = self.nu_tail_
        paths = np.empty((n_samples, horizon), dtype=np.int64)
        log_cap = np.log(self.rate_cap_)
        for h in range(horizon):
            step = np.full(n_samples, exog[h])
            for b, k in zip(beta, self.p_lags_, strict=True):
                step += b * z[:, max_p + h - k]
            for a, lag in zip(alpha, self.q_lags_, strict=True):
                step += a * nu[:, max_q + h - lag]
            nu[:, max_q + h] = step
            mean = np.exp(np.minimum(step, log_cap))
            counts = draw_counts(rng, mean, self.alpha_, self.rate_cap_)
            paths[:, h] = counts
            z[:, max_p + h] = np.log1p(counts)
        meta: dict[str, object] = {"fallback": None, "alpha": self.alpha_}
        return CountForecast(self.origin_, paths, index, model=self.name, meta=meta)


def _tail(values: np.ndarray, n: int, pad: float) -> np.ndarray:
    """The last ``n`` values (oldest first), left-padded with ``pad`` if too few."""
    if n == 0:
        return np.zeros(0)
    tail = values[-n:]
    return np.concatenate([np.full(n - tail.size, pad), tail])
