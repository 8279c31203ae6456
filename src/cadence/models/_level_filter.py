"""The Laplace-approximated filter of a log-level with negative-binomial counts.

State-space model, per series and period t (Durbin & Koopman, *Time Series Analysis by
State Space Methods*, 2nd ed. 2012, ch. 9-10; West & Harrison 1997, ch. 14)::

    x_t = mbar + phi * (x_{t-1} - mbar) - q / 2 + eta_t,   eta_t ~ N(0, q)
    y_t ~ NB2(mean = exp(x_t + o_t), size = k * s_t)

``x`` is the log-level; the drift ``-q/2`` makes the level itself (``exp(x)``, not its
log) a martingale when ``phi = 1``, so a large ``q`` widens the forecast without raising
its mean (a driftless log random walk would grow its mean by ``exp(h q / 2)``). ``o_t``
is a known log-exposure (day-of-week and driver effects, the log of the periods an
interval total covers), ``s_t`` the number of periods the
observation sums (1 for a period count, ``n`` for an interval total, 0 where nothing is
observed). ``phi = 1`` is the random-walk local level.

Filtering: the prediction step is Gaussian; the update replaces the non-Gaussian
posterior of ``x_t`` by a Gaussian at its mode with the curvature there (the Laplace
approximation, found by two damped Newton steps from the prediction: the iterated
extended Kalman filter for a log link). The one-step predictive log-likelihood uses the
same approximation::

    log p(y_t | past) ~ log NB(y_t | exp(x^ + o_t)) - (x^ - m_p)^2 / (2 P_p) + log(P^/P_p)/2

The NB log-likelihood's derivative in ``x`` is ``r (y - mu) / (r + mu)``, bounded by the
size ``r`` however large ``y`` is: one burst day moves the level by a bounded step, where
a conjugate gamma filter adds the whole burst to its level.

A second, thinned observation stream of the same level (a sampled view: dated reports of
a share ``theta`` of the events) may come with the counts::

    v_t ~ NB2(mean = exp(x_t + u_t), size = k_s)

with its own log-exposure ``u_t`` (``log theta`` plus the period's effects) and size
``k_s``. At a period where it is observed, the update sums both streams' gradients and
curvatures in the Newton steps and both log-likelihoods in the predictive term (the
streams are taken as conditionally independent given the level); periods without it run
the single-stream update unchanged.

Everything is vectorised: observations have shape ``(T, S)`` (periods x series) and the
parameters ``(S, G)`` (series x candidate parameter sets), so one pass over the periods
evaluates a grid of candidates for a batch of series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from cadence.models._design import nb2_logpmf

# Log-levels are kept inside [exp(-7), exp(14)] events per period: below about one event
# in three years a level carries no information, and a level that sank further during a
# long quiet stretch would need an implausible jump when events resume.
_X_LOW, _X_HIGH = -7.0, 14.0
_NEWTON_STEPS = 2
_MAX_STEP = 1.5


@dataclass(frozen=True)
class SampledObservations:
    """The sampled stream, shape ``(T, S)`` each: the count ``y`` (0 where not observed),
    ``on`` (bool, observed) and its log-exposure ``offset`` (``(T, S)`` or
    ``(T, S, G)``)."""

    y: np.ndarray
    on: np.ndarray
    offset: np.ndarray


@dataclass(frozen=True)
class LevelObservations:
    """What the filter sees, shape ``(T, S)`` each (periods x series).

    ``y``: the observed count or interval total (0 where nothing is observed);
    ``size``: how many periods the observation sums (0 where nothing is observed);
    ``offset``: the log-exposure ``o_t`` of the observation, shape ``(T, S)`` or
    ``(T, S, G)`` when it differs between candidate parameter sets; ``sampled``: the
    second stream, when there is one.
    """

    y: np.ndarray
    size: np.ndarray
    offset: np.ndarray
    sampled: SampledObservations | None = None

    @property
    def periods(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class FilterResult:
    """Predictive log-likelihood and the filtered state at the last period, each of
    shape ``(S, G)``: ``m`` the mean and ``p`` the variance of the log-level.
    ``predicted`` (when asked for) holds the one-step predicted log-level of every
    period, shape ``(T, S, G)``: what the filter expected before seeing that period.
    ``filtered`` (when asked for) holds the filtered mean and variance of every period,
    each ``(T, S, G)``: the state after seeing that period."""

    loglik: np.ndarray
    m: np.ndarray
    p: np.ndarray
    predicted: np.ndarray | None = None
    filtered: tuple[np.ndarray, np.ndarray] | None = None


def _offset_at(obs: LevelObservations, t: int) -> np.ndarray:
    off = obs.offset[t]
    return off if off.ndim == 2 else off[:, None]


def laplace_filter(
    obs: LevelObservations,
    q: np.ndarray,
    k: np.ndarray,
    *,
    m0: np.ndarray,
    p0: float,
    damping: float = 1.0,
    mbar: np.ndarray | None = None,
    burn_in: int = 0,
    keep_predicted: bool = False,
    k_sampled: np.ndarray | None = None,
    keep_filtered: bool = False,
) -> FilterResult:
    """Run the filter over every period.

    ``q`` (level variance per period) and ``k`` (NB size of one period's count) have
    shape ``(S, G)``; ``m0`` (shape ``(S,)``) and ``p0`` are the mean and variance of the
    log-level before the first period; ``mbar`` (shape ``(S,)``) is the long-run
    log-level the state reverts to when ``damping < 1``. The log-likelihood sums the
    periods from ``burn_in`` on (the first ones mostly measure the initial state).
    ``k_sampled`` (shape ``(S, G)``) is the size of the sampled stream's counts; it is
    needed when ``obs.sampled`` is set. ``keep_filtered`` keeps every period's filtered
    state (``FilterResult.filtered``).
    """
    shape = q.shape
    m = np.broadcast_to(np.asarray(m0, dtype=float)[:, None], shape).copy()
    p = np.full(shape, float(p0))
    ll = np.zeros(shape)
    centre = None if mbar is None else np.asarray(mbar, dtype=float)[:, None]
    predicted = np.empty((obs.periods, *shape)) if keep_predicted else None
    kept_m = np.empty((obs.periods, *shape)) if keep_filtered else None
    kept_p = np.empty((obs.periods, *shape)) if keep_filtered else None
    half_q, p_scale = 0.5 * q, damping * damping
    # Terms of the NB log-pmf that do not move with the state, for single periods
    # (size 1); an interval total (size n) recomputes them.
    lg_k, k_log_k = gammaln(k), k * np.log(k)
    lg_y1 = gammaln(obs.y + 1.0)
    for t in range(obs.periods):
        if kept_m is not None and kept_p is not None and t > 0:
            kept_m[t - 1], kept_p[t - 1] = m, p
        if damping != 1.0 and centre is not None:
            m = centre + damping * (m - centre)
        mp, pp = m - half_q, p_scale * p + q
        if predicted is not None:
            predicted[t] = mp
        s = obs.size[t]
        active = s > 0
        if obs.sampled is not None and k_sampled is not None and obs.sampled.on[t].any():
            x, pn, step = _fused_update(obs, t, mp, pp, k, k_sampled)
            on = (active | obs.sampled.on[t])[:, None]
            if t >= burn_in:
                ll += np.where(on, step, 0.0)
            m = np.where(on, x, mp)
            p = np.where(on, pn, pp)
            continue
        if not active.any():
            m, p = mp, pp
            continue
        single = bool(np.all(s[active] == 1.0))
        r = k if single else k * np.where(active, s, 1.0)[:, None]
        yt = obs.y[t][:, None]
        off = _offset_at(obs, t)
        inv_pp = 1.0 / pp
        ry = r + yt
        x = mp
        for _ in range(_NEWTON_STEPS):
            mu = np.exp(np.minimum(x + off, _X_HIGH))
            a = r + mu
            grad = r * (yt - mu) / a - (x - mp) * inv_pp
            hess = r * mu * ry / (a * a) + inv_pp
            x = x + np.clip(grad / hess, -_MAX_STEP, _MAX_STEP)
        x = np.clip(x, _X_LOW, _X_HIGH)
        eta = x + off
        mu = np.exp(eta)
        a = r + mu
        pn = 1.0 / (r * mu * ry / (a * a) + inv_pp)
        on = active[:, None]
        if t >= burn_in:
            base = k_log_k - lg_k if single else r * np.log(r) - gammaln(r)
            # log NB(y | mu, r) = lgamma(y+r) - lgamma(r) - lgamma(y+1) + r log r
            #                     + y log mu - (r + y) log(r + mu)
            lnb = gammaln(ry) + base - lg_y1[t][:, None] + yt * eta - ry * np.log(a)
            step = lnb - (x - mp) ** 2 * (0.5 * inv_pp) + 0.5 * np.log(pn * inv_pp)
            ll += np.where(on, step, 0.0)
        m = np.where(on, x, mp)
        p = np.where(on, pn, pp)
    filtered = None
    if kept_m is not None and kept_p is not None:
        if obs.periods:
            kept_m[-1], kept_p[-1] = m, p
        filtered = (kept_m, kept_p)
    return FilterResult(loglik=ll, m=m, p=p, predicted=predicted, filtered=filtered)


def _nb_score(
    x: np.ndarray, y: np.ndarray, r: np.ndarray, off: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and curvature (minus the second derivative) in ``x`` of
    ``log NB(y | exp(x + off), r)``."""
    mu = np.exp(np.minimum(x + off, _X_HIGH))
    a = r + mu
    return r * (y - mu) / a, r * mu * (r + y) / (a * a)


def _fused_update(
    obs: LevelObservations,
    t: int,
    mp: np.ndarray,
    pp: np.ndarray,
    k: np.ndarray,
    k_sampled: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Laplace update at period ``t`` from both streams: the posterior mode, its
    variance and the predictive log-likelihood term (each ``(S, G)``)."""
    assert obs.sampled is not None
    s = obs.size[t]
    streams = [
        (
            obs.y[t][:, None],
            k * np.where(s > 0, s, 1.0)[:, None],
            _offset_at(obs, t),
            (s > 0)[:, None],
        ),
        (
            obs.sampled.y[t][:, None],
            k_sampled,
            _sampled_offset_at(obs.sampled, t),
            obs.sampled.on[t][:, None],
        ),
    ]
    inv_pp = 1.0 / pp
    x = mp
    for _ in range(_NEWTON_STEPS):
        grad, hess = -(x - mp) * inv_pp, inv_pp
        for y, r, off, on in streams:
            g, h = _nb_score(x, y, r, off)
            grad, hess = grad + np.where(on, g, 0.0), hess + np.where(on, h, 0.0)
        x = x + np.clip(grad / hess, -_MAX_STEP, _MAX_STEP)
    x = np.clip(x, _X_LOW, _X_HIGH)
    hess, lnb = inv_pp, np.zeros_like(x)
    for y, r, off, on in streams:
        _, h = _nb_score(x, y, r, off)
        hess = hess + np.where(on, h, 0.0)
        lnb = lnb + np.where(on, nb2_logpmf(y, np.exp(x + off), r), 0.0)
    pn = 1.0 / hess
    step = lnb - (x - mp) ** 2 * (0.5 * inv_pp) + 0.5 * np.log(pn * inv_pp)
    return x, pn, step


def _sampled_offset_at(sampled: SampledObservations, t: int) -> np.ndarray:
    off = sampled.offset[t]
    return off if off.ndim == 2 else off[:, None]


def simulate_levels(
    rng: np.random.Generator,
    m: np.ndarray,
    p: float | np.ndarray,
    q: float | np.ndarray,
    horizon: int,
    *,
    damping: float = 1.0,
    mbar: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Log-level paths after the origin, shape ``m.shape + (horizon,)``: the filtered
    state drawn from ``N(m, p)``, then carried forward by the state equation."""
    shape = np.shape(m)
    x = m + np.sqrt(p) * rng.standard_normal(shape)
    # periods on the first axis while simulating (contiguous writes), moved last at the end
    out = np.empty((horizon, *shape))
    sd = np.sqrt(q)
    for h in range(horizon):
        x = mbar + damping * (x - mbar) - 0.5 * q + sd * rng.standard_normal(shape)
        out[h] = x
    return np.moveaxis(out, 0, -1)
