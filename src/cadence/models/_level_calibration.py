"""Choosing the local level's forecast variance scale on its own history.

The level variance ``q`` is fitted by the one-step predictive likelihood: it measures how
far the level moves from one period to the next. Bursty series move in jumps and go
further over weeks than that implies, so multi-period totals simulated with ``q`` come out
too narrow. ``LocalLevel`` therefore simulates its paths with ``scale * q``, and with
``level_var_scale="auto"`` the scale is chosen here, on the series' own past only:

1. The filter is run once more at the fitted parameters, keeping the filtered state
   ``(m_t, P_t)`` of every period: what the model knew at the end of period ``t``.
2. From every ``every``-th period ``t`` (counted back from the last, at most
   ``max_origins``), whose next ``w`` periods are all observed singly (no interval
   total), ``n_paths`` paths of the next ``w`` periods are simulated exactly as a forecast
   is (level drawn from ``N(m_t, P_t)``, carried forward by the state equation with
   ``scale * q``), for each scale of the grid with the same random numbers; each path's
   window total is then one NB2 draw with the moments of the sum of its periods' NB2
   counts (``_window_totals``: exact in mean and variance, and 28 times fewer draws).
3. Each scale's CRPS of the simulated ``w``-period totals against the observed totals is
   compared with scale 1's at every origin, for a short and a long window (7 and 28 days
   for daily series, 4 and 13 weeks, 3 and 6 months) that had at least ``min_origins``
   origins: the gain is scale 1's CRPS minus the scale's, relative to scale 1's mean, and
   its standard error counts overlapping windows as about ``w / every`` times fewer
   outcomes. Averaged over the windows, the scales whose gain exceeds one standard error
   (``_EVIDENCE``) are the candidates; the smallest of them whose gain is within its own
   standard error of the largest wins (the one-standard-error rule: the criterion is
   flat beyond its optimum), and with none, scale 1 (the likelihood's own variance) is
   kept. So it moves off 1 only on evidence. With no window to score, the caller's
   fallback is used.

The parameters ``q``, ``k`` and the drivers' effects are those fitted on the whole
history, so the evaluation is prequential in the state but not in the parameters: it
calibrates the spread of totals, which the one-step likelihood cannot see, and does not
refit anything. It is a pseudo-out-of-sample check in the sense of Dawid's prequential
principle (Dawid 1984, *JRSS A* 147(2), 278-292), and the same multi-step spread problem
is why Gneiting, Balabdaoui & Raftery (2007, *JRSS B* 69(2), 243-268) calibrate
ensembles on past forecasts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scoringrules as sr

SCALES: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
# A scale other than 1 is a candidate only when its mean gain over scale 1 is this many
# standard errors above zero.
_EVIDENCE = 1.0


@dataclass(frozen=True)
class ScaleChoice:
    """The chosen ``scale``, the windows (in periods) it was scored on, the number of
    origins of each, and each scale's mean CRPS ratio to scale 1 (``ratios[i]`` for
    ``SCALES[i]``; empty when nothing could be scored and the fallback was used)."""

    scale: float
    windows: tuple[int, ...]
    origins: tuple[int, ...]
    ratios: tuple[float, ...]

    @property
    def from_history(self) -> bool:
        """Whether the scale was chosen on the history (False: the fallback)."""
        return bool(self.ratios)


def _window_totals(
    rng: np.random.Generator, mean: np.ndarray, square: np.ndarray, k: float
) -> np.ndarray:
    """One draw of a window's total given each path's levels: the sum of independent NB2
    counts of means ``mu_h`` and size ``k`` has mean ``M = sum mu_h`` and variance
    ``M + sum mu_h**2 / k``; it is drawn as the NB2 with those two moments (size
    ``M**2 k / sum mu_h**2``), one gamma-Poisson draw per path instead of one per period."""
    size = np.maximum(mean * mean * k / np.maximum(square, 1e-300), 1e-8)
    return np.asarray(rng.poisson(rng.gamma(size, mean / size)), dtype=float)


def _origins(single: np.ndarray, window: int, start: int, every: int, most: int) -> np.ndarray:
    """Periods ``t`` (every ``every``-th counted back from the last admissible) whose next
    ``window`` periods are all observed singly, at most ``most``, oldest first."""
    t_max = single.size - window - 1
    if t_max < start:
        return np.zeros(0, dtype=int)
    run = np.convolve(single[1:].astype(float), np.ones(window), mode="valid")  # run[t]
    ok = [t for t in range(t_max, start - 1, -every) if run[t] >= window - 0.5]
    return np.array(sorted(ok[:most]), dtype=int)


def choose_scale(
    y: np.ndarray,
    single: np.ndarray,
    offset: np.ndarray,
    filtered: tuple[np.ndarray, np.ndarray],
    *,
    q: float,
    k: float,
    damping: float,
    mbar: float,
    windows: Sequence[int],
    fallback: float,
    start: int,
    every: int = 7,
    max_origins: int = 104,
    min_origins: int = 6,
    n_paths: int = 200,
    seed: int = 0,
) -> ScaleChoice:
    """The variance scale whose simulated totals scored best on the history (see the
    module docstring). ``y`` (T,) the counts, ``single`` (T,) where a count of one period
    was observed, ``offset`` (T,) each period's log-exposure (day of week, drivers),
    ``filtered`` the filtered means and variances (T,), ``start`` the first admissible
    origin (after the filter's burn-in)."""
    fm, fp = (np.asarray(a, dtype=float).reshape(-1) for a in filtered)
    rng = np.random.default_rng(seed)
    used_windows: list[int] = []
    used_origins: list[int] = []
    ratios: list[np.ndarray] = []
    gains: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    for w in windows:
        ts = _origins(single, w, start, every, max_origins)
        if ts.size < min_origins:
            continue
        crps = _window_crps(y, offset, fm, fp, ts, w, q, k, damping, mbar, n_paths, rng)
        base = float(crps[0].mean())
        if base <= 0:
            continue
        # per-origin gain of each scale over scale 1, relative to scale 1's mean CRPS
        gain = (crps[0][None, :] - crps) / base  # (scales, origins)
        # windows longer than the stride overlap: about w / every times fewer
        # independent outcomes than origins
        n_eff = ts.size / max(1.0, w / every)
        ratios.append(crps.mean(axis=1) / base)
        gains.append(gain.mean(axis=1))
        errors.append(gain.std(axis=1, ddof=1) / np.sqrt(max(n_eff, 1.0)))
        used_windows.append(int(w))
        used_origins.append(int(ts.size))
    if not ratios:
        return ScaleChoice(float(fallback), (), (), ())
    gain, error = np.mean(gains, axis=0), np.mean(errors, axis=0)
    evident = gain > _EVIDENCE * np.maximum(error, 1e-12)
    best = 0
    if evident.any():
        top = float(np.max(gain[evident]))
        # the one-standard-error rule: the smallest scale as good as the best within its
        # own standard error (the criterion is flat beyond its optimum)
        best = int(np.nonzero(evident & (gain >= top - error))[0][0])
    return ScaleChoice(
        scale=float(SCALES[best]),
        windows=tuple(used_windows),
        origins=tuple(used_origins),
        ratios=tuple(float(r) for r in np.mean(ratios, axis=0)),
    )


def _window_crps(
    y: np.ndarray,
    offset: np.ndarray,
    fm: np.ndarray,
    fp: np.ndarray,
    ts: np.ndarray,
    w: int,
    q: float,
    k: float,
    damping: float,
    mbar: float,
    n_paths: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """CRPS of the ``w``-period totals simulated from each origin of ``ts`` with every
    scale of ``SCALES`` (the same random numbers for all), shape ``(scales, origins)``."""
    future = ts[:, None] + np.arange(1, w + 1)[None, :]  # (O, w)
    truth = y[future].sum(axis=1)
    z0 = rng.standard_normal((ts.size, n_paths))
    eps = rng.standard_normal((w, ts.size, n_paths))
    u_seed = int(rng.integers(0, 2**32 - 1))
    out = np.empty((len(SCALES), ts.size))
    for i, scale in enumerate(SCALES):
        qs = q * scale
        x = fm[ts][:, None] + np.sqrt(fp[ts])[:, None] * z0
        mean = np.zeros((ts.size, n_paths))
        square = np.zeros((ts.size, n_paths))
        for h in range(w):
            x = mbar + damping * (x - mbar) - 0.5 * qs + np.sqrt(qs) * eps[h]
            mu = np.exp(np.minimum(x + offset[future[:, h]][:, None], 30.0))
            mean += mu
            square += mu * mu
        total = _window_totals(np.random.default_rng(u_seed), mean, square, k)
        # the sample CRPS E|X - y| - E|X - X'| / 2 (scoringrules' energy form, members last)
        out[i] = sr.crps_ensemble(truth, total, estimator="nrg")
    return out
