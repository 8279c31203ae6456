"""``Ensemble``: a linear pool (weighted mixture) of member models' sample paths.

A mixture forecast draws each path from one member, chosen with probability equal to its
weight: the number of paths per member is multinomial(``n_samples``, weights), and the
stacked paths are shuffled so any subset is again a mixture (``mix_paths``, the one
mixture used by ``Ensemble.forecast`` and by backtests).

Weights (``PoolScores.weights``) minimise the mixture's CRPS over earlier forecasts and
their outcomes (Hall & Mitchell 2007; Gneiting & Ranjan 2013 on linear pools). With
sample paths the CRPS of a mixture is quadratic in its weights::

    CRPS(sum_i w_i F_i, y) = sum_i w_i E|X_i - y| - 1/2 sum_ij w_i w_j E|X_i - X_j|

so the optimal weights solve a small quadratic programme on the simplex (convex: the
energy kernel ``E|X_i - X_j|`` is conditionally negative definite). The optimum is
shrunk toward equal weights (few origins overfit), and members whose own CRPS over
those forecasts is worse than the reference's (Climatology) get no weight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from cadence.columns import COUNT
from cadence.models._design import check_forecast_size
from cadence.models.base import CountModel, ParamsMixin, check_fitted
from cadence.models.baselines import Climatology, RecentRate
from cadence.models.errors import IntervalsUnsupportedError
from cadence.models.forecast import CountForecast
from cadence.models.negbin_glm import NegBinGLM


def weights_from_scores(scores: Sequence[float], power: float = 1.0) -> np.ndarray:
    """Normalized weights proportional to ``score ** -power`` for negatively oriented
    scores (CRPS: lower is better). ``power = 0`` gives equal weights; larger powers
    concentrate on the best member. Shape ``(len(scores),)``, sums to 1."""
    s = np.asarray(scores, dtype=float)
    if s.size == 0 or np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"scores must be finite and > 0, got {list(scores)!r}")
    w = s ** (-power)
    return np.asarray(w / w.sum())


# Paths per member kept when scoring pools: enough for E|X - X'| to two digits.
_POOL_PATHS = 400
# Weight of equal weights against the CRPS-optimal ones: ``c / (c + n_origins)``.
_SHRINK_ORIGINS = 4.0


def mix_paths(
    rng: np.random.Generator,
    weights: np.ndarray,
    n_samples: int,
    member_paths: Callable[[int, int], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The one path mixture: multinomial counts of paths per member by ``weights``, then
    ``member_paths(i, k)`` (``k`` paths of member ``i``, shape ``(k, horizon)``) stacked
    and shuffled. Returns the paths ``(n_samples, horizon)`` and the counts."""
    counts = rng.multinomial(n_samples, weights)
    parts = [member_paths(i, int(k)) for i, k in enumerate(counts) if k > 0]
    samples = np.concatenate(parts, axis=0)
    return samples[rng.permutation(samples.shape[0])], counts


def _mean_abs_between(a: np.ndarray, b_sorted: np.ndarray, b_cumsum: np.ndarray) -> float:
    """``E|A - B|`` for samples ``a`` and sorted samples ``b`` (with its cumulative sum)."""
    n = b_sorted.size
    j = np.searchsorted(b_sorted, a, side="right")
    below = b_cumsum[j - 1] if n else 0.0
    below = np.where(j > 0, below, 0.0)
    total = b_cumsum[-1]
    s = a * j - below + (total - below) - a * (n - j)
    return float(s.mean() / n)


def energy_terms(paths: Sequence[np.ndarray], truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The terms of the pool CRPS at one forecast, per horizon period: ``a[h, i] =
    E|X_ih - y_h|`` and ``B[h, i, j] = E|X_ih - X_jh|`` (members' paths ``(n_i,
    horizon)``, at most 400 of each used), NaN where ``truth`` is unknown. Shapes
    ``(horizon, K)`` and ``(horizon, K, K)``."""
    k = len(paths)
    horizon = truth.size
    a = np.full((horizon, k), np.nan)
    b = np.full((horizon, k, k), np.nan)
    sub = [np.asarray(p[:_POOL_PATHS], dtype=float) for p in paths]
    for h in np.flatnonzero(np.isfinite(truth)):
        cols = [s[:, h] for s in sub]
        srt = [np.sort(c) for c in cols]
        cums = [np.cumsum(c) for c in srt]
        for i in range(k):
            a[h, i] = np.abs(cols[i] - truth[h]).mean()
            for j in range(i, k):
                b[h, i, j] = b[h, j, i] = _mean_abs_between(cols[i], srt[j], cums[j])
    return a, b


@dataclass(frozen=True)
class PoolScores:
    """Pool CRPS terms averaged over the known periods of earlier forecasts: ``a`` (K,),
    ``b`` (K, K), and ``n`` the number of forecasts they come from (see
    ``energy_terms``)."""

    a: np.ndarray
    b: np.ndarray
    n: int

    @classmethod
    def of(cls, terms: Sequence[tuple[np.ndarray, np.ndarray]]) -> PoolScores:
        """Pool the per-period terms of several forecasts (``energy_terms``), keeping the
        periods known for every member. ``ValueError`` when none is."""
        a_rows = [a for a, _ in terms]
        b_rows = [b for _, b in terms]
        if not a_rows:
            raise ValueError("no forecast with a known outcome to weight the pool on")
        a = np.concatenate(a_rows, axis=0)
        b = np.concatenate(b_rows, axis=0)
        ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=(1, 2))
        if not ok.any():
            raise ValueError("no forecast with a known outcome to weight the pool on")
        n = sum(int((np.isfinite(x).all(axis=1)).any()) for x in a_rows)
        return cls(a=a[ok].mean(axis=0), b=b[ok].mean(axis=0), n=max(n, 1))

    def member_crps(self) -> np.ndarray:
        """Each member's own mean CRPS, shape ``(K,)``."""
        return np.asarray(self.a - 0.5 * np.diag(self.b))

    def pool_crps(self, w: np.ndarray) -> float:
        return float(w @ self.a - 0.5 * w @ self.b @ w)

    def weights(self, reference: int | None = None) -> np.ndarray:
        """CRPS-minimising simplex weights, shrunk toward equal weights over the members
        kept; members whose CRPS is above the ``reference`` member's get weight 0 (the
        reference itself stays)."""
        crps = self.member_crps()
        keep = np.ones(crps.size, dtype=bool)
        if reference is not None:
            keep = crps <= crps[reference] + 1e-12
        idx = np.flatnonzero(keep)
        a, b = self.a[idx], self.b[np.ix_(idx, idx)]
        w0 = np.full(idx.size, 1.0 / idx.size)
        if idx.size > 1:
            res = minimize(
                lambda w: (w @ a - 0.5 * w @ b @ w, a - b @ w),
                w0,
                jac=True,
                method="SLSQP",
                bounds=[(0.0, 1.0)] * idx.size,
                constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},),
            )
            best = np.clip(res.x, 0.0, None) if res.success else w0
            best = best / best.sum()
        else:
            best = w0
        lam = _SHRINK_ORIGINS / (_SHRINK_ORIGINS + self.n)
        out = np.zeros(crps.size)
        out[idx] = (1.0 - lam) * best + lam * w0
        return out


def _normalize(weights: Sequence[float] | None, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"expected {n} weights (one per member), got {w.size}")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be finite, >= 0 and not all 0, got {list(w)!r}")
    return np.asarray(w / w.sum())


class Ensemble(ParamsMixin):
    """Linear pool of ``members`` (``CountModel`` instances) with ``weights`` (normalized
    to sum to 1 in ``member_weights``; None: equal). ``members=None`` uses climatology,
    recent rate and the NB GLM with default hyperparameters.

    Hyperparameters are ``members`` and ``weights`` (``get_params``/``set_params``, and
    ``clone`` rebuilds the members unfitted); ``log_params`` is the flat form logged to
    experiments. It fits interval observations only if every member does
    (``supports_intervals`` is set per instance). Fitted state: ``fitted_`` (True after
    ``fit``), ``origin_``, ``covariates_`` (the columns any member used),
    ``ignored_columns_``, ``fallback_`` (None: the pool never falls back as a whole) and
    ``member_fallbacks_`` (member name -> the model it fell back to, also in the
    forecast's ``meta``).
    """

    name = "ensemble"
    supports_intervals = False

    def __init__(
        self,
        members: Sequence[CountModel] | None = None,
        weights: Sequence[float] | None = None,
    ) -> None:
        self.members: tuple[CountModel, ...] = (
            tuple(members) if members is not None else (Climatology(), RecentRate(), NegBinGLM())
        )
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        self.weights = weights
        _normalize(weights, len(self.members))  # refuse bad weights at construction
        self.supports_intervals = all(m.supports_intervals for m in self.members)

    @property
    def member_weights(self) -> np.ndarray:
        """The weights normalized to sum to 1, shape ``(len(members),)``."""
        return _normalize(self.weights, len(self.members))

    @classmethod
    def from_scores(
        cls, members: Sequence[CountModel], scores: Sequence[float], power: float = 1.0
    ) -> Ensemble:
        """Weights from members' backtest scores (lower is better), see
        ``weights_from_scores``."""
        return cls(members, weights_from_scores(scores, power).tolist())

    def log_params(self) -> dict[str, object]:
        """Flat hyperparameters for experiment logging: member names, weights, and each
        member's own hyperparameters as ``m<i>.<name>.<param>``."""
        out: dict[str, object] = {
            "members": ",".join(m.name for m in self.members),
            "weights": ",".join(f"{w:.6g}" for w in self.member_weights),
        }
        for i, m in enumerate(self.members):
            for key, value in m.get_params().items():
                out[f"m{i}.{m.name}.{key}"] = value
        return out

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit every member on the same data. Interval observations need members that
        all support them (``IntervalsUnsupportedError`` otherwise)."""
        if intervals is not None and len(intervals) and not self.supports_intervals:
            unable = [m.name for m in self.members if not m.supports_intervals]
            raise IntervalsUnsupportedError(
                f"ensemble members {unable} cannot fit interval observations; "
                "build the ensemble from interval-capable members"
            )
        for m in self.members:
            m.fit(panel, target, intervals)
        used = [c for m in self.members for c in getattr(m, "covariates_", [])]
        self.covariates_ = list(dict.fromkeys(used))
        self.ignored_columns_ = [
            c for c in panel.columns if c != target and c not in set(self.covariates_)
        ]
        self.fallback_ = None
        fallbacks = {m.name: getattr(m, "fallback_", None) for m in self.members}
        self.member_fallbacks_ = {
            name: str(getattr(fb, "name", fb)) for name, fb in fallbacks.items() if fb is not None
        }
        self.fitted_ = True
        self.origin_ = pd.Timestamp(panel.index[-1])
        return self

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """``n_samples`` paths, each from one member drawn by weight; shuffled."""
        check_fitted(self, "fitted_")
        check_forecast_size(horizon, n_samples)
        seeds = rng.integers(0, 2**63 - 1, size=len(self.members))
        last: list[CountForecast] = []

        def paths(i: int, k: int) -> np.ndarray:
            fc = self.members[i].forecast(
                horizon, future=future, n_samples=k, rng=np.random.default_rng(int(seeds[i]))
            )
            last.append(fc)
            return fc.samples

        samples, counts = mix_paths(rng, self.member_weights, n_samples, paths)
        index, origin = last[-1].index, last[-1].origin
        return CountForecast(
            origin=origin,
            samples=samples,
            index=index,
            model=self.name,
            meta={
                "members": [m.name for m in self.members],
                "weights": self.member_weights.tolist(),
                "paths": counts.tolist(),
                "member_fallbacks": dict(self.member_fallbacks_),
            },
        )
