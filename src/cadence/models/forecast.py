"""``CountForecast``: integer sample paths, the common currency of every model.

Every summary (mean, quantiles, P(count >= k), window totals) derives from the paths, so
every model is scored, stored and served the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CountForecast:
    """Sample paths of future counts.

    ``samples`` has shape ``(n_samples, horizon)``, dtype int64, values >= 0; column ``h``
    is the count in period ``origin + h + 1`` (the origin itself is the last observed
    period). ``index`` holds the period labels of the horizon (first day of each period).

    Orientation: members (paths) first, as statsforecast, darts and ViEWS store samples
    and as ``numpy.quantile(..., axis=0)`` reads them: a path is a row, so slicing the
    first ``k`` periods (``window_total``) or mixing paths of several models
    (``Ensemble``) stays a row operation, and stored and served bodies keep this shape.
    scoringrules wants ensemble members on the last axis; the one conversion lives in
    ``cadence.experiments.scoring.members_last``.

    ``model`` is the family's registered name even when it forecast with its fallback:
    ``meta["fallback"]`` then names the model that drew the paths (see
    ``cadence.models.base``).
    """

    origin: pd.Timestamp
    samples: np.ndarray
    index: pd.DatetimeIndex
    model: str = ""
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = np.asarray(self.samples)
        if s.ndim != 2:
            raise ValueError(f"samples must be 2-D (n_samples, horizon), got shape {s.shape}")
        if s.shape[0] < 1:
            raise ValueError("samples must hold at least one path, got none")
        if not np.issubdtype(s.dtype, np.integer):
            raise ValueError(f"samples must be integers, got dtype {s.dtype}")
        if s.size and s.min() < 0:
            raise ValueError("samples must be >= 0")
        if len(self.index) != s.shape[1]:
            raise ValueError(
                f"index has {len(self.index)} periods but samples have horizon {s.shape[1]}"
            )
        object.__setattr__(self, "samples", s.astype(np.int64, copy=False))

    @property
    def horizon(self) -> int:
        return int(self.samples.shape[1])

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    def mean(self) -> np.ndarray:
        """Mean count per period, shape ``(horizon,)``."""
        return self.samples.mean(axis=0)

    def quantiles(self, levels: Sequence[float]) -> np.ndarray:
        """Quantiles per period, shape ``(len(levels), horizon)``; integer-valued
        (``inverted_cdf``), monotone in ``levels``."""
        lv = np.asarray(levels, dtype=float)
        if lv.size and (lv.min() < 0 or lv.max() > 1):
            raise ValueError(f"quantile levels must lie in [0, 1], got {levels!r}")
        return np.quantile(self.samples, lv, axis=0, method="inverted_cdf")

    def prob_at_least(self, k: int, window: int | None = None) -> np.ndarray:
        """P(count >= k). Per period, shape ``(horizon,)``, when ``window`` is None;
        otherwise for the total over each window of ``window`` consecutive periods starting
        at the first horizon period, shape ``(1,)``."""
        if window is None:
            return (self.samples >= k).mean(axis=0)
        return np.array([(self.window_total(window) >= k).mean()])

    def window_total(self, days: int) -> np.ndarray:
        """Samples of the total over the first ``days`` periods, shape ``(n_samples,)``."""
        if not 1 <= days <= self.horizon:
            raise ValueError(f"window of {days} periods exceeds horizon {self.horizon}")
        return self.samples[:, :days].sum(axis=1)
