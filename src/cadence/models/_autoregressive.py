"""The shared base of the autoregressive count families (``Ingarch`` and ``Hawkes``).

``AutoregressiveCountModel``, the fit and forecast steps both share; the
``Climatology`` fallback, column selection, capped count sampling, the NB2/Poisson
log-likelihood in ``log(mean)`` and ``log(size)`` with its score, and the maximum
likelihood inference helpers (observed information, coefficient and effect tables).

Time convention (see ``cadence.models.base``): panel rows are periods labelled by their
first day, oldest first; row t uses information dated <= t. Horizon column h is period
``origin + h + 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from cadence.models._design import (
    Series,
    exogenous_matrix,
    fallback_forecast,
    ignored_columns,
    named_columns,
    nb2_logpmf,
    read_series,
    reject_intervals,
    sample_nb,
    warn_short_history,
)
from cadence.models.base import ParamsMixin, check_fitted
from cadence.models.baselines import Climatology
from cadence.models.errors import ModelError
from cadence.models.forecast import CountForecast

Z_95 = float(stats.norm.ppf(0.975))

# Absolute ceiling of any simulated mean (see ``rate_cap``).
MAX_RATE = 1e9
# Bounds of log(NB size): size 1e-3 is extreme overdispersion, 1e6 is Poisson in practice.
LOG_SIZE_BOUNDS = (np.log(1e-3), np.log(1e6))


def fit_fallback(
    panel: pd.DataFrame,
    target: str,
    y: np.ndarray,
    *,
    min_history: int,
    min_events: int,
    name: str,
) -> tuple[Climatology | None, str | None]:
    """``Climatology`` fitted to the panel when ``y`` cannot support the family, with the
    reason (and a ``ShortHistoryWarning``); ``(None, None)`` otherwise.

    Too little information is either fewer than ``min_history`` observed periods or
    fewer than ``min_events`` non-zero periods (all zeros, a single spike: the
    likelihood has no interior maximum and a constant rate is the honest forecast).
    """
    n_obs = int(np.isfinite(y).sum())
    n_events = int((y[np.isfinite(y)] > 0).sum())
    if n_obs < min_history:
        reason = f"{n_obs} observed periods (needs {min_history})"
    elif n_events < min_events:
        reason = f"{n_events} non-zero periods (needs {min_events})"
    else:
        return None, None
    warn_short_history(name, reason)
    return Climatology().fit(panel, target), reason


def series_start(y: np.ndarray, *, min_after: int, min_events: int, p_quiet: float = 1e-6) -> int:
    """Row from which the series is fitted: 0, or the first non-zero period when the
    all-zero stretch before it is implausible at the rate seen since (Poisson probability
    of that many empty periods below ``p_quiet``). Such a stretch is the time before the
    series started (before the campaign, before the source began reporting), not a quiet
    spell of the same process: left in, it drags a stationary model's long-run level far
    below what the series does now. Rare-event series keep their leading zeros.

    The rate since is only read when the stretch from the first event holds at least
    ``min_after`` observed periods and ``min_events`` non-zero ones (the family's own
    minimums): a lone burst at or near the origin after a long silence is an event of
    the whole history, not a series that started, and trimming to it would make the
    burst the forecast rate."""
    observed = np.isfinite(y)
    events = np.flatnonzero(observed & (np.nan_to_num(y) > 0))
    if events.size == 0:
        return 0
    first = int(events[0])
    quiet = int(observed[:first].sum())
    later = y[first:][observed[first:]]
    if later.size < min_after or int((later > 0).sum()) < min_events:
        return 0
    rate = float(later.mean())
    return first if quiet > 0 and -rate * quiet < np.log(p_quiet) else 0


def rate_cap(y: np.ndarray) -> float:
    """Upper bound on simulated means: ten times the largest observed count plus ten (the
    rule ``NegBinGLM`` uses), so a path that runs away in a feedback loop, or after an
    extreme outlier at the origin, stays within a plausible range."""
    return float(min(MAX_RATE, 10.0 * np.nanmax(y, initial=0.0) + 10.0))


def draw_counts(
    rng: np.random.Generator, mean: np.ndarray, alpha: float, cap: float = MAX_RATE
) -> np.ndarray:
    """Counts with means ``mean`` (any shape), int64: Poisson when ``alpha`` is 0, else
    NB2 with variance ``mean + alpha * mean**2``. Means are clipped to ``[0, cap]``."""
    lam = np.clip(np.nan_to_num(mean, nan=0.0, posinf=cap), 0.0, cap)
    return sample_nb(rng, lam, alpha)


def selected_columns(
    panel: pd.DataFrame,
    observed: np.ndarray,
    requested: Sequence[str] | None,
    prefixes: Sequence[str],
    model: str = "",
) -> tuple[list[str], list[str]]:
    """(used, dropped) exogenous columns: ``requested`` or the panel's exogenous columns
    with one of ``prefixes``. Dropped: columns constant over the ``observed`` rows, and
    columns exactly collinear with earlier ones (``ret_sev_decay_3d`` equals
    ``ret_decay_3d`` when no strike has a severity; a full set of dummies), whose
    coefficients the data cannot tell apart. A requested name not in the panel raises
    ``PanelError`` (``model`` names the family in the message)."""
    if requested is not None:
        candidates = named_columns(model, panel, requested)
    else:
        candidates = [
            c for c in panel.columns if isinstance(c, str) and c.startswith(tuple(prefixes))
        ]
    x = exogenous_matrix(panel, candidates)[observed]
    keep = independent_columns(x) if x.shape[0] else []
    used = [candidates[i] for i in keep]
    return used, [c for c in candidates if c not in used]


def independent_columns(x: np.ndarray, tol: float = 1e-8) -> list[int]:
    """Indices of a maximal set of linearly independent, non-constant columns of ``x``
    (n x k), preferring earlier columns. Columns are centred first: the intercept is
    always in the model."""
    z = x - x.mean(axis=0)
    gram = z.T @ z
    kept: list[int] = []
    for j in range(gram.shape[0]):
        if gram[j, j] <= 1e-12 * max(1.0, float(np.abs(x[:, j]).max(initial=0.0))) ** 2:
            continue
        resid = gram[j, j]
        if kept:
            g_kj = gram[kept, j]
            resid -= g_kj @ np.linalg.lstsq(gram[np.ix_(kept, kept)], g_kj, rcond=None)[0]
        if resid > tol * gram[j, j]:
            kept.append(j)
    return kept


def settled(
    success: bool, x: np.ndarray, bounds: Sequence[tuple[float, float]], watch: Sequence[int]
) -> bool:
    """Whether an optimum needs no second starting point: the optimizer converged and
    none of the ``watch`` parameters (persistence, branching) sits on a bound, where a
    different start is most likely to find a better interior optimum."""
    if not success:
        return False
    for i in watch:
        lo, hi = bounds[i]
        if min(x[i] - lo, hi - x[i]) < 1e-6:
            return False
    return True


@cache
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: only a speed-up
        return None
    return ThreadpoolController()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with one BLAS thread. L-BFGS-B calls BLAS on tiny vectors every
    iteration; with several OpenBLAS threads on a busy machine the thread hand-offs cost
    milliseconds per call (a 29-parameter fit measured 1.6 s, single-threaded 0.24 s).
    A no-op when ``threadpoolctl`` is not installed."""
    controller = _blas_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield


# --- negative binomial log-likelihood -------------------------------------------------------


def count_loglik(y: np.ndarray, mu: np.ndarray, log_size: float | None) -> np.ndarray:
    """Per-period log-likelihood of counts ``y`` with means ``mu`` (Poisson when
    ``log_size`` is None, else NB2 with size ``exp(log_size)``)."""
    if log_size is None:
        return special.xlogy(y, mu) - mu - special.gammaln(y + 1)
    return nb2_logpmf(y, mu, np.exp(log_size))


def count_score(y: np.ndarray, mu: np.ndarray, log_size: float | None) -> tuple[np.ndarray, float]:
    """Derivatives of ``count_loglik``: per-period d/d log(mu), shape like ``y``, and the
    summed d/d log_size (0 for Poisson)."""
    if log_size is None:
        return y - mu, 0.0
    r = np.exp(log_size)
    d_logmu = r * (y - mu) / (r + mu)
    d_logr = r * (
        special.digamma(y + r)
        - special.digamma(r)
        + log_size
        - np.log(r + mu)
        + (mu - y) / (r + mu)
    )
    return d_logmu, float(d_logr.sum())


def moment_log_size(y: np.ndarray) -> float:
    """A starting value for log(NB size) from the sample mean and variance."""
    m = float(np.mean(y))
    v = float(np.var(y))
    size = m * m / (v - m) if v > m > 0 else 1e3
    return float(np.clip(np.log(size), LOG_SIZE_BOUNDS[0] + 1, LOG_SIZE_BOUNDS[1] - 1))


# --- inference ---------------------------------------------------------------------------


def observed_information(
    grad: Callable[[np.ndarray], np.ndarray],
    theta: np.ndarray,
    bounds: Sequence[tuple[float, float]],
) -> np.ndarray:
    """Hessian of a negative log-likelihood by central differences of its analytic
    gradient ``grad``, shape ``(k, k)``, symmetrized. Steps stay inside ``bounds``."""
    k = theta.size
    h = np.empty((k, k))
    for j in range(k):
        step = 1e-5 * max(1.0, abs(theta[j]))
        lo, hi = bounds[j]
        up = min(theta[j] + step, hi)
        down = max(theta[j] - step, lo)
        e_up, e_down = theta.copy(), theta.copy()
        e_up[j], e_down[j] = up, down
        h[:, j] = (grad(e_up) - grad(e_down)) / (up - down)
    return 0.5 * (h + h.T)


def covariance_from_information(info: np.ndarray) -> np.ndarray:
    """Inverse observed information; rows/columns of directions the data do not identify
    (non-positive curvature) are NaN instead of meaningless numbers."""
    k = info.shape[0]
    cov = np.full((k, k), np.nan)
    if k == 0 or not np.isfinite(info).all():
        return cov
    ok = np.diag(info) > 0
    for _ in range(k):
        sub = info[np.ix_(ok, ok)]
        if not ok.any():
            return cov
        eig = np.linalg.eigvalsh(sub)
        if eig.min() > 1e-10 * max(eig.max(), 1.0):
            inv = np.linalg.inv(sub)
            cov[np.ix_(ok, ok)] = inv
            return cov
        # Drop the parameter with the weakest curvature and retry: at a bound or in a
        # flat direction its standard error is undefined, the others still are.
        d = np.where(ok, np.abs(np.diag(info)), np.inf)
        ok[int(np.argmin(d))] = False
    return cov


def transform_covariance(jac: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``jac @ cov @ jac.T`` where NaN (unidentified) entries of ``cov`` stay confined to
    the parameters that depend on them instead of spreading through ``0 * NaN``."""
    unknown = np.isnan(np.diag(cov))
    out = jac @ np.nan_to_num(cov, nan=0.0) @ jac.T
    tainted = (jac[:, unknown] != 0).any(axis=1)
    out[tainted, :] = np.nan
    out[:, tainted] = np.nan
    return np.asarray(out)


def coef_frame(names: Sequence[str], est: np.ndarray, cov: np.ndarray) -> pd.DataFrame:
    """Estimates with standard errors, Wald z, two-sided p-values and 95% intervals."""
    se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    p = 2 * stats.norm.sf(np.abs(z))
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "z": z,
            "p_value": p,
            "lower": est - Z_95 * se,
            "upper": est + Z_95 * se,
        },
        index=pd.Index(list(names), name="parameter"),
    )


EFFECT_COLUMNS = ("feature", "irr", "lower", "upper", "p_value")


def effects_frame(
    features: Sequence[str], log_irr: np.ndarray, se: np.ndarray, level: float = 0.95
) -> pd.DataFrame:
    """Incidence-rate ratios ``exp(log_irr)`` with Wald ``level`` intervals (log scale)
    and two-sided p-values (H0: ratio 1), one row per feature, columns
    ``EFFECT_COLUMNS``."""
    z_crit = float(stats.norm.ppf(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(log_irr / se))
    return pd.DataFrame(
        {
            "feature": list(features),
            "irr": np.exp(log_irr),
            "lower": np.exp(log_irr - z_crit * se),
            "upper": np.exp(log_irr + z_crit * se),
            "p_value": p,
        },
        columns=list(EFFECT_COLUMNS),
    )


def lag_list(spec: int | Sequence[int], what: str) -> tuple[int, ...]:
    """Lags from an int ``n`` (lags 1..n) or an explicit sequence of positive ints."""
    lags = tuple(range(1, spec + 1)) if isinstance(spec, int | np.integer) else tuple(spec)
    if any(int(k) < 1 for k in lags) or len(set(lags)) != len(lags):
        raise ModelError(f"{what} must be distinct positive lags, got {spec!r}")
    return tuple(sorted(int(k) for k in lags))


def unstandardize(
    theta: np.ndarray, covariates: slice, x_mean: np.ndarray, x_sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Estimates with the covariate effects at ``covariates`` (fitted on standardized
    columns, for conditioning) put back in panel units, the intercept at index 0 moved
    accordingly, and the Jacobian of that map (for the covariance)."""
    est = theta.astype(float).copy()
    jac = np.eye(theta.size)
    est[covariates] = theta[covariates] / x_sd
    est[0] = theta[0] - float(np.sum(theta[covariates] * x_mean / x_sd))
    jac[covariates, covariates] = np.diag(1 / x_sd)
    jac[0, covariates] = -x_mean / x_sd
    return est, jac


class LikelihoodReport:
    """What the maximum-likelihood families (Ingarch, Hawkes) report once fitted: the
    coefficient table and incidence-rate ratios of chosen rows of it."""

    distribution: str
    fallback_: Any
    coef_: pd.Series
    cov_: pd.DataFrame

    @property
    def _negbin(self) -> bool:
        return self.distribution == "nbinom"

    def _check_fitted(self) -> None:
        check_fitted(self, "origin_")

    def coef_table(self) -> pd.DataFrame:
        """One row per parameter (see the class docstring): estimate, std_error, z,
        p_value, 95% lower/upper. Empty when the model fell back to ``Climatology``."""
        self._check_fitted()
        if self.fallback_ is not None:
            return coef_frame([], np.zeros(0), np.zeros((0, 0)))
        return coef_frame(list(self.coef_.index), self.coef_.to_numpy(), self.cov_.to_numpy())

    def _effects_of(self, rows: list[str], level: float) -> pd.DataFrame:
        """``effects_frame`` of the coefficient rows ``rows`` (empty frame for none)."""
        table = self.coef_table()
        if not rows:
            return pd.DataFrame(columns=list(EFFECT_COLUMNS))
        sub = table.loc[rows]
        return effects_frame(rows, sub["estimate"].to_numpy(), sub["std_error"].to_numpy(), level)


class LikelihoodData(Protocol):
    """The fixed inputs of one family's likelihood (``IngarchData``, ``HawkesData``):
    counts ``y`` (T,), the ``observed`` mask, whether the last parameter is
    ``log(size)`` (``negbin``), and the objective L-BFGS-B minimizes."""

    @property
    def y(self) -> np.ndarray: ...

    @property
    def observed(self) -> np.ndarray: ...

    @property
    def negbin(self) -> bool: ...

    @property
    def n_obs(self) -> int: ...

    @property
    def n_params(self) -> int: ...

    def loglik(self, theta: np.ndarray) -> float: ...

    def negloglik_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]: ...

    def bounds(self) -> list[tuple[float, float]]: ...


class AutoregressiveCountModel(ParamsMixin, LikelihoodReport):
    """The steps ``Ingarch`` and ``Hawkes`` share: both are count autoregressions fitted
    by maximum likelihood on the analytic score, falling back to ``Climatology`` when the
    history cannot support them, simulated forward path by path.

    A family supplies ``_coef_names`` (the rows of ``coef_``), ``_starts`` (starting
    points of L-BFGS-B, most promising first) and ``_watch`` (the parameters whose
    landing on a bound calls for the next start), and calls the steps from its ``fit``:
    ``_start_fit``, ``_fall_back_if_short``, ``_maximize``, ``_information``,
    ``_store_estimates`` (or ``_fall_back``); ``forecast`` starts with
    ``_fallback_forecast``.

    Fitted state common to both: ``coef_``, ``cov_``, ``alpha_`` (NB2 dispersion, 0 for
    Poisson; ``size_`` is ``1 / alpha_``, read-only, None for Poisson), ``loglik_``,
    ``aic_``, ``n_obs_``, ``converged_``, ``covariates_``, ``dropped_covariates_``,
    ``ignored_columns_``, ``fallback_``, ``fallback_reason_``, ``origin_``, ``freq_``,
    ``fit_start_``, ``rate_cap_``.
    """

    name = ""
    supports_intervals = False
    min_history: int
    min_events: int

    fallback_: Climatology | None
    fallback_reason_: str | None
    alpha_: float
    covariates_: list[str]
    dropped_covariates_: list[str]

    @property
    def size_(self) -> float | None:
        """NB size ``1 / alpha_`` (the former fitted attribute); None for Poisson."""
        return None if self.alpha_ == 0 else 1.0 / self.alpha_

    def __setstate__(self, state: dict[str, object]) -> None:
        # Models stored before the dispersion was named ``alpha_`` (as statsmodels).
        if "size_" in state:
            size = state.pop("size_")
            state["alpha_"] = 0.0 if size is None else 1.0 / cast(float, size)
        self.__dict__.update(state)

    # --- steps of fit -------------------------------------------------------------------

    def _start_fit(
        self, panel: pd.DataFrame, target: str, intervals: pd.DataFrame | None
    ) -> tuple[pd.DataFrame, Series]:
        """Check the arguments, leave out an implausible leading all-zero stretch (see
        ``series_start``) and reset the fitted state; the panel and series to fit."""
        reject_intervals(self.name, intervals)
        if self.distribution not in ("nbinom", "poisson"):
            raise ModelError(
                f"distribution must be 'nbinom' or 'poisson', got {self.distribution!r}"
            )
        series = read_series(panel, target)
        start = series_start(series.y, min_after=self.min_history, min_events=self.min_events)
        if start:
            panel = panel.iloc[start:]
            series = read_series(panel, target)
        self.fit_start_ = series.index[0]
        self.freq_, self.origin_ = series.freq, series.origin
        self._reset_fit()
        return panel, series

    def _reset_fit(self) -> None:
        self.fallback_ = None
        self.fallback_reason_ = None
        self.coef_ = pd.Series(dtype=float)
        self.cov_ = pd.DataFrame()
        self.alpha_ = 0.0
        self.converged_ = False
        self.covariates_ = []
        self.dropped_covariates_ = []

    def _used_columns(self) -> list[str]:
        """Panel columns the fit reads (``ignored_columns_`` lists the others)."""
        return list(self.covariates_)

    def _fall_back_if_short(
        self, panel: pd.DataFrame, target: str, y: np.ndarray, n_params: int
    ) -> bool:
        """Fit the ``Climatology`` fallback (warning) when ``y`` is too short or too
        empty for ``n_params`` parameters (see ``fit_fallback``); whether it did."""
        self.fallback_, self.fallback_reason_ = fit_fallback(
            panel,
            target,
            y,
            min_history=max(self.min_history, 3 * n_params),
            min_events=self.min_events,
            name=self.name,
        )
        if self.fallback_ is None:
            return False
        self._use_fallback(panel, target, y)
        return True

    def _fall_back(self, panel: pd.DataFrame, target: str, y: np.ndarray, reason: str) -> None:
        """Forecast with a fitted ``Climatology`` from now on, for ``reason`` (warning)."""
        self.fallback_reason_ = reason
        warn_short_history(self.name, reason)
        self.fallback_ = Climatology().fit(panel, target)
        self._use_fallback(panel, target, y)

    def _use_fallback(self, panel: pd.DataFrame, target: str, y: np.ndarray) -> None:
        self.covariates_ = []
        self.n_obs_ = int(np.isfinite(y).sum())
        self.loglik_ = float("nan")
        self.aic_ = float("nan")
        self.fitted_ = pd.Series(dtype=float)
        self.ignored_columns_ = ignored_columns(panel, target, self._used_columns())

    def _starts(self, data: Any) -> Iterator[list[float]]:
        raise NotImplementedError

    def _watch(self, data: Any) -> Sequence[int]:
        raise NotImplementedError

    def _coef_names(self) -> list[str]:
        raise NotImplementedError

    def _maximize(self, data: Any) -> tuple[np.ndarray | None, bool]:
        """L-BFGS-B optimum from each of ``_starts`` in turn until one settles (see
        ``settled``); the best finite one and whether it converged, None if none is."""
        obs_y = data.y[data.observed]
        best: tuple[float, np.ndarray, bool] | None = None
        for start in self._starts(data):
            if data.negbin:
                start = [*start, moment_log_size(obs_y)]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
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
            if settled(bool(res.success), res.x, data.bounds(), self._watch(data)):
                break
        if best is None:
            return None, False
        return best[1], best[2]

    @staticmethod
    def _information(data: LikelihoodData, theta: np.ndarray) -> np.ndarray:
        """Observed information of the whole sample at ``theta``."""
        return data.n_obs * observed_information(
            lambda t: data.negloglik_and_grad(t)[1], theta, data.bounds()
        )

    def _store_estimates(
        self,
        data: LikelihoodData,
        fit: tuple[np.ndarray, bool, np.ndarray],
        covariates: slice,
        scale: tuple[np.ndarray, np.ndarray],
        y: np.ndarray,
    ) -> None:
        """Set ``coef_``/``cov_`` (covariates at ``covariates`` put back in panel units
        from their standardization ``scale = (mean, sd)``), the likelihood facts,
        ``alpha_`` and ``rate_cap_`` (from the counts ``y``) from ``fit = (theta, converged,
        information)``."""
        theta, converged, info = fit
        cov_std = covariance_from_information(info)
        est, jac = unstandardize(theta, covariates, *scale)
        names = pd.Index(self._coef_names(), name="parameter")
        self.coef_ = pd.Series(est, index=names, name="estimate")
        self.cov_ = pd.DataFrame(transform_covariance(jac, cov_std), index=names, columns=names)
        self.loglik_ = data.loglik(theta)
        self.aic_ = 2 * data.n_params - 2 * self.loglik_
        self.n_obs_ = data.n_obs
        self.converged_ = converged
        self.alpha_ = 1.0 / float(np.exp(theta[-1])) if self._negbin else 0.0
        self.rate_cap_ = rate_cap(y)

    # --- forecasting and reporting ------------------------------------------------------

    def _fallback_forecast(
        self, horizon: int, n_samples: int, rng: np.random.Generator
    ) -> CountForecast | None:
        """The fallback's forecast under this family's name (``meta["fallback"]``
        names ``Climatology``), or None when the family itself was fitted."""
        check_fitted(self, "origin_")
        return fallback_forecast(self, horizon, n_samples, rng)

    def _fallback_line(self) -> str | None:
        """The summary line of a fallback, None when there is none."""
        fb = self.fallback_
        if fb is None:
            return None
        return (
            f"FALLBACK to climatology: {self.fallback_reason_}; mean {fb.mu_:.4g} per period, "
            f"NB2 alpha {fb.alpha_:.4g}"
        )
