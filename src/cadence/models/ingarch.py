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
from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import pandas as pd
from scipy import optimize

from cadence.columns import COUNT, EXOGENOUS_PREFIXES, PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.models._design import (
    exogenous_matrix,
    exogenous_range,
    future_matrix,
    horizon_index,
    read_series,
    reject_intervals,
    relabel,
    repeating_calendar,
    warn_short_history,
)
from cadence.models._ingarch_common import (
    LikelihoodReport,
    count_loglik,
    covariance_from_information,
    draw_counts,
    fit_fallback,
    lag_list,
    moment_log_size,
    observed_information,
    rate_cap,
    selected_columns,
    series_start,
    settled,
    single_threaded_blas,
    transform_covariance,
    unstandardize,
)
from cadence.models._ingarch_likelihood import NU_CLIP, IngarchData
from cadence.models._penalty import DEFAULT_RIDGE, RIDGE_GRID, choose_ridge, holdout_split
from cadence.models.base import ParamsMixin
from cadence.models.baselines import Climatology
from cadence.models.errors import ModelError, ReducedModelWarning
from cadence.models.forecast import CountForecast

Distribution = Literal["nbinom", "poisson"]


class Ingarch(ParamsMixin, LikelihoodReport):
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
    ``cov_`` (DataFrame), ``size_`` (NB size or None), ``loglik_``, ``aic_``, ``n_obs_``,
    ``covariates_``, ``dropped_covariates_``, ``ridge_`` (the covariate ridge used),
    ``exog_low_``/``exog_high_`` (the covariates' range over the history; horizon values
    are clipped to it), ``fitted_`` (in-sample conditional means,
    Series), ``converged_``, ``fallback_reason_`` (None, or why ``Climatology`` is used),
    ``fallback_`` (that fitted ``Climatology`` or None), ``origin_``, ``freq_``,
    ``fit_start_`` (first period fitted: later than the panel's first row when a long
    leading all-zero stretch was left out, see ``_ingarch_common.series_start``).
    """

    name = "ingarch"
    supports_intervals = False

    fallback_: Climatology | None
    fallback_reason_: str | None
    size_: float | None
    covariates_: list[str]
    dropped_covariates_: list[str]

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
        reject_intervals(self.name, intervals)
        if self.distribution not in ("nbinom", "poisson"):
            raise ModelError(
                f"distribution must be 'nbinom' or 'poisson', got {self.distribution!r}"
            )
        p_lags = lag_list(self.past_obs, "past_obs") if self.past_obs else ()
        q_lags = lag_list(self.past_mean, "past_mean") if self.past_mean else ()
        series = read_series(panel, target)
        start = series_start(series.y)
        if start:
            panel = panel.iloc[start:]
            series = read_series(panel, target)
        self.fit_start_ = series.index[0]
        y = series.y
        self.freq_, self.origin_ = series.freq, series.origin
        self.p_lags_, self.q_lags_ = p_lags, q_lags
        self._reset_fit()

        observed = np.isfinite(y)
        used, dropped = selected_columns(panel, observed, self.covariates, self.exog_prefixes)
        if self.covariates is None:
            repeating = repeating_calendar(panel, used, observed)
            dropped += [c for c in used if c not in repeating]
            used = repeating
        n_core = 1 + len(p_lags) + len(q_lags) + int(self._negbin)
        n_obs = int(observed.sum())
        if used and 3 * (n_core + len(used)) > n_obs >= max(self.min_history, 3 * n_core):
            warnings.warn(
                f"{self.name}: {n_obs} observed periods for {n_core + len(used)} parameters "
                f"(needs {3 * (n_core + len(used))}); fitting without covariates",
                ReducedModelWarning,
                stacklevel=2,
            )
            dropped, used = dropped + used, []
        self.covariates_, self.dropped_covariates_ = used, dropped
        n_params = n_core + len(self.covariates_)
        self.fallback_, self.fallback_reason_ = fit_fallback(
            panel,
            target,
            y,
            min_history=max(self.min_history, 3 * n_params),
            min_events=self.min_events,
            name=self.name,
        )
        if self.fallback_ is not None:
            self._use_fallback(y)
            return self

        x = exogenous_matrix(panel, self.covariates_)
        x_mean, x_sd = x[observed].mean(axis=0), x[observed].std(axis=0)
        self.exog_low_, self.exog_high_ = exogenous_range(x[observed])
        xs = (x - x_mean) / x_sd
        with single_threaded_blas():
            self.ridge_ = self._choose_ridge(y, xs, p_lags, q_lags)
            if not np.isfinite(self.ridge_):  # the covariates did not help on later data
                self.dropped_covariates_ += self.covariates_
                self.covariates_ = []
                xs, x_mean, x_sd = xs[:, :0], x_mean[:0], x_sd[:0]
                self.exog_low_, self.exog_high_ = self.exog_low_[:0], self.exog_high_[:0]
                self.ridge_ = 0.0
            data = IngarchData.build(y, xs, p_lags, q_lags, self._negbin, self.ridge_)
            theta, converged = self._maximize(data)
            if theta is not None and xs.shape[1] and data.at_bound(theta):
                warnings.warn(
                    f"{self.name}: with the covariates the fit sits on the stationarity "
                    "bound (a unit root); fitting without them",
                    ReducedModelWarning,
                    stacklevel=2,
                )
                self.dropped_covariates_ += self.covariates_
                self.covariates_ = []
                xs, x_mean, x_sd = xs[:, :0], x_mean[:0], x_sd[:0]
                self.exog_low_, self.exog_high_ = self.exog_low_[:0], self.exog_high_[:0]
                self.ridge_ = 0.0
                data = IngarchData.build(y, xs, p_lags, q_lags, self._negbin)
                theta, converged = self._maximize(data)
            if theta is not None:
                info = data.n_obs * observed_information(
                    lambda t: data.negloglik_and_grad(t)[1], theta, data.bounds()
                )
        if theta is None:
            self.fallback_reason_ = "likelihood maximization failed"
            warn_short_history(self.name, self.fallback_reason_)
            self.fallback_ = Climatology().fit(panel, target)
            self._use_fallback(y)
            return self

        cov_std = covariance_from_information(info)
        p, q = len(data.past_obs), len(data.past_mean)
        covs = slice(1 + p + q, 1 + p + q + data.x.shape[1])
        est, jac = unstandardize(theta, covs, x_mean, x_sd)
        names = pd.Index(self._param_names(), name="parameter")
        self.coef_ = pd.Series(est, index=names, name="estimate")
        self.cov_ = pd.DataFrame(transform_covariance(jac, cov_std), index=names, columns=names)
        nu = data.nu(theta)
        self.fitted_ = pd.Series(np.exp(nu), index=series.index, name="fitted_mean")
        self.loglik_ = data.loglik(theta)
        self.aic_ = 2 * data.n_params - 2 * self.loglik_
        self.n_obs_ = data.n_obs
        self.converged_ = converged
        self.size_ = float(np.exp(theta[-1])) if self._negbin else None
        self.rate_cap_ = rate_cap(y)
        # State that continues the recursion past the origin (oldest first).
        z = np.log1p(data.y)
        self.z_tail_ = _tail(z, max(p_lags, default=0), float(z.mean()))
        self.nu_tail_ = _tail(nu, max(q_lags, default=0), data.nu0)
        return self

    def _reset_fit(self) -> None:
        self.fallback_ = None
        self.fallback_reason_ = None
        self.coef_ = pd.Series(dtype=float)
        self.cov_ = pd.DataFrame()
        self.size_ = None
        self.converged_ = False
        self.covariates_ = []
        self.dropped_covariates_ = []

    def _use_fallback(self, y: np.ndarray) -> None:
        self.covariates_ = []
        self.n_obs_ = int(np.isfinite(y).sum())
        self.loglik_ = float("nan")
        self.aic_ = float("nan")
        self.fitted_ = pd.Series(dtype=float)

    def _param_names(self) -> list[str]:
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

    def _maximize(self, data: IngarchData) -> tuple[np.ndarray | None, bool]:
        """L-BFGS-B optimum from a persistent starting point, and from a less persistent
        one if the first did not settle (see ``settled``); None if none is finite."""
        obs_y = data.y[data.observed]
        nubar = float(np.log(max(obs_y.mean(), 1e-2)))
        p, q, k = len(data.past_obs), len(data.past_mean), data.x.shape[1]
        best: tuple[float, np.ndarray, bool] | None = None
        for persistence in (0.6, 0.2):
            b = (
                np.full(p, persistence / 2 / max(p, 1))
                if q
                else np.full(p, persistence / max(p, 1))
            )
            a = np.full(q, persistence / 2 / max(q, 1))
            start = [nubar * (1 - b.sum() - a.sum()), *b, *a, *np.zeros(k)]
            if data.negbin:
                start.append(moment_log_size(obs_y))
            with np.errstate(over="ignore", invalid="ignore"):
                res = optimize.minimize(
                    data.negloglik_and_grad,
                    np.asarray(start, dtype=float),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=data.bounds(),
                    options={"maxiter": 1000},
                )
            if (
                np.isfinite(res.fun)
                and np.isfinite(res.x).all()
                and (best is None or res.fun < best[0])
            ):
                best = (float(res.fun), res.x, bool(res.success))
            if settled(bool(res.success), res.x, data.bounds(), range(1, 1 + p + q)):
                break
        if best is None:
            return None, False
        return best[1], best[2]

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
        if self.fallback_ is not None:
            fb = self.fallback_
            head.append(
                f"FALLBACK to climatology: {self.fallback_reason_}; mean {fb.mu_:.4g} per period, "
                f"NB2 alpha {fb.alpha_:.4g}"
            )
            return "\n".join(head)
        head.append(
            f"log-likelihood {self.loglik_:.3f}  AIC {self.aic_:.3f}  converged {self.converged_}"
        )
        if self.size_ is not None:
            head.append(f"NB size {self.size_:.4g} (sigma^2 = 1/size = {1 / self.size_:.4g})")
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
        self._check_fitted()
        if self.fallback_ is not None:
            fc = self.fallback_.forecast(horizon, n_samples=n_samples, rng=rng)
            return relabel(
                fc, self.name, fallback=Climatology.name, fallback_reason=self.fallback_reason_
            )
        index = horizon_index(self.origin_, horizon, self.freq_)
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
            counts = draw_counts(rng, np.exp(np.minimum(step, log_cap)), self.size_, self.rate_cap_)
            paths[:, h] = counts
            z[:, max_p + h] = np.log1p(counts)
        meta: dict[str, object] = {"fallback": None, "size": self.size_}
        return CountForecast(self.origin_, paths, index, model=self.name, meta=meta)


def _tail(values: np.ndarray, n: int, pad: float) -> np.ndarray:
    """The last ``n`` values (oldest first), left-padded with ``pad`` if too few."""
    if n == 0:
        return np.zeros(0)
    tail = values[-n:]
    return np.concatenate([np.full(n - tail.size, pad), tail])
