"""Design matrices, coefficient bounds and penalty choice of ``NegBinGLM``.

A design is the intercept, ``log1p`` lags of the count and of its lagged rolling mean,
and exogenous columns. ``solve_design`` standardizes the columns on the fitted rows,
drops constant and collinear ones, and maximizes the penalized NB2 likelihood of
``_nb_regression``: a ridge on the exogenous slopes (``ridge``), a tiny one on the
autoregressive slopes (``ar_ridge``), and bounds that keep the autoregression stable.
``holdout_ridge`` chooses the exogenous ridge by forward validation (``_penalty``).

Shapes: ``T`` periods; ``x_all`` is ``(T, n_ar + k)`` in original units, the ``n_ar``
autoregressive columns first; masks are boolean ``(T,)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cadence.models._design import Coverage, Series, exogenous_range, nb2_loglik
from cadence.models._nb_regression import NB2Problem
from cadence.models._penalty import choose_ridge, holdout_split

# Bound on each autoregressive coefficient (on log1p counts) when persistence is capped.
AR_COEF_LIMIT = 1.0


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


def ar_bounds(
    is_ar: np.ndarray, sd: np.ndarray, max_persistence: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Bounded combinations of the coefficient vector (intercept first, then the
    standardized columns with standard deviations ``sd``, ``is_ar`` marking the
    autoregressive ones): the sum of the autoregressive coefficients in original units
    within ``+-max_persistence`` and each of them within ``+-AR_COEF_LIMIT``. A sum
    near -1 is as unstable as one near 1: the mean swings between a burst's echo and an
    intercept sized to cancel it, and simulated zeros send paths to the cap. Shapes
    ``(k, m)`` and ``(k,)``; none when ``max_persistence`` is None or there is no lag."""
    m = is_ar.size + 1
    if max_persistence is None or not is_ar.any():
        return np.zeros((0, m)), np.zeros(0)
    cols = np.flatnonzero(is_ar)
    unit = np.zeros((cols.size, m))
    unit[np.arange(cols.size), cols + 1] = 1.0 / sd[cols]
    dirs = np.vstack([unit.sum(axis=0, keepdims=True), unit])
    limits = np.concatenate([[max_persistence], np.full(cols.size, AR_COEF_LIMIT)])
    return dirs, limits


@dataclass(frozen=True)
class Penalty:
    """Penalties of one fit: ``ridge`` on standardized exogenous slopes, ``ar_ridge`` on
    standardized autoregressive slopes, ``max_persistence`` (see ``ar_bounds``)."""

    ridge: float
    ar_ridge: float
    max_persistence: float | None


@dataclass(frozen=True)
class Solution:
    """A solved design. ``theta`` = (intercept, standardized slopes of the kept columns,
    log alpha); ``kept`` indexes the kept columns of ``x_all``; ``mean``/``sd`` are the
    standardization of every column (over the fitted rows); ``low``/``high`` the range of
    each exogenous column there; ``n_obs`` counts likelihood terms."""

    theta: np.ndarray
    problem: NB2Problem
    kept: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_obs: int

    def coef(self) -> np.ndarray:
        """Slopes in original units for every column of ``x_all`` (0 where dropped)."""
        out = np.zeros(self.mean.size)
        out[self.kept] = self.theta[1:-1] / self.sd[self.kept]
        return out

    @property
    def intercept(self) -> float:
        slopes = self.theta[1:-1] / self.sd[self.kept]
        return float(self.theta[0] - np.sum(slopes * self.mean[self.kept]))

    @property
    def alpha(self) -> float:
        return float(np.exp(self.theta[-1]))


def solve_design(
    x_all: np.ndarray,
    filled: np.ndarray,
    daily: np.ndarray,
    cov: Coverage | None,
    n_ar: int,
    penalty: Penalty,
    start: Solution | None = None,
) -> Solution:
    """Maximize the penalized likelihood of the counts on the periods ``daily`` and the
    interval totals ``cov``, on the columns of ``x_all``. ``filled`` (T,) are the
    counts with gaps filled (``fill_counts``): exact on ``daily`` periods. ``start``: a
    solution on the same rows (another penalty) to start from."""
    covered = cov.covered if cov is not None else np.zeros(filled.size, dtype=bool)
    rows = daily | covered
    mean = x_all[rows].mean(axis=0)
    sd = x_all[rows].std(axis=0)
    low, high = exogenous_range(x_all[rows][:, n_ar:])
    keep = sd > 1e-12
    z = (x_all[:, keep] - mean[keep]) / sd[keep]
    kept = np.flatnonzero(keep)
    if z.shape[1]:
        independent = independent_columns(z[rows])
        z, kept = z[:, independent], kept[independent]
    z = np.column_stack([np.ones(z.shape[0]), z])
    n_obs = int(daily.sum()) + (len(cov) if cov is not None else 0)
    is_ar = kept < n_ar
    ridge = np.concatenate([[0.0], np.where(is_ar, penalty.ar_ridge, penalty.ridge)])
    dirs, limits = ar_bounds(is_ar, sd[kept], penalty.max_persistence)
    problem = NB2Problem(
        zd=z[daily],
        yd=filled[daily],
        zc=z[covered],
        cov_w=cov.weights[:, covered] if cov is not None else None,
        cov_t=cov.totals if cov is not None else None,
        ridge=ridge,
        bound_dirs=dirs,
        bound_limits=limits,
        stiff=100.0 * max(n_obs, 1),
    )
    if start is not None and np.array_equal(start.kept, kept):
        theta0 = start.theta.copy()
    else:
        theta0 = np.zeros(z.shape[1] + 1)
        theta0[0] = np.log(max(float(filled[rows].mean()), 1e-3))
        theta0[-1] = np.log(0.3)
    theta = problem.fit(theta0)
    return Solution(theta, problem, kept, mean, sd, low, high, n_obs)


def holdout_ridge(
    x_all: np.ndarray,
    filled: np.ndarray,
    daily: np.ndarray,
    n_ar: int,
    penalty: Penalty,
    log_cap: float,
) -> float | None:
    """The exogenous ridge (``_penalty.choose_ridge``) whose fit on the earlier periods
    of ``daily`` best predicts the later ones one step ahead (NB2 log-likelihood,
    exogenous values clipped to the training range as forecasts are). None without
    exogenous columns or when the periods are too few to split (the intercept, the
    autoregression and one exogenous column's worth must be estimable)."""
    split = holdout_split(daily, n_ar + 2)
    if split is None or x_all.shape[1] == n_ar:
        return None
    cut, held = split
    train = daily & (np.arange(filled.size) < cut)
    previous: list[Solution] = []  # the last fit: the next weight starts from it

    def score(ridge: float) -> np.ndarray:
        start = previous[-1] if previous else None
        sol = solve_design(x_all, filled, train, None, n_ar, replace(penalty, ridge=ridge), start)
        previous.append(sol)
        x = x_all[held].copy()
        x[:, n_ar:] = np.clip(x[:, n_ar:], sol.low, sol.high)
        mu = np.exp(np.minimum(sol.intercept + x @ sol.coef(), log_cap))
        size = 1.0 / max(sol.alpha, 1e-6)
        return nb2_loglik(filled[held], np.maximum(mu, 1e-12), size)[0]

    return choose_ridge(score)
