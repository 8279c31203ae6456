"""``NegBinGLM``: negative-binomial regression of a count on its own past and covariates.

Model (NB2, log link), per period t::

    log mu_t = b0 + sum_{k=1..p} g_k * log(1 + y_{t-k}) + g_r * log(1 + mean(y_{t-r..t-1}))
               + sum_c b_c * x_{t,c}
    y_t ~ NB2(mu_t, alpha)       variance mu_t + alpha * mu_t**2

``x`` are the panel's exogenous columns (``ret_``, ``stm_``, ``cal_``), those constant or
all-NaN on the fitted rows dropped, and exactly collinear ones (e.g. a full set of
dummies) dropped by a pivoted QR. Fitted by maximum likelihood with an analytic gradient
(L-BFGS on standardized columns; a tiny ridge on the slopes keeps it finite on all-zero
or separated data, ``ridge`` in log-likelihood units). Given the same data this matches
statsmodels' ``NegativeBinomial`` (NB2) estimates, at a fraction of the time.

Interval observations: a period with NaN count inside an interval ``[start, end)`` has
the mean above, its lags filled with the interval's average count per period (the only
thing known about those days). Interval ``j``'s total is NB2 with mean
``M_j = sum_t w_jt mu_t`` and its variance matched to the sum of the periods' variances
``M_j + alpha * sum_t w_jt mu_t**2`` (exact NB when the rate is constant). Periods with NaN
count and no interval are left out of the likelihood, their lags filled with the mean.

Forecasts simulate paths forward: each step draws NB2 counts for all paths at once and
feeds them back into the lags. Exogenous values for the horizon come from ``future``
(required when the fit used exogenous columns: the decaying continuation of past
retaliation and statements, or a scenario). Paths are guarded against explosive
feedback by capping the mean at ten times the largest observed count plus ten.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import minimize
from scipy.special import digamma, zeta

from cadence.columns import COUNT, PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.models._design import (
    Coverage,
    Series,
    by_frequency,
    exogenous_columns,
    exogenous_matrix,
    future_matrix,
    horizon_index,
    interval_coverage,
    nb2_loglik,
    read_series,
    relabel,
    warn_short_history,
)
from cadence.models.base import ParamsMixin
from cadence.models.baselines import Climatology
from cadence.models.errors import NotFittedError
from cadence.models.forecast import CountForecast

EFFECT_COLUMNS = ("feature", "irr", "lower", "upper", "p_value")
_LOG_ALPHA_BOUNDS = (-12.0, 5.0)
_ETA_CLIP = 30.0


def fill_counts(series: Series, coverage: Coverage | None) -> np.ndarray:
    """Per-period counts with gaps filled, shape ``(T,)``: periods inside an interval get
    the interval's average count per period; other NaN periods the mean of the rest."""
    y = series.y.copy()
    if coverage is not None and len(coverage):
        w = coverage.weights
        rate = coverage.totals / np.maximum(coverage.exposure, 1e-12)
        share = w.sum(axis=0)
        inside = share > 0
        y[inside] = (rate @ w)[inside] / share[inside]
    known = np.isfinite(y)
    fill = float(np.mean(y[known])) if known.any() else 0.0
    return np.where(known, y, fill)


def lag_features(filled: np.ndarray, lags: int, rolling: int) -> np.ndarray:
    """Autoregressive columns, shape ``(T, lags + (rolling > 0))``: ``log1p(y_{t-k})``
    for k = 1..lags, then ``log1p`` of the mean of the previous ``rolling`` counts. Values
    before the first period are the series mean."""
    span = max(lags, rolling, 1)
    pad = np.full(span, float(filled.mean()) if filled.size else 0.0)
    padded = np.concatenate([pad, filled])
    t = np.arange(filled.size) + span
    cols = [np.log1p(padded[t - k]) for k in range(1, lags + 1)]
    if rolling > 0:
        csum = np.concatenate([[0.0], np.cumsum(padded)])
        cols.append(np.log1p((csum[t] - csum[t - rolling]) / rolling))
    return np.column_stack(cols) if cols else np.zeros((filled.size, 0))


def independent_columns(z: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns of the centred matrix
    ``z`` (n x k), preferring earlier columns (so a full set of dummies loses its last
    one). Works on the k x k Gram matrix; centred columns are orthogonal to the
    intercept, so only collinearity among them matters."""
    gram = z.T @ z
    scale = np.sqrt(np.maximum(np.diag(gram), 1e-300))
    if np.linalg.eigvalsh(gram / np.outer(scale, scale)).min() > tol:
        return np.arange(gram.shape[0])  # the common case: nothing to drop
    kept: list[int] = []
    for j in range(gram.shape[0]):
        if gram[j, j] <= 0:
            continue
        if kept:
            g_kk = gram[np.ix_(kept, kept)]
            g_kj = gram[kept, j]
            resid = gram[j, j] - g_kj @ np.linalg.lstsq(g_kk, g_kj, rcond=None)[0]
        else:
            resid = gram[j, j]
        if resid > tol * gram[j, j]:
            kept.append(j)
    return np.asarray(kept, dtype=int)


class NegBinGLM(ParamsMixin):
    """NB2 regression on lagged counts and exogenous columns, simulated forward.

    Hyperparameters: ``lags`` (number of ``log1p`` count lags; None: 7 days, 4 weeks or
    3 months), ``rolling`` (periods in the lagged rolling-mean term, 0 disables; None: 28
    days, 8 weeks or 6 months), ``exogenous`` (use ``ret_``/``stm_``/``cal_`` columns),
    ``ridge`` (L2 weight on standardized slopes), ``max_persistence`` (cap on the sum of
    the autoregressive coefficients, enforced by a stiff quadratic penalty; a sum >= 1
    makes simulated paths explode, e.g. when a long zero stretch is "explained" by the
    lags; None disables), ``trim_leading_zeros`` (leave the periods before the first
    event out of the fit: a series often starts before its actors were active; those
    zeros still feed the first lags), ``min_periods`` (fewer fitted
    observations, or fewer than 3 per coefficient, fall back to ``Climatology`` with a
    ``ShortHistoryWarning``; so do histories with fewer than 2 non-zero observations per
    coefficient, where the regression would chase a handful of events).

    Fitted state: ``coef_`` (Series of coefficients in original units, index
    ``feature_names_``), ``alpha_``, ``exog_columns_``, ``lags_``, ``rolling_``,
    ``origin_``, ``freq_``, ``fallback_`` (the Climatology used instead, or None).
    """

    name = "negbin_glm"
    supports_intervals = True

    def __init__(
        self,
        lags: int | None = None,
        rolling: int | None = None,
        exogenous: bool = True,
        ridge: float = 1e-3,
        max_persistence: float | None = 0.9,
        trim_leading_zeros: bool = True,
        min_periods: int = 30,
    ) -> None:
        self.lags = lags
        self.rolling = rolling
        self.exogenous = exogenous
        self.ridge = ridge
        self.max_persistence = max_persistence
        self.trim_leading_zeros = trim_leading_zeros
        self.min_periods = min_periods

    # --- fit ---------------------------------------------------------------------------

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit on ``panel[target]`` (NaN = unobserved) and optional interval totals."""
        series = read_series(panel, target)
        cov = (
            interval_coverage(intervals, series)
            if intervals is not None and len(intervals)
            else None
        )
        self.origin_, self.freq_ = series.origin, series.freq
        self.lags_ = self.lags if self.lags is not None else by_frequency(series.freq, 7, 4, 3)
        self.rolling_ = (
            self.rolling if self.rolling is not None else by_frequency(series.freq, 28, 8, 6)
        )
        span = max(self.lags_, self.rolling_, 1)
        filled = fill_counts(series, cov)
        first = self._first_event(series, cov) if self.trim_leading_zeros else 0
        if cov is not None and first > 0:
            # Zero totals before the first event leave the fit with the zero periods.
            starts = np.argmax(cov.weights > 0, axis=1)
            keep_iv = (cov.totals > 0) | (starts >= first)
            cov = Coverage(weights=cov.weights[keep_iv], totals=cov.totals[keep_iv])
        daily = np.isfinite(series.y) & (np.arange(series.y.size) >= max(span, first))
        covered = cov.covered if cov is not None else np.zeros(series.y.size, dtype=bool)
        rows = daily | covered

        exog = exogenous_columns(panel, rows) if self.exogenous else []
        ar_names = [f"log1p_lag{k}" for k in range(1, self.lags_ + 1)]
        if self.rolling_ > 0:
            ar_names.append(f"log1p_mean{self.rolling_}")
        x_all = np.column_stack(
            [lag_features(filled, self.lags_, self.rolling_), exogenous_matrix(panel, exog)]
        )
        names = [*ar_names, *exog]

        n_obs = int(daily.sum()) + (len(cov) if cov is not None else 0)
        nonzero = int(np.sum(series.y[daily] > 0)) + (
            int(np.sum(cov.totals > 0)) if cov is not None else 0
        )
        self.fallback_: Climatology | None = None
        need = max(self.min_periods, 3 * (len(names) + 2))
        need_nonzero = max(2, 2 * (len(names) + 1))
        if n_obs < need or nonzero < need_nonzero:
            reason = (
                f"{n_obs} fitted observations (needs {need})"
                if n_obs < need
                else f"{nonzero} non-zero observation(s) for {len(names) + 1} coefficients"
                f" (needs {need_nonzero})"
            )
            warn_short_history(self.name, reason)
            self.fallback_ = Climatology().fit(panel, target, intervals)
            self._set_empty_state(names)
            return self

        # Standardize on the fitted rows; drop constant and collinear columns.
        mean = x_all[rows].mean(axis=0)
        sd = x_all[rows].std(axis=0)
        keep = sd > 1e-12
        z = (x_all[:, keep] - mean[keep]) / sd[keep]
        kept_idx = np.flatnonzero(keep)
        if z.shape[1]:
            independent = independent_columns(z[rows])
            z, kept_idx = z[:, independent], kept_idx[independent]
        z = np.column_stack([np.ones(z.shape[0]), z])
        # Persistence (sum of the autoregressive coefficients, original units) as a linear
        # function of the standardized parameters: direction a with a @ beta = sum.
        n_ar = len(ar_names)
        self._ar_dir = np.concatenate(
            [
                [0.0],
                np.where(kept_idx < n_ar, 1.0 / np.where(sd[kept_idx] > 0, sd[kept_idx], 1.0), 0.0),
            ]
        )
        self._stiff = 100.0 * max(n_obs, 1)

        self._zd, self._yd = z[daily], series.y[daily]
        self._cov_w = cov.weights[:, covered] if cov is not None else None
        self._cov_t = cov.totals if cov is not None else None
        self._zc = z[covered]
        theta = self._optimize(z, filled[rows])
        self.theta_ = theta

        # Back to original units: slope / sd, intercept absorbs the centring.
        slopes_std = theta[1:-1]
        slopes = slopes_std / sd[kept_idx]
        intercept = theta[0] - float(np.sum(slopes * mean[kept_idx]))
        coef = np.zeros(len(names))
        coef[kept_idx] = slopes
        self.feature_names_ = names
        self.exog_columns_ = exog
        self.coef_ = pd.Series(coef, index=names, name="coef")
        self.intercept_ = intercept
        alpha = float(np.exp(theta[-1]))
        self.alpha_ = alpha if alpha > 1e-5 else 0.0
        self._kept_idx, self._sd = kept_idx, sd
        self.n_obs_ = n_obs
        span_hist = (
            filled[-span:]
            if filled.size >= span
            else np.concatenate([np.full(span - filled.size, filled.mean()), filled])
        )
        self.history_ = span_hist
        self.log_cap_ = float(np.log(10.0 * max(float(filled.max()), 1.0) + 10.0))
        return self

    @staticmethod
    def _first_event(series: Series, cov: Coverage | None) -> int:
        """Index of the first period with an event (a positive count or the first period
        of a positive interval total); 0 when there is none."""
        hits = np.flatnonzero(np.nan_to_num(series.y) > 0)
        first = int(hits[0]) if hits.size else series.y.size
        if cov is not None and len(cov) and np.any(cov.totals > 0):
            starts = np.argmax(cov.weights[cov.totals > 0] > 0, axis=1)
            first = min(first, int(starts.min()))
        return first if first < series.y.size else 0

    def _set_empty_state(self, names: list[str]) -> None:
        self.feature_names_ = names
        self.exog_columns_ = []
        self.coef_ = pd.Series(np.zeros(len(names)), index=names, name="coef")
        self.intercept_ = float("nan")
        self.alpha_ = float("nan")
        self.n_obs_ = 0

    def _negloglik(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        beta, log_alpha = theta[:-1], theta[-1]
        alpha = np.exp(log_alpha)
        size = 1.0 / alpha
        mu = np.exp(np.clip(self._zd @ beta, -_ETA_CLIP, _ETA_CLIP))
        ll, d_mu, d_size = nb2_loglik(self._yd, mu, size)
        total = ll.sum()
        g_beta = self._zd.T @ (d_mu * mu)
        g_la = -np.sum(d_size) * size
        if self._cov_w is not None and self._cov_t is not None:
            w = self._cov_w
            mu_c = np.exp(np.clip(self._zc @ beta, -_ETA_CLIP, _ETA_CLIP))
            m = w @ mu_c
            q = w @ mu_c**2
            s = m**2 / (alpha * q)
            ll_i, a, b = nb2_loglik(self._cov_t, m, s)
            total += ll_i.sum()
            d_mu_c = (a + 2 * b * s / m) @ w - mu_c * ((2 * b * s / q) @ w)
            g_beta = g_beta + self._zc.T @ (d_mu_c * mu_c)
            g_la += -np.sum(b * s)
        pen = 0.5 * self.ridge * float(np.sum(beta[1:] ** 2))
        g_pen = np.concatenate([[0.0], self.ridge * beta[1:]])
        excess = self._persistence_excess(beta)
        if excess > 0:
            pen += 0.5 * self._stiff * excess**2
            g_pen = g_pen + self._stiff * excess * self._ar_dir
        grad = np.concatenate([-g_beta + g_pen, [-g_la]])
        return -float(total) + pen, grad

    def _persistence_excess(self, beta: np.ndarray) -> float:
        """How far the autoregressive coefficients' sum exceeds ``max_persistence``."""
        if self.max_persistence is None:
            return 0.0
        return float(self._ar_dir @ beta) - self.max_persistence

    def _optimize(self, z: np.ndarray, filled_rows: np.ndarray) -> np.ndarray:
        m = z.shape[1]
        theta0 = np.zeros(m + 1)
        theta0[0] = np.log(max(float(filled_rows.mean()), 1e-3))
        theta0[-1] = np.log(0.3)
        if self._cov_w is None:
            theta, converged = self._newton(theta0)
            if converged:
                return theta
            theta0 = theta
        bounds = [(None, None)] * m + [_LOG_ALPHA_BOUNDS]
        res = minimize(
            self._negloglik,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-7},
        )
        return np.asarray(res.x)

    def _newton(self, theta: np.ndarray, max_iter: int = 60) -> tuple[np.ndarray, bool]:
        """Fisher scoring for the coefficients with a Newton step for log(alpha), jointly,
        with backtracking. NB2's mean and dispersion parameters are orthogonal (zero
        expected cross information), so the block-diagonal step converges in a few
        iterations. Periods only (no interval totals)."""
        zd, yd = self._zd, self._yd
        ridge = np.full(zd.shape[1], self.ridge)
        ridge[0] = 0.0
        f, g = self._negloglik(theta)
        for _ in range(max_iter):
            alpha = np.exp(theta[-1])
            mu = np.exp(np.clip(zd @ theta[:-1], -_ETA_CLIP, _ETA_CLIP))
            w = mu / (1.0 + alpha * mu)
            info = (zd * w[:, None]).T @ zd + np.diag(ridge)
            if self._persistence_excess(theta[:-1]) > 0:
                info = info + self._stiff * np.outer(self._ar_dir, self._ar_dir)
            step_b = np.linalg.solve(info, -g[:-1])
            r = 1.0 / alpha
            rm = r + mu
            s = digamma(yd + r) - digamma(r) + np.log(r / rm) + (mu - yd) / rm
            ds = zeta(2.0, yd + r) - zeta(2.0, r) + 1.0 / r - 1.0 / rm  # trigamma
            ds = ds - (mu - yd) / rm**2
            curv = -float(np.sum(r * s + r**2 * ds))
            step_a = -g[-1] / curv if curv > 0 else -np.sign(g[-1]) * 0.5
            step = np.concatenate([step_b, [np.clip(step_a, -3.0, 3.0)]])
            slope = float(g @ step)
            t = 1.0
            while True:
                new = theta + t * step
                new[-1] = np.clip(new[-1], *_LOG_ALPHA_BOUNDS)
                f_new, g_new = self._negloglik(new)
                if np.isfinite(f_new) and f_new <= f + 1e-4 * t * min(slope, 0.0):
                    break
                t *= 0.5
                if t < 1e-6:
                    return theta, False
            done = abs(f - f_new) <= 1e-10 * (1.0 + abs(f_new))
            theta, f, g = new, f_new, g_new
            at_bound = theta[-1] <= _LOG_ALPHA_BOUNDS[0] + 1e-9 and g[-1] > 0
            grad = np.abs(g[:-1]).max(initial=0.0) if at_bound else np.abs(g).max()
            if done and grad < 1e-4 * max(1.0, abs(f) / max(yd.size, 1)) * 10:
                return theta, True
        return theta, False

    # --- effects -----------------------------------------------------------------------

    def effects(self, level: float = 0.95) -> pd.DataFrame:
        """Incidence-rate ratios of the retaliation (``ret_``) and statement (``stm_``)
        features per unit of the feature, with Wald ``level`` intervals and two-sided
        p-values from the observed information. Columns ``feature, irr, lower, upper,
        p_value``; empty when the model fell back to Climatology."""
        self._check_fitted()
        if self.fallback_ is not None:
            return pd.DataFrame(columns=list(EFFECT_COLUMNS))
        cov = np.linalg.pinv(self._hessian())
        kept_names = [self.feature_names_[i] for i in self._kept_idx]
        z_crit = float(stats.norm.ppf(0.5 + level / 2))
        out = []
        for pos, (name, col) in enumerate(zip(kept_names, self._kept_idx, strict=True)):
            if not name.startswith((PREFIX_RETALIATION, PREFIX_STATEMENT)):
                continue
            se = float(np.sqrt(max(cov[pos + 1, pos + 1], 0.0))) / self._sd[col]
            b = float(self.coef_[name])
            p = float(2 * stats.norm.sf(abs(b) / se)) if se > 0 else float("nan")
            out.append((name, np.exp(b), np.exp(b - z_crit * se), np.exp(b + z_crit * se), p))
        return pd.DataFrame(out, columns=list(EFFECT_COLUMNS))

    def _hessian(self) -> np.ndarray:
        """Hessian of the penalized negative log-likelihood at the optimum (central
        differences of the analytic gradient), shape ``(m + 1, m + 1)``."""
        theta = self.theta_
        h = np.zeros((theta.size, theta.size))
        for i in range(theta.size):
            step = 1e-5 * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += step
            down[i] -= step
            h[i] = (self._negloglik(up)[1] - self._negloglik(down)[1]) / (2 * step)
        return 0.5 * (h + h.T)

    # --- forecast ----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "fallback_"):
            raise NotFittedError(f"{self.name}: call fit() before forecast()")

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """Simulate ``n_samples`` paths over ``horizon`` periods; lags are fed by the
        simulated counts. ``future`` must hold the fitted exogenous columns for the
        horizon periods (``FutureFrameError`` otherwise)."""
        self._check_fitted()
        if self.fallback_ is not None:
            fc = self.fallback_.forecast(horizon, n_samples=n_samples, rng=rng)
            return relabel(fc, self.name, fallback=Climatology.name)
        index = horizon_index(self.origin_, horizon, self.freq_)
        x_future = future_matrix(future, self.exog_columns_, index)
        coef = self.coef_.to_numpy()
        n_ar = self.lags_ + (self.rolling_ > 0)
        base = self.intercept_ + x_future @ coef[n_ar:]
        samples = self._simulate(base, coef[: self.lags_], n_samples, rng)
        return CountForecast(
            origin=self.origin_,
            samples=samples,
            index=index,
            model=self.name,
            meta={"alpha": self.alpha_},
        )

    def _simulate(
        self, base: np.ndarray, ar: np.ndarray, n_samples: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Paths, shape ``(n_samples, h)``. Buffers are time-major so each step reads
        contiguous rows; the gamma mixing draws of the whole horizon come first, in one
        call (NB2 = Poisson(mu * G), G ~ Gamma(1/alpha, alpha), independent of the past)."""
        p, r = self.lags_, self.rolling_
        span = self.history_.size
        h = base.size
        alpha = self.alpha_
        mix = (
            rng.standard_gamma(1.0 / alpha, size=(h, n_samples)) * alpha
            if alpha > 0
            else np.ones((h, n_samples))
        )
        raw = np.empty((span + h, n_samples))
        raw[:span] = self.history_[:, None]
        logs = np.empty((span + h, n_samples))
        logs[:span] = np.log1p(self.history_)[:, None]
        ar_rev = ar[::-1]
        g_roll = float(self.coef_.iloc[p]) if r > 0 else 0.0
        roll_sum = np.full(n_samples, float(self.history_[span - r :].sum())) if r > 0 else None
        for t in range(h):
            now = span + t
            eta = base[t] + (ar_rev @ logs[now - p : now] if p else np.zeros(n_samples))
            if roll_sum is not None:
                eta += g_roll * np.log1p(roll_sum / r)
            lam = np.exp(np.minimum(eta, self.log_cap_)) * mix[t]
            raw[now] = rng.poisson(lam)
            logs[now] = np.log1p(raw[now])
            if roll_sum is not None:
                roll_sum += raw[now] - raw[now - r]
        return raw[span:].T.astype(np.int64)
