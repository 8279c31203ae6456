"""Maximum marginal likelihood for the local-level count model (``LocalLevel``).

The level variance ``q`` and the NB size ``k`` are first chosen on a log-spaced grid,
evaluated in one vectorised filter pass, then refined on a finer grid around the best
cell. With driver covariates, backfitting follows (three rounds): the drivers' effects
are a ridge NB2 regression offset by the level the filter predicted for each period
(with the previous round's effects in the exposure), and ``(q, k)`` are chosen again on
the finer grid with the new effects.

With a sampled stream (dated reports of a share ``theta`` of the events, see
``cadence.models._level_filter``), its size ``k_s`` is chosen on its own grid: the
coarse ``(q, k)`` grid runs with ``k_s = k``, then ``k_s`` takes the best of ``_GRID``
log-spaced values at that ``(q, k)``, and the finer ``(q, k)`` grid runs with it.
``theta`` is not fitted here (``LocalLevel`` estimates it where the streams overlap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadence.models._design import Coverage, Series, by_frequency
from cadence.models._level_calibration import ScaleChoice, choose_scale
from cadence.models._level_filter import (
    FilterResult,
    LevelObservations,
    SampledObservations,
    laplace_filter,
)

_LOG_Q = (np.log(1e-4), np.log(0.5))
_LOG_K = (np.log(0.2), np.log(50.0))
_GRID = 9
_FINE = 5
_P0 = 1.0
_NEWTON_ITER = 25
_BACKFIT_ROUNDS = 3
_MAX_DRIVER_EFFECT = 3.0


@dataclass(frozen=True)
class LevelFit:
    """A fitted local level: ``q``, ``k`` (NB size = 1/alpha), driver effects ``beta``
    (per standardised column), the filtered state ``m``, ``p`` at the origin, the
    long-run log-level ``mbar``, the log-likelihood, and the largest count per period
    seen in an interval total (for the forecast's cap)."""

    q: float
    k: float
    beta: np.ndarray
    m: float
    p: float
    mbar: float
    loglik: float
    max_total: float
    k_sampled: float = float("nan")
    scale: ScaleChoice | None = None


@dataclass(frozen=True)
class Sampled:
    """A sampled stream: per-period counts ``y`` (shape (T,), NaN where not observed)
    reporting a share ``theta`` of the events."""

    y: np.ndarray
    theta: float


@dataclass(frozen=True)
class _Problem:
    """What stays fixed while the parameters move: one series' observations."""

    y: np.ndarray  # (T,)
    size: np.ndarray  # (T,)
    dow: np.ndarray  # (T,) log day-of-week factor of each period
    z: np.ndarray  # (T, p) standardised drivers
    coverage: Coverage | None
    ends: np.ndarray  # (J,) last period of each interval
    m0: float
    mbar: float
    burn_in: int
    damping: float
    sampled: Sampled | None = None

    def observations(self, beta: np.ndarray) -> LevelObservations:
        """Observations with the log-exposure of each candidate ``beta`` (shape (G, p))."""
        log_exp = self.dow[:, None] + self.z @ beta.T  # (T, G)
        offset = np.where(self.size[:, None] > 0, log_exp, 0.0)
        if self.coverage is not None and len(self.coverage):
            per_interval = np.log(self.coverage.weights @ np.exp(log_exp))  # (J, G)
            offset[self.ends] = 0.0
            np.add.at(offset, self.ends, per_interval)
        second = None
        if self.sampled is not None:
            on = np.isfinite(self.sampled.y)
            second = SampledObservations(
                y=np.where(on, self.sampled.y, 0.0)[:, None],
                on=on[:, None],
                offset=(log_exp + np.log(self.sampled.theta))[:, None, :],
            )
        return LevelObservations(
            y=self.y[:, None], size=self.size[:, None], offset=offset[:, None, :], sampled=second
        )

    def filter(
        self,
        log_q: np.ndarray | float,
        log_k: np.ndarray | float,
        beta: np.ndarray,
        keep_predicted: bool = False,
        log_ks: np.ndarray | float | None = None,
        keep_filtered: bool = False,
    ) -> FilterResult:
        """The filter run for each candidate ``(log_q[g], log_k[g], beta[g])``; the
        sampled stream's log size ``log_ks`` (default: ``log_k``)."""
        lk = np.atleast_1d(log_k)
        ks = None
        if self.sampled is not None:
            ks = np.exp(np.broadcast_to(lk if log_ks is None else log_ks, lk.shape))[None, :]
        return laplace_filter(
            self.observations(beta),
            np.exp(np.atleast_1d(log_q))[None, :],
            np.exp(np.atleast_1d(log_k))[None, :],
            m0=np.array([self.m0]),
            p0=_P0,
            damping=self.damping,
            mbar=np.array([self.mbar]),
            burn_in=self.burn_in,
            keep_predicted=keep_predicted,
            k_sampled=ks,
            keep_filtered=keep_filtered,
        )

    def filter_loglik(
        self,
        log_q: np.ndarray,
        log_k: np.ndarray,
        beta: np.ndarray,
        log_ks: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """Log-likelihood of each candidate, shape ``(G,)``."""
        return np.asarray(self.filter(log_q, log_k, beta, log_ks=log_ks).loglik[0])


def _problem(
    series: Series,
    coverage: Coverage | None,
    dow: np.ndarray,
    z: np.ndarray,
    damping: float,
    sampled: Sampled | None = None,
) -> _Problem:
    observed = np.isfinite(series.y)
    y = np.where(observed, series.y, 0.0)
    size = observed.astype(float)
    ends = np.zeros(0, dtype=int)
    rates = [y[observed]]
    if coverage is not None and len(coverage):
        ends = np.array([int(np.nonzero(w > 0)[0][-1]) for w in coverage.weights])
        np.add.at(y, ends, coverage.totals)
        np.add.at(size, ends, coverage.exposure)
        rates.append(coverage.totals / np.maximum(coverage.exposure, 1e-9))
    first = np.concatenate(rates)[:14]
    exposure = max(float(size.sum()), 1.0)
    # with no event at all, half an event over the exposure (a zero rate has no log)
    mean_rate = max(float(y.sum()), 0.5) / exposure
    first_rate = max(float(first.sum()), 0.5) / max(first.size, 1)
    return _Problem(
        y=y,
        size=size,
        dow=dow,
        z=z,
        coverage=coverage,
        ends=ends,
        m0=float(np.log(first_rate)),
        mbar=float(np.log(mean_rate)),
        burn_in=min(by_frequency(series.freq, daily=7, weekly=2, monthly=1), y.size // 10),
        damping=damping,
        sampled=sampled,
    )


def _grid_search(
    problem: _Problem,
    beta: np.ndarray,
    *,
    coarse: bool = True,
    centre: tuple[float, float] = (0.0, 0.0),
    log_ks: float | None = None,
) -> tuple[float, float]:
    """The best ``(log q, log k)``: a coarse grid over the whole range, then a finer one
    around its best cell (only the finer one around ``centre`` when not ``coarse``)."""
    dq = (_LOG_Q[1] - _LOG_Q[0]) / (_GRID - 1)
    dk = (_LOG_K[1] - _LOG_K[0]) / (_GRID - 1)
    best_q, best_k = centre
    grids = []
    if coarse:
        grids.append((np.linspace(*_LOG_Q, _GRID), np.linspace(*_LOG_K, _GRID)))
    grids.append((np.zeros(_FINE), np.zeros(_FINE)))
    for i, (lq, lk) in enumerate(grids):
        if i == len(grids) - 1:
            lq = np.clip(np.linspace(best_q - dq, best_q + dq, _FINE), *_LOG_Q)
            lk = np.clip(np.linspace(best_k - dk, best_k + dk, _FINE), *_LOG_K)
        gq, gk = (a.ravel() for a in np.meshgrid(lq, lk))
        ll = problem.filter_loglik(gq, gk, np.broadcast_to(beta, (gq.size, beta.size)), log_ks)
        j = int(np.argmax(np.where(np.isfinite(ll), ll, -np.inf)))
        best_q, best_k = float(gq[j]), float(gk[j])
    return best_q, best_k


def _driver_effects(
    problem: _Problem, log_q: float, log_k: float, beta: np.ndarray, ridge: float
) -> np.ndarray:
    """Ridge NB2 regression of the counts on the drivers, offset by the level the filter
    predicted for each period before seeing it (one backfitting step): Newton's method
    on ``sum_t ll(y_t | exp(m_t + dow_t + z_t b), k) - ridge * |b|^2 / 2``."""
    p = problem.z.shape[1]
    res = problem.filter(log_q, log_k, beta[None, :], keep_predicted=True)
    assert res.predicted is not None
    rows = (problem.size > 0) & (np.arange(problem.y.size) >= problem.burn_in)
    if problem.coverage is not None and len(problem.coverage):
        rows[problem.ends] = False  # totals: only single periods inform the effects
    if rows.sum() <= p:
        return np.zeros(p)
    y, z = problem.y[rows], problem.z[rows]
    base = res.predicted[rows, 0, 0] + problem.dow[rows]
    k = float(np.exp(log_k))
    beta = beta.copy()
    for _ in range(_NEWTON_ITER):
        mu = np.exp(np.clip(base + z @ beta, -12.0, 14.0))
        w = k * mu / (k + mu)
        grad = z.T @ (k * (y - mu) / (k + mu)) - ridge * beta
        hess = (z * (w * (k + y) / (k + mu))[:, None]).T @ z + ridge * np.eye(p)
        step = np.linalg.solve(hess, grad)
        beta = np.clip(beta + step, -_MAX_DRIVER_EFFECT, _MAX_DRIVER_EFFECT)
        if np.max(np.abs(step)) < 1e-6:
            break
    return beta


def fit_level(
    series: Series,
    coverage: Coverage | None,
    dow: np.ndarray,
    z: np.ndarray,
    *,
    damping: float,
    ridge: float,
    sampled: Sampled | None = None,
    scale_fallback: float | None = None,
) -> LevelFit:
    """Fit ``q``, ``k`` and the driver effects to one series: its counts, interval
    totals ``coverage``, log day-of-week factor of each period ``dow`` (shape (T,)) and
    standardised drivers ``z`` (shape (T, p)); with ``sampled``, also the sampled
    stream's size ``k_s``. With ``scale_fallback``, the forecast variance scale is also
    chosen on the history (``_level_calibration.choose_scale``; ``scale_fallback`` when
    the history has too few windows to score)."""
    problem = _problem(series, coverage, dow, z, damping, sampled)
    p = z.shape[1]
    beta = np.zeros(p)
    log_q, log_k = _grid_search(problem, beta)
    log_ks = None
    if sampled is not None:
        log_ks = _sampled_size(problem, log_q, log_k, beta)
        log_q, log_k = _grid_search(
            problem, beta, coarse=False, centre=(log_q, log_k), log_ks=log_ks
        )
    for _ in range(_BACKFIT_ROUNDS if p else 0):
        beta = _driver_effects(problem, log_q, log_k, beta, ridge)
        log_q, log_k = _grid_search(
            problem, beta, coarse=False, centre=(log_q, log_k), log_ks=log_ks
        )
    res = problem.filter(
        log_q, log_k, beta[None, :], log_ks=log_ks, keep_filtered=scale_fallback is not None
    )
    scale = None
    if scale_fallback is not None:
        scale = _choose_scale(problem, res, log_q, log_k, beta, series.freq, scale_fallback)
    max_total = 0.0
    if coverage is not None and len(coverage):
        max_total = float(np.max(coverage.totals / np.maximum(coverage.exposure, 1e-9)))
    return LevelFit(
        q=float(np.exp(log_q)),
        k=float(np.exp(log_k)),
        beta=beta,
        m=float(res.m[0, 0]),
        p=float(res.p[0, 0]),
        mbar=problem.mbar,
        loglik=float(res.loglik[0, 0]),
        max_total=max_total,
        k_sampled=float("nan") if log_ks is None else float(np.exp(log_ks)),
        scale=scale,
    )


def _choose_scale(
    problem: _Problem,
    res: FilterResult,
    log_q: float,
    log_k: float,
    beta: np.ndarray,
    freq: str,
    fallback: float,
) -> ScaleChoice:
    """``choose_scale`` on the fitted problem's own history."""
    assert res.filtered is not None
    fm, fp = res.filtered
    return choose_scale(
        problem.y,
        problem.size == 1.0,
        problem.dow + problem.z @ beta,
        (fm[:, 0, 0], fp[:, 0, 0]),
        q=float(np.exp(log_q)),
        k=float(np.exp(log_k)),
        damping=problem.damping,
        mbar=problem.mbar,
        windows=by_frequency(freq, daily=(7, 28), weekly=(4, 13), monthly=(3, 6)),
        every=by_frequency(freq, daily=7, weekly=1, monthly=1),
        fallback=fallback,
        start=max(problem.burn_in, 1),
    )


def _sampled_size(problem: _Problem, log_q: float, log_k: float, beta: np.ndarray) -> float:
    """The sampled stream's log size: the best of ``_GRID`` log-spaced values at
    ``(log_q, log_k)``."""
    grid = np.linspace(*_LOG_K, _GRID)
    ll = problem.filter_loglik(
        np.full(_GRID, log_q),
        np.full(_GRID, log_k),
        np.broadcast_to(beta, (_GRID, beta.size)),
        grid,
    )
    return float(grid[int(np.argmax(np.where(np.isfinite(ll), ll, -np.inf)))])


@dataclass(frozen=True)
class BatchLevelFit:
    """Fitted local levels of a batch of series, one value per series (shape ``(S,)``)."""

    q: np.ndarray
    k: np.ndarray
    m: np.ndarray
    p: np.ndarray
    mbar: np.ndarray
    cap: np.ndarray


def fit_level_batch(
    counts: np.ndarray, *, damping: float, burn_in: int, grid: int = 7, fine: int = 3
) -> BatchLevelFit:
    """Fit ``q`` and ``k`` of every series of ``counts`` (shape ``(S, T)``, NaN where
    unobserved) in vectorised filter passes: a ``grid`` x ``grid`` log-spaced grid, then
    a ``fine`` x ``fine`` one spanning half a cell on each side of each series' best
    cell. No covariates, no intervals."""
    y = np.asarray(counts, dtype=float).T  # (T, S)
    observed = np.isfinite(y)
    n_series = y.shape[1]
    y0 = np.where(observed, y, 0.0)
    size = observed.astype(float)
    obs = LevelObservations(y=y0, size=size, offset=np.zeros_like(y0))
    exposure = np.maximum(size.sum(axis=0), 1.0)
    mbar = np.log(np.maximum(y0.sum(axis=0), 0.5) / exposure)
    first = np.maximum(np.cumsum(size, axis=0) <= 14, 0) * size
    m0 = np.log(np.maximum((y0 * first).sum(axis=0), 0.5) / np.maximum(first.sum(axis=0), 1.0))

    def run(lq: np.ndarray, lk: np.ndarray) -> np.ndarray:
        res = laplace_filter(
            obs,
            np.exp(lq),
            np.exp(lk),
            m0=m0,
            p0=_P0,
            damping=damping,
            mbar=mbar,
            burn_in=burn_in,
        )
        return np.where(np.isfinite(res.loglik), res.loglik, -np.inf)

    gq, gk = (
        a.ravel() for a in np.meshgrid(np.linspace(*_LOG_Q, grid), np.linspace(*_LOG_K, grid))
    )
    ll = run(np.tile(gq, (n_series, 1)), np.tile(gk, (n_series, 1)))
    best = np.argmax(ll, axis=1)
    dq = 0.5 * (_LOG_Q[1] - _LOG_Q[0]) / (grid - 1)
    dk = 0.5 * (_LOG_K[1] - _LOG_K[0]) / (grid - 1)
    fq, fk = (
        a.ravel() for a in np.meshgrid(np.linspace(-dq, dq, fine), np.linspace(-dk, dk, fine))
    )
    lq = np.clip(gq[best][:, None] + fq[None, :], *_LOG_Q)
    lk = np.clip(gk[best][:, None] + fk[None, :], *_LOG_K)
    ll = run(lq, lk)
    j = np.argmax(ll, axis=1)
    rows = np.arange(n_series)
    q, k = np.exp(lq[rows, j]), np.exp(lk[rows, j])
    res = laplace_filter(
        obs, q[:, None], k[:, None], m0=m0, p0=_P0, damping=damping, mbar=mbar, burn_in=burn_in
    )
    peak = np.max(np.where(observed, y, 0.0), axis=0)
    return BatchLevelFit(
        q=q, k=k, m=res.m[:, 0], p=res.p[:, 0], mbar=mbar, cap=np.log(10.0 * peak + 10.0)
    )
