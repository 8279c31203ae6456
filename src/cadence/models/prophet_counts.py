"""``ProphetCounts``: Prophet, the peer a modeler reaches for first, turned into counts.

Prophet is fitted (MAP) to ``log1p(count)`` of the observed periods up to the origin,
with the panel's exogenous columns as extra regressors (their horizon values come from
``future``; Prophet's own cross-validation is never used: it would read regressor values
from after the origin). The forecast takes Prophet's predictive samples on that scale,
one per path (trend uncertainty plus Gaussian noise), and maps each to a count by
``gaussian_to_counts``: ``lambda = max(expm1(z), 0)``, capped at ten times the largest
observed count plus ten (the log scale's Gaussian tails become absurd counts after
``expm1``: the same guard as the NB GLM's simulation), then stochastic rounding (``floor``
plus a Bernoulli draw of the fractional part, so ``E[count | z] = lambda`` exactly) or,
with ``rounding="poisson"``, a Poisson draw at ``lambda``.

Prophet draws its samples from NumPy's global random state; the forecast seeds it from
``rng`` and restores it afterwards, so the same ``rng`` seed gives the same paths.
Prophet is imported on first use (about a second), with its logging and its known
pandas deprecation warnings silenced narrowly.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, Self

import numpy as np
import pandas as pd

from cadence.columns import COUNT
from cadence.models._design import (
    exogenous_columns,
    exogenous_matrix,
    fallback_forecast,
    future_matrix,
    horizon_index,
    ignored_columns,
    named_columns,
    read_series,
    reject_intervals,
    warn_short_history,
)
from cadence.models.base import ParamsMixin, check_fitted
from cadence.models.baselines import Climatology
from cadence.models.forecast import CountForecast

if TYPE_CHECKING:
    from prophet import Prophet

Rounding = Literal["stochastic", "poisson"]
_NOISY_LOGGERS = ("prophet", "prophet.plot", "prophet.models", "cmdstanpy")
_MAX_LOG = 30.0  # expm1(30) ~ 1e13: far above any count, keeps expm1 finite


def gaussian_to_counts(
    z: np.ndarray,
    rng: np.random.Generator,
    rounding: Rounding = "stochastic",
    cap: float | None = None,
) -> np.ndarray:
    """Map Gaussian samples ``z`` on the ``log1p`` scale to non-negative integer counts.

    ``lambda = min(max(expm1(z), 0), cap)``; ``"stochastic"``: ``floor(lambda)`` plus 1 with
    probability ``lambda - floor(lambda)`` (mean preserved, least added noise);
    ``"poisson"``: ``Poisson(lambda)``. Same shape as ``z``, int64.
    """
    lam = np.maximum(np.expm1(np.minimum(np.asarray(z, dtype=float), _MAX_LOG)), 0.0)
    if cap is not None:
        lam = np.minimum(lam, cap)
    if rounding == "poisson":
        return rng.poisson(lam).astype(np.int64)
    if rounding != "stochastic":
        raise ValueError(f"rounding must be 'stochastic' or 'poisson', got {rounding!r}")
    base = np.floor(lam)
    return (base + (rng.random(lam.shape) < lam - base)).astype(np.int64)


@contextmanager
def _quiet_prophet() -> Iterator[None]:
    """Silence Prophet's and cmdstanpy's INFO logs, the plotly notice at import, and the
    pandas deprecation warnings raised from inside Prophet, only while Prophet runs."""
    loggers = [logging.getLogger(n) for n in _NOISY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"prophet\.")
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"prophet\.")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _prophet_class() -> type[Prophet]:
    with _quiet_prophet():
        from cmdstanpy.utils import get_logger
        from prophet import Prophet

        # cmdstanpy configures its logger (level DEBUG) on first use; do it now so that
        # _quiet_prophet's level holds during the first fit too.
        get_logger()
    return Prophet


@contextmanager
def _seeded_global_numpy(seed: int) -> Iterator[None]:
    """Prophet samples from NumPy's legacy global state: seed it for the call only."""
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


class ProphetCounts(ParamsMixin):
    """Prophet on ``log1p(count)`` with exogenous regressors, mapped to integer paths.

    Hyperparameters: ``exogenous`` (add ``ret_``/``stm_``/``cal_`` columns as
    regressors), ``covariates`` (only these of them, by name, each of which must be in
    the panel; None: every one that varies), ``changepoint_prior_scale``, ``seasonality_mode``,
    ``yearly_seasonality``/``weekly_seasonality`` (Prophet's ``"auto"``, True or False),
    ``rounding`` (see ``gaussian_to_counts``), ``min_periods`` (fewer observed periods
    fall back to ``Climatology`` with a ``ShortHistoryWarning``), ``seed`` (for Stan's
    optimizer, so refits are identical).

    Fitted state: ``model_`` (the Prophet object), ``cap_``, ``covariates_`` (the
    regressors; ``exog_columns_`` is its old, read-only name), ``ignored_columns_`` (the
    panel's other columns), ``origin_``, ``freq_``, ``fallback_`` and
    ``fallback_reason_``.
    """

    name = "prophet"
    supports_intervals = False

    def __init__(
        self,
        exogenous: bool = True,
        changepoint_prior_scale: float = 0.05,
        seasonality_mode: Literal["additive", "multiplicative"] = "additive",
        yearly_seasonality: Literal["auto"] | bool = "auto",
        weekly_seasonality: Literal["auto"] | bool = "auto",
        rounding: Rounding = "stochastic",
        min_periods: int = 30,
        seed: int = 0,
        covariates: Sequence[str] | None = None,
    ) -> None:
        self.exogenous = exogenous
        self.changepoint_prior_scale = changepoint_prior_scale
        self.seasonality_mode = seasonality_mode
        self.yearly_seasonality = yearly_seasonality
        self.weekly_seasonality = weekly_seasonality
        self.rounding = rounding
        self.min_periods = min_periods
        self.seed = seed
        self.covariates = covariates

    @property
    def exog_columns_(self) -> list[str]:
        """The former name of ``covariates_`` (read-only)."""
        return self.covariates_

    def __setstate__(self, state: dict[str, object]) -> None:
        # Models stored before ``covariates_`` replaced ``exog_columns_``.
        state.setdefault("covariates", None)
        if "exog_columns_" in state:
            state["covariates_"] = state.pop("exog_columns_")
        self.__dict__.update(state)

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit on the observed periods of ``panel[target]``. Interval observations raise
        ``IntervalsUnsupportedError``."""
        reject_intervals(self.name, intervals)
        series = read_series(panel, target)
        observed = np.isfinite(series.y)
        self.origin_, self.freq_ = series.origin, series.freq
        self.covariates_: list[str] = []
        named = (
            None if self.covariates is None else named_columns(self.name, panel, self.covariates)
        )
        if observed.sum() < self.min_periods:
            self.fallback_reason_: str | None = (
                f"{int(observed.sum())} observed periods (needs {self.min_periods})"
            )
            warn_short_history(self.name, self.fallback_reason_)
            self.ignored_columns_ = ignored_columns(panel, target, ())
            self.fallback_: Climatology | None = Climatology().fit(panel, target)
            return self
        exog = exogenous_columns(panel, observed) if self.exogenous else []
        if named is not None:
            exog = [c for c in exog if c in set(named)]
        ds = series.index.tz_localize(None) if series.index.tz is not None else series.index
        frame = pd.DataFrame({"ds": ds[observed], "y": np.log1p(series.y[observed])})
        x = exogenous_matrix(panel, exog)[observed]
        for j, col in enumerate(exog):
            frame[col] = x[:, j]
        prophet_cls = _prophet_class()
        model = prophet_cls(
            changepoint_prior_scale=self.changepoint_prior_scale,
            seasonality_mode=self.seasonality_mode,
            yearly_seasonality=self.yearly_seasonality,
            weekly_seasonality=self.weekly_seasonality,
            daily_seasonality=False,
        )
        for col in exog:
            model.add_regressor(col)
        with _quiet_prophet():
            model.fit(frame, seed=self.seed)
        self.model_: Any = model
        self.cap_ = 10.0 * max(float(np.max(series.y[observed])), 1.0) + 10.0
        self.covariates_ = exog
        self.ignored_columns_ = ignored_columns(panel, target, exog)
        self.fallback_reason_ = None
        self.fallback_ = None  # set last: a failed fit leaves the model unfitted
        return self

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """``n_samples`` paths from Prophet's predictive samples mapped to counts;
        ``future`` must hold the regressors for the horizon (``FutureFrameError``)."""
        check_fitted(self, "fallback_")
        fallback = fallback_forecast(self, horizon, n_samples, rng)
        if fallback is not None:
            return fallback
        index = horizon_index(self.origin_, horizon, self.freq_, n_samples=n_samples)
        x = future_matrix(future, self.covariates_, index)
        ds = index.tz_localize(None) if index.tz is not None else index
        frame = pd.DataFrame({"ds": ds})
        for j, col in enumerate(self.covariates_):
            frame[col] = x[:, j]
        self.model_.uncertainty_samples = n_samples
        with _quiet_prophet(), _seeded_global_numpy(int(rng.integers(2**32))):
            z = np.asarray(self.model_.predictive_samples(frame)["yhat"]).T
        samples = gaussian_to_counts(z, rng, self.rounding, self.cap_)
        return CountForecast(
            origin=self.origin_,
            samples=samples,
            index=index,
            model=self.name,
            meta={"rounding": self.rounding},
        )
