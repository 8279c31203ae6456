"""``NegBinGLM``: negative-binomial regression of a count on its own past and covariates.

Model (NB2, log link), per period t::

    log mu_t = b0 + sum_{k=1..p} g_k * log(1 + y_{t-k}) + g_r * log(1 + mean(y_{t-r..t-1}))
               + sum_c b_c * x_{t,c}
    y_t ~ NB2(mu_t, alpha)       variance mu_t + alpha * mu_t**2

``x`` are the panel's exogenous columns (``ret_``, ``stm_``, ``cal_``), those constant or
all-NaN on the fitted rows dropped, calendar columns that do not go through two cycles
on them dropped (an annual pair on less than two years is a trend in disguise), and
exactly collinear ones (e.g. a full set of dummies) dropped. Fitted by penalized maximum
likelihood on standardized columns (Fisher scoring with a Newton step for alpha; L-BFGS
with the analytic gradient when intervals are present; see ``_nb_regression`` and
``_nb_design``):

* a ridge on the exogenous slopes, by default chosen by forward validation (the weight
  whose fit on the earlier periods best predicts the last quarter one step ahead): a
  dozen overlapping driver columns fitted on a few months otherwise "explain" the level
  of the series, and their deterministic continuation drags the forecast with it;
* a tiny ridge on the autoregressive slopes, keeping the fit finite on all-zero or
  separated data;
* the sum of the autoregressive coefficients held within ``+-max_persistence`` and each
  of them within ``+-1``, so that simulated paths can neither explode nor swing between
  a burst's echo and an intercept sized to cancel it.

Given the same design and no penalty this matches statsmodels' ``NegativeBinomial``
(NB2) estimates, in a fraction of the time.

Interval observations: a period with NaN count inside an interval ``[start, end)`` has
the mean above, its lags filled with the interval's average count per period (the only
thing known about those days). Interval ``j``'s total is NB2 with mean
``M_j = sum_t w_jt mu_t`` and its variance matched to the sum of the periods' variances
``M_j + alpha * sum_t w_jt mu_t**2`` (exact NB when the rate is constant). Periods with NaN
count and no interval are left out of the likelihood, their lags filled with the mean.
Filling lags (rather than dropping the autoregression inside intervals) keeps one
intercept for all periods; with few totals the model drops the lags altogether (see
the class docstring), which is the exogenous-only mean.

Forecasts simulate paths forward: each step draws NB2 counts for all paths at once and
feeds them back into the lags. Exogenous values for the horizon come from ``future``
(required when the fit used exogenous columns: the decaying continuation of past
retaliation and statements, or a scenario), clipped to the range each column had on the
fitted rows: a log-linear effect is not extrapolated beyond the data that estimated it.
Paths are guarded against explosive feedback by capping the mean at ten times the
largest observed count plus ten.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
import pandas as pd
from scipy import stats

from cadence.columns import COUNT, PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.models._design import (
    Coverage,
    Series,
    by_frequency,
    exogenous_columns,
    exogenous_matrix,
    fallback_forecast,
    future_matrix,
    horizon_index,
    ignored_columns,
    interval_coverage,
    named_columns,
    read_series,
    repeating_calendar,
    warn_short_history,
)
from cadence.models._nb_design import (
    Penalty,
    Solution,
    fill_counts,
    holdout_ridge,
    lag_features,
    solve_design,
)
from cadence.models._penalty import DEFAULT_RIDGE
from cadence.models.base import ParamsMixin, check_fitted
from cadence.models.baselines import Climatology
from cadence.models.errors import ModelError, ReducedModelWarning
from cadence.models.forecast import CountForecast

EFFECT_COLUMNS = ("feature", "irr", "lower", "upper", "p_value")


@dataclass(frozen=True)
class _Design:
    """Terms of one candidate model: ``lags`` and ``rolling`` as in ``NegBinGLM``,
    ``exog`` the exogenous columns."""

    lags: int
    rolling: int
    exog: list[str]

    @property
    def ar_names(self) -> list[str]:
        names = [f"log1p_lag{k}" for k in range(1, self.lags + 1)]
        return [*names, f"log1p_mean{self.rolling}"] if self.rolling > 0 else names

    @property
    def n_coef(self) -> int:
        return 1 + len(self.ar_names) + len(self.exog)

    @property
    def span(self) -> int:
        return max(self.lags, self.rolling)


class NegBinGLM(ParamsMixin):
    """NB2 regression on lagged counts and exogenous columns, simulated forward.

    Hyperparameters: ``lags`` (number of ``log1p`` count lags; None: 7 days, 4 weeks or
    3 months), ``rolling`` (periods in the lagged rolling-mean term, 0 disables; None: 28
    days, 8 weeks or 6 months), ``exogenous`` (use ``ret_``/``stm_``/``cal_`` columns),
    ``covariates`` (only these exogenous columns, by name, each of which must be in the
    panel; None: all but calendar columns that do not repeat on the fitted rows),
    ``include`` (the former name of ``covariates``, still read from stored
    configurations; give one or the other), ``ridge`` (L2 weight on the standardized exogenous
    slopes; ``"auto"``: chosen from ``_penalty.RIDGE_GRID`` by forward validation, or
    ``DEFAULT_RIDGE`` with interval totals or too few periods to split), ``ar_ridge`` (L2
    weight on the standardized autoregressive slopes), ``max_persistence`` (bound on the
    absolute sum of the autoregressive coefficients, each of them also within +-1,
    enforced by a stiff quadratic penalty; a sum near +-1 makes simulated paths explode
    or oscillate, e.g. when a long zero stretch is "explained" by the lags; None
    disables), ``trim_leading_zeros`` (leave the periods before the first event out of
    the fit: a series often starts before its actors were active; those zeros still feed
    the first lags), ``min_periods`` (periods of data, counted or inside intervals,
    needed).

    Too little data for the full model (fewer than 3 likelihood terms per coefficient,
    or 2 non-zero observations per coefficient): it tries smaller designs in turn
    (``ReducedModelWarning``): without calendar columns; with one lag; for per-period
    counts the autoregression without exogenous columns (with one lag, then); finally the
    retaliation and statement effects alone. If even that is too much, it forecasts with
    ``Climatology`` (``ShortHistoryWarning``). A handful of interval totals (official
    tallies) supports only a few columns: pass ``covariates`` to choose them.

    Fitted state: ``coef_`` (Series of coefficients in original units, index
    ``feature_names_``), ``intercept_``, ``alpha_``, ``ridge_`` (the exogenous ridge
    used), ``covariates_`` (the exogenous columns fitted; ``exog_columns_`` is its old,
    read-only name), ``ignored_columns_`` (the panel's other columns),
    ``exog_low_``/``exog_high_`` (their range on the fitted
    rows; horizon values are clipped to it), ``lags_``, ``rolling_``, ``n_obs_``
    (likelihood terms), ``reduced_`` (a smaller design than the full one was fitted),
    ``origin_``, ``freq_``, ``fallback_`` (the Climatology used instead, or None) and
    ``fallback_reason_``.
    """

    name = "negbin_glm"
    supports_intervals = True

    def __init__(
        self,
        lags: int | None = None,
        rolling: int | None = None,
        exogenous: bool = True,
        include: Sequence[str] | None = None,
        ridge: float | Literal["auto"] = "auto",
        ar_ridge: float = 1e-3,
        max_persistence: float | None = 0.9,
        trim_leading_zeros: bool = True,
        min_periods: int = 30,
        covariates: Sequence[str] | None = None,
    ) -> None:
        self.lags = lags
        self.rolling = rolling
        self.exogenous = exogenous
        self.include = include
        self.ridge = ridge
        self.ar_ridge = ar_ridge
        self.max_persistence = max_persistence
        self.trim_leading_zeros = trim_leading_zeros
        self.min_periods = min_periods
        self.covariates = covariates

    @property
    def exog_columns_(self) -> list[str]:
        """The former name of ``covariates_`` (read-only)."""
        return self.covariates_

    def __setstate__(self, state: dict[str, object]) -> None:
        # Models stored before ``covariates`` replaced ``include`` and ``exog_columns_``.
        state.setdefault("covariates", None)
        if "exog_columns_" in state:
            state["covariates_"] = state.pop("exog_columns_")
        self.__dict__.update(state)

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
        filled = fill_counts(series, cov)
        first = self._first_event(series, cov) if self.trim_leading_zeros else 0
        if cov is not None and first > 0:
            # Zero totals before the first event leave the fit with the zero periods.
            starts = np.argmax(cov.weights > 0, axis=1)
            keep_iv = (cov.totals > 0) | (starts >= first)
            cov = Coverage(weights=cov.weights[keep_iv], totals=cov.totals[keep_iv])
        covered = cov.covered if cov is not None else np.zeros(series.y.size, dtype=bool)
        observed = np.isfinite(series.y) & (np.arange(series.y.size) >= first)

        candidates = self._candidate_columns(panel, observed | covered)
        self.origin_, self.freq_ = series.origin, series.freq
        self.fallback_: Climatology | None = None
        self.fallback_reason_: str | None = None
        self.reduced_ = False
        drivers = [c for c in candidates if c.startswith((PREFIX_RETALIATION, PREFIX_STATEMENT))]
        designs = self._designs(series.freq, candidates, drivers, intervals=cov is not None)
        reasons = []
        for design in designs:
            daily = observed & (np.arange(series.y.size) >= design.span)
            reason = self._shortage(series, daily, cov, design)
            if reason is None:
                break
            reasons.append(reason)
        else:
            hint = (
                f" (even without lags: {reasons[-1]}; pass covariates=[...] (include=) with a"
                " few ret_/stm_ columns to estimate their effects)"
                if drivers
                else ""
            )
            self.fallback_reason_ = reasons[0] + hint
            warn_short_history(self.name, self.fallback_reason_)
            self.fallback_ = Climatology().fit(panel, target, intervals)
            self._set_empty_state(designs[0])
            self.ignored_columns_ = ignored_columns(panel, target, self.covariates_)
            return self
        if design is not designs[0]:
            self.reduced_ = True
            what = (
                "without lags or calendar terms"
                if design.span == 0
                else f"with {design.lags} lag(s) and no calendar terms"
            )
            warnings.warn(
                f"{self.name}: {reasons[0]}; fitting the retaliation and statement columns {what}",
                ReducedModelWarning,
                stacklevel=2,
            )
        self._fit_design(panel, series, filled, daily, cov, design)
        self.ignored_columns_ = ignored_columns(panel, target, self.covariates_)
        return self

    def _designs(
        self, freq: str, candidates: list[str], drivers: list[str], *, intervals: bool
    ) -> list[_Design]:
        """Candidate designs, richest first: the full one; without calendar columns; with
        one lag; for per-period counts the autoregression alone (a series' own recent
        level forecasts a short history better than the drivers do without it; inside
        interval totals the lags are only interval averages); the drivers alone.
        Duplicates removed."""
        lags = self.lags if self.lags is not None else by_frequency(freq, 7, 4, 3)
        rolling = self.rolling if self.rolling is not None else by_frequency(freq, 28, 8, 6)
        one = min(lags, 1)
        ladder = [
            _Design(lags, rolling, candidates),
            _Design(lags, rolling, drivers),
            _Design(one, rolling, drivers),
        ]
        if not intervals:
            ladder += [_Design(lags, rolling, []), _Design(one, rolling, [])]
        ladder.append(_Design(0, 0, drivers))
        out: list[_Design] = []
        for d in ladder:
            if d not in out:
                out.append(d)
        return out

    def _named(self) -> Sequence[str] | None:
        """The columns named by ``covariates`` or its former name ``include``."""
        if self.covariates is None:
            return self.include
        if self.include is not None and list(self.include) != list(self.covariates):
            raise ModelError(
                f"{self.name}: covariates={list(self.covariates)} and include="
                f"{list(self.include)} disagree; give only covariates"
            )
        return self.covariates

    def _candidate_columns(self, panel: pd.DataFrame, rows: np.ndarray) -> list[str]:
        named = self._named()
        if named is not None:
            named = named_columns(self.name, panel, named)
        if not self.exogenous:
            return []
        cols = exogenous_columns(panel, rows)
        if named is None:
            cols = repeating_calendar(panel, cols, rows)
        else:
            cols = [c for c in cols if c in set(named)]
        return cols

    def _shortage(
        self, series: Series, daily: np.ndarray, cov: Coverage | None, design: _Design
    ) -> str | None:
        """Why ``design`` cannot be fitted on this data, or None if it can."""
        n_terms = int(daily.sum()) + (len(cov) if cov is not None else 0)
        n_periods = int(daily.sum()) + (float(cov.exposure.sum()) if cov is not None else 0.0)
        nonzero = int(np.sum(series.y[daily] > 0)) + (
            int(np.sum(cov.totals > 0)) if cov is not None else 0
        )
        k = design.n_coef
        if n_periods < self.min_periods:
            return f"{n_periods:.0f} periods of data (needs {self.min_periods})"
        if n_terms < 3 * (k + 1):
            return f"{n_terms} observations for {k} coefficients (needs {3 * (k + 1)})"
        if nonzero < max(2, 2 * k):
            return f"{nonzero} non-zero observations for {k} coefficients (needs {2 * k})"
        return None

    def _fit_design(
        self,
        panel: pd.DataFrame,
        series: Series,
        filled: np.ndarray,
        daily: np.ndarray,
        cov: Coverage | None,
        design: _Design,
    ) -> None:
        names = [*design.ar_names, *design.exog]
        n_ar = len(design.ar_names)
        x_all = np.column_stack(
            [
                lag_features(filled, design.lags, design.rolling),
                exogenous_matrix(panel, design.exog),
            ]
        )
        log_cap = float(np.log(10.0 * max(float(filled.max()), 1.0) + 10.0))
        ridge = self.ridge
        if ridge == "auto":
            chosen = None
            if cov is None:
                chosen = holdout_ridge(
                    x_all,
                    filled,
                    daily,
                    n_ar,
                    Penalty(0.0, self.ar_ridge, self.max_persistence),
                    log_cap,
                )
            ridge = DEFAULT_RIDGE if chosen is None else chosen
        if not design.exog:
            ridge = 0.0
        sol = solve_design(
            x_all,
            filled,
            daily,
            cov,
            n_ar,
            Penalty(float(ridge), self.ar_ridge, self.max_persistence),
        )
        alpha = sol.alpha
        self.lags_, self.rolling_ = design.lags, design.rolling
        self.ridge_ = float(ridge)
        self.feature_names_ = names
        self.covariates_ = list(design.exog)
        self.exog_low_, self.exog_high_ = sol.low, sol.high
        self.coef_ = pd.Series(sol.coef(), index=names, name="coef")
        self.intercept_ = sol.intercept
        self.alpha_ = alpha if alpha > 1e-5 else 0.0
        self.n_obs_ = sol.n_obs
        self.theta_ = sol.theta
        self._solution: Solution = sol
        span = max(design.span, 1)
        pad = np.full(max(span - filled.size, 0), filled.mean())
        self.history_ = np.concatenate([pad, filled])[-span:]
        self.log_cap_ = log_cap

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

    def _set_empty_state(self, design: _Design) -> None:
        names = [*design.ar_names, *design.exog]
        self.lags_, self.rolling_ = design.lags, design.rolling
        self.feature_names_ = names
        self.covariates_ = []
        self.coef_ = pd.Series(np.zeros(len(names)), index=names, name="coef")
        self.intercept_ = float("nan")
        self.alpha_ = float("nan")
        self.n_obs_ = 0

    # --- effects -----------------------------------------------------------------------

    def effects(self, level: float = 0.95) -> pd.DataFrame:
        """Incidence-rate ratios of the retaliation (``ret_``) and statement (``stm_``)
        features per unit of the feature, with Wald ``level`` intervals and two-sided
        p-values from the observed information. Columns ``feature, irr, lower, upper,
        p_value``; empty when the model fell back to Climatology."""
        self._check_fitted()
        if self.fallback_ is not None:
            return pd.DataFrame(columns=list(EFFECT_COLUMNS))
        sol = self._solution
        cov = np.linalg.pinv(sol.problem.hessian(self.theta_))
        kept_names = [self.feature_names_[i] for i in sol.kept]
        z_crit = float(stats.norm.ppf(0.5 + level / 2))
        out = []
        for pos, (name, col) in enumerate(zip(kept_names, sol.kept, strict=True)):
            if not name.startswith((PREFIX_RETALIATION, PREFIX_STATEMENT)):
                continue
            se = float(np.sqrt(max(cov[pos + 1, pos + 1], 0.0))) / sol.sd[col]
            b = float(self.coef_[name])
            p = float(2 * stats.norm.sf(abs(b) / se)) if se > 0 else float("nan")
            out.append((name, np.exp(b), np.exp(b - z_crit * se), np.exp(b + z_crit * se), p))
        return pd.DataFrame(out, columns=list(EFFECT_COLUMNS))

    # --- forecast ----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        check_fitted(self, "fallback_")

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
        fallback = fallback_forecast(self, horizon, n_samples, rng)
        if fallback is not None:
            return fallback
        index = horizon_index(self.origin_, horizon, self.freq_, n_samples=n_samples)
        x_future = np.clip(
            future_matrix(future, self.covariates_, index), self.exog_low_, self.exog_high_
        )
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
