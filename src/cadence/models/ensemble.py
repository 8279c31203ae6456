"""``Ensemble``: a weighted mixture of member models' sample paths.

A mixture forecast draws each path from one member, chosen with probability equal to its
weight: the number of paths per member is multinomial(``n_samples``, weights), each
member simulates its share with its own child generator seeded from ``rng``, and the
stacked paths are shuffled so any subset is again a mixture. Weights typically come from
backtest scores (``weights_from_scores``: inverse CRPS to a power).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd

from cadence.columns import COUNT
from cadence.models.base import CountModel
from cadence.models.baselines import Climatology, RecentRate
from cadence.models.errors import IntervalsUnsupportedError, NotFittedError
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


def _normalize(weights: Sequence[float] | None, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"expected {n} weights (one per member), got {w.size}")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be finite, >= 0 and not all 0, got {list(w)!r}")
    return np.asarray(w / w.sum())


class Ensemble:
    """Mixture of ``members`` (``CountModel`` instances) with ``weights`` (normalized to
    sum to 1; None: equal). ``members=None`` uses climatology, recent rate and the NB GLM
    with default hyperparameters.

    It fits interval observations only if every member does (``supports_intervals`` is
    set per instance). Fitted state: ``fitted_`` (True after ``fit``), ``origin_``.
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
        self.member_weights = _normalize(weights, len(self.members))
        self.supports_intervals = all(m.supports_intervals for m in self.members)

    @classmethod
    def from_scores(
        cls, members: Sequence[CountModel], scores: Sequence[float], power: float = 1.0
    ) -> Ensemble:
        """Weights from members' backtest scores (lower is better), see
        ``weights_from_scores``."""
        return cls(members, weights_from_scores(scores, power).tolist())

    def get_params(self) -> dict[str, object]:
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
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{self.name}: call fit() before forecast()")
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        counts = rng.multinomial(n_samples, self.member_weights)
        seeds = rng.integers(0, 2**63 - 1, size=len(self.members))
        parts = []
        index: pd.DatetimeIndex | None = None
        origin = self.origin_
        for member, k, seed in zip(self.members, counts, seeds, strict=True):
            if k == 0:
                continue
            fc = member.forecast(
                horizon, future=future, n_samples=int(k), rng=np.random.default_rng(int(seed))
            )
            parts.append(fc.samples)
            index, origin = fc.index, fc.origin
        if index is None:  # unreachable: n_samples >= 1 gives some member a path
            raise ValueError("no member produced paths")
        samples = np.concatenate(parts, axis=0)[rng.permutation(n_samples)]
        return CountForecast(
            origin=origin,
            samples=samples,
            index=index,
            model=self.name,
            meta={
                "members": [m.name for m in self.members],
                "weights": self.member_weights.tolist(),
                "paths": counts.tolist(),
            },
        )
