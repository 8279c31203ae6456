"""``Hawkes``: discrete-time self-exciting count process driven by retaliation and
statements.

Per period t (the panel's ``count``, oldest first; row t uses information dated <= t)::

    lambda_t = mu_t + alpha * sum_{s<t} g(t - s) Y_s,   g(k) = (1 - delta) delta^(k-1)
    mu_t     = exp(b_0 + eta' X_t + sum_j gamma_j K_{j,t}),
    K_{j,t}  = sum_{s<t} phi_j^(t-1-s) x_{j,s}
    Y_t | past ~ NB(mean lambda_t, size r)  (or Poisson)

* ``alpha`` is the **branching ratio** (the kernel ``g``, the exponential kernel
  integrated over whole periods, sums to 1): the expected number of events one event
  triggers directly, and in a stationary process the share of events that were
  triggered by earlier events. ``delta`` sets how fast triggering fades (mean delay
  ``1 / (1 - delta)`` periods).
* **Driver events** ``x_j`` (retaliation strikes, escalation / de-escalation statements)
  act on the background rate *multiplicatively*: one event in period s multiplies
  ``mu`` by ``exp(gamma_j)`` in period s + 1, fading by ``phi_j`` per period (kernel
  estimated). Multiplicative, so that a driver may deter (``gamma < 0``) as well as
  provoke without ever making the rate negative; ``effects()`` reports ``exp(gamma_j)``
  as an incidence-rate ratio, on the same scale as the GLM's and ``Ingarch``'s.
  By default drivers are recovered from the panel's decayed sums ``ret_decay_*``,
  ``stm_esc_decay_*`` and ``stm_deesc_decay_*`` (shortest half-life of each; see
  ``cadence.models._hawkes_drivers``). With no such column the process is purely
  self-exciting (plus covariates).
* ``X_t``: calendar columns (``cal_``) and, for a prefix (``ret_``/``stm_``) that
  supplies no driver, that prefix's columns, log-linear in ``mu``.

Maximum likelihood (L-BFGS-B on the analytic score, O(T) kernel recursions); standard
errors from the inverse observed information. Forecasts simulate paths forward, each
path's counts feeding its own excitation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Literal, Self

import numpy as np
import pandas as pd

from cadence.columns import (
    COUNT,
    EXOGENOUS_PREFIXES,
    PREFIX_RETALIATION,
    PREFIX_STATEMENT,
)
from cadence.models._autoregressive import (
    AutoregressiveCountModel,
    draw_counts,
    selected_columns,
    single_threaded_blas,
)
from cadence.models._design import (
    exogenous_matrix,
    future_matrix,
    horizon_index,
    ignored_columns,
)
from cadence.models._hawkes_drivers import DEFAULT_FAMILIES, auto_drivers, driver_events
from cadence.models._hawkes_likelihood import HawkesData, kernel_sum
from cadence.models.errors import PanelError
from cadence.models.forecast import CountForecast

Distribution = Literal["nbinom", "poisson"]
_DRIVER_PREFIXES = (PREFIX_RETALIATION, PREFIX_STATEMENT)


class Hawkes(AutoregressiveCountModel):
    """Discrete-time Hawkes count process with retaliation/statement drivers.

    Hyperparameters:
        distribution: ``"nbinom"`` (dispersion estimated) or ``"poisson"``.
        drivers: ``{column: half_life}`` of decayed-sum columns holding driver events
            (half-life in periods; 0 for a column of per-period event counts); None
            picks the shortest-half-life column of each of ``driver_families``.
        driver_families: decayed-sum families scanned when ``drivers`` is None.
        covariates: columns log-linear in the background rate; None means ``cal_``
            columns plus the columns of a ``ret_``/``stm_`` prefix that supplies no
            driver. Columns constant over the history, or exactly collinear with
            earlier ones, are dropped.
        min_driver_events: drivers with fewer periods with events are dropped (their
            effect is not identified).
        ridge: weight of a Gaussian penalty ``ridge / 2 * (|eta|^2 + |gamma|^2)`` on the
            log-effects of standardized covariates and of drivers (log-likelihood units;
            1.0 is a N(0, 1) prior, negligible against the data for any effect the data
            identify). It keeps them finite when a long quiet stretch would otherwise
            let them run off to infinity; 0 gives plain maximum likelihood.
        min_history: fewer observed periods than this (or than 3 per parameter) falls
            back to ``Climatology`` with a ``ShortHistoryWarning``.
        min_events: fewer non-zero periods than this (all zeros, a single spike: the
            likelihood has no interior maximum) also falls back, with the same warning.

    Fitted attributes: ``coef_`` (Series: ``intercept``, covariates in panel units,
    ``branching_ratio``, ``decay``, per driver ``<column>`` (gamma) and
    ``<column>:decay`` (phi), ``log_size``), ``cov_``, ``branching_ratio_``,
    ``branching_ratio_se_``, ``triggered_share_`` (in-sample share of the expected count
    due to self-excitation), ``drivers_``, ``dropped_drivers_``, ``covariates_``,
    ``ignored_columns_`` (the panel's other columns), ``alpha_`` (NB2 dispersion, 0 for
    Poisson; ``size_`` is ``1 / alpha_``, read-only), ``loglik_``, ``aic_``, ``n_obs_``,
    ``fitted_``, ``converged_``,
    ``fallback_reason_``, ``fallback_``, ``origin_``, ``freq_``, ``fit_start_`` (first
    period fitted: later than the panel's first row when a long leading all-zero stretch
    was left out, see ``_autoregressive.series_start``).
    """

    name = "hawkes"
    supports_intervals = False

    drivers_: dict[str, float]
    dropped_drivers_: list[str]

    def __init__(
        self,
        distribution: Distribution = "nbinom",
        drivers: Mapping[str, float] | None = None,
        driver_families: Sequence[str] = DEFAULT_FAMILIES,
        covariates: Sequence[str] | None = None,
        min_driver_events: int = 3,
        ridge: float = 1.0,
        min_history: int = 30,
        min_events: int = 5,
    ) -> None:
        self.distribution = distribution
        self.drivers = drivers
        self.driver_families = driver_families
        self.covariates = covariates
        self.min_driver_events = min_driver_events
        self.ridge = ridge
        self.min_history = min_history
        self.min_events = min_events

    # --- fitting ------------------------------------------------------------------------

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit by maximum likelihood to ``panel[target]`` (counts per period; NaN
        periods are skipped in the likelihood and excite as the observed mean)."""
        panel, series = self._start_fit(panel, target, intervals)
        y = series.y
        observed = np.isfinite(y)
        self._select_drivers(panel, observed)
        driver_cols = list(self.drivers_)
        half_lives = np.array([self.drivers_[c] for c in driver_cols])
        sums = exogenous_matrix(panel, driver_cols)
        events = driver_events(sums, half_lives, np.zeros(len(driver_cols)))
        n_params = 3 + len(self.covariates_) + 2 * len(driver_cols) + int(self._negbin)
        if self._fall_back_if_short(panel, target, y, n_params):
            return self

        x = exogenous_matrix(panel, self.covariates_)
        x_mean, x_sd = x[observed].mean(axis=0), x[observed].std(axis=0)
        data = HawkesData.build(y, (x - x_mean) / x_sd, events, self._negbin, self.ridge)
        with single_threaded_blas():
            theta, converged = self._maximize(data)
            if theta is not None:
                info = self._information(data, theta)
        if theta is None:
            self._fall_back(panel, target, y, "likelihood maximization failed")
            return self

        self._store_estimates(
            data, (theta, converged, info), slice(1, 1 + data.k), (x_mean, x_sd), y
        )
        self.branching_ratio_ = float(self.coef_["branching_ratio"])
        self.branching_ratio_se_ = float(
            np.sqrt(self.cov_.loc["branching_ratio", "branching_ratio"])
        )
        mu, excitation = data.components(theta)
        lam = mu + excitation
        self.fitted_ = pd.Series(lam, index=series.index, name="fitted_mean")
        self.triggered_share_ = float(excitation[observed].sum() / lam[observed].sum())
        # State carried past the origin: the excitation sum and driver kernels of the
        # first horizon period, and the last decayed sums (to read future driver events).
        _, _, _, delta, _, phi, _ = data.split(theta)
        self.excitation_state_ = float(delta * kernel_sum(data.y, delta)[-1] + data.y[-1])
        self.driver_state_ = np.array(
            [phi[i] * kernel_sum(events[:, i], phi[i])[-1] + events[-1, i] for i in range(data.j)]
        )
        self.driver_last_sum_ = sums[-1].copy() if len(sums) else np.zeros(0)
        self.ignored_columns_ = ignored_columns(panel, target, self._used_columns())
        return self

    def _reset_fit(self) -> None:
        super()._reset_fit()
        self.drivers_, self.dropped_drivers_ = {}, []
        self.branching_ratio_ = float("nan")
        self.branching_ratio_se_ = float("nan")
        self.triggered_share_ = float("nan")

    def _used_columns(self) -> list[str]:
        return [*self.covariates_, *self.drivers_]

    def _select_drivers(self, panel: pd.DataFrame, observed: np.ndarray) -> None:
        """Set ``drivers_``/``dropped_drivers_`` and ``covariates_``/``dropped_covariates_``."""
        if self.drivers is None:
            requested = auto_drivers(panel, self.driver_families)
        else:
            requested = {str(c): float(h) for c, h in self.drivers.items()}
            missing = [c for c in requested if c not in panel.columns]
            if missing:
                raise PanelError(f"panel lacks the driver columns {missing}")
        cols = list(requested)
        events = driver_events(
            exogenous_matrix(panel, cols),
            np.array([requested[c] for c in cols]),
            np.zeros(len(cols)),
        )
        n_event_periods = (events[observed] > 0).sum(axis=0)
        for c, n in zip(cols, n_event_periods, strict=True):
            if n >= self.min_driver_events:
                self.drivers_[c] = requested[c]
            else:
                self.dropped_drivers_.append(c)
        if self.covariates is None:
            # A prefix that supplies drivers is modelled through them only: its other
            # columns (other half-lives, window counts) restate the same events.
            taken = {p for p in _DRIVER_PREFIXES if any(c.startswith(p) for c in requested)}
            prefixes = [p for p in EXOGENOUS_PREFIXES if p not in taken]
            used, dropped = selected_columns(panel, observed, None, prefixes)
        else:
            used, dropped = selected_columns(panel, observed, self.covariates, (), self.name)
        self.covariates_ = [c for c in used if c not in requested]
        self.dropped_covariates_ = dropped

    def _use_fallback(self, panel: pd.DataFrame, target: str, y: np.ndarray) -> None:
        self.drivers_ = {}
        super()._use_fallback(panel, target, y)

    def _coef_names(self) -> list[str]:
        names = ["intercept", *self.covariates_, "branching_ratio", "decay"]
        names += list(self.drivers_)
        names += [f"{c}:decay" for c in self.drivers_]
        if self._negbin:
            names.append("log_size")
        return names

    def _starts(self, data: HawkesData) -> Iterator[list[float]]:
        """A moderate starting point, then a slow-decay one."""
        ybar = max(float(data.y[data.observed].mean()), 1e-3)
        for alpha0, delta0 in ((0.5, 0.5), (0.3, 0.9)):
            start = [np.log(ybar * (1 - alpha0)), *np.zeros(data.k), alpha0, delta0]
            yield start + [0.0] * data.j + [0.5] * data.j

    def _watch(self, data: HawkesData) -> Sequence[int]:
        return (1 + data.k, 2 + data.k)

    # --- reporting ----------------------------------------------------------------------

    def effects(self, level: float = 0.95) -> pd.DataFrame:
        """Incidence-rate ratios of the drivers and of ``ret_``/``stm_`` covariates.

        A driver's ratio ``exp(gamma)`` multiplies the background rate in the period
        after one driver event (one strike, or one unit of statement intensity), fading
        by its ``:decay`` per period; a covariate's ratio multiplies it per unit of the
        feature in the same period. Ratios > 1 provoke, < 1 deter. Columns ``feature,
        irr, lower, upper, p_value`` (Wald ``level`` interval on the log scale);
        empty when the model fell back to ``Climatology``."""
        rows = list(self.drivers_) + [c for c in self.covariates_ if c.startswith(_DRIVER_PREFIXES)]
        return self._effects_of(rows, level)

    def summary(self) -> str:
        """A plain-text report: fit facts, branching ratio and the coefficient table."""
        self._check_fitted()
        head = [f"Hawkes  distribution={self.distribution}  drivers={self.drivers_ or 'none'}"]
        head.append(
            f"fitted {self.fit_start_.date()} .. {self.origin_.date()}  freq {self.freq_}  "
            f"observed periods {self.n_obs_}"
        )
        fallback = self._fallback_line()
        if fallback is not None:
            head.append(fallback)
            return "\n".join(head)
        br, se = self.branching_ratio_, self.branching_ratio_se_
        decay = float(self.coef_["decay"])
        head.append(
            f"branching ratio {br:.3f} (SE {se:.3f}); in-sample triggered share "
            f"{self.triggered_share_:.3f}; mean trigger delay {1 / (1 - decay):.2f} periods"
        )
        head.append(
            f"log-likelihood {self.loglik_:.3f}  AIC {self.aic_:.3f}  converged {self.converged_}"
        )
        if self.alpha_ > 0:
            head.append(f"NB2 alpha {self.alpha_:.4g} (NB size 1/alpha = {1 / self.alpha_:.4g})")
        if self.dropped_drivers_:
            head.append(f"drivers dropped (too few events): {self.dropped_drivers_}")
        with pd.option_context("display.width", 120, "display.max_rows", 200):
            return "\n".join(head) + "\n" + self.coef_table().round(4).to_string()

    # --- forecasting --------------------------------------------------------------------

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """Sample paths ``(n_samples, horizon)`` of the counts after the origin; each
        path's simulated counts feed its own excitation. ``future`` must hold the fitted
        covariates and driver columns for the horizon periods (rows matched by date); a
        scenario's strike appears there as a jump of the decayed sum."""
        fallback = self._fallback_forecast(horizon, n_samples, rng)
        if fallback is not None:
            return fallback
        index = horizon_index(self.origin_, horizon, self.freq_, n_samples=n_samples)
        driver_cols = list(self.drivers_)
        x_future = future_matrix(future, [*self.covariates_, *driver_cols], index)
        k = len(self.covariates_)
        future_events = driver_events(
            x_future[:, k:],
            np.array([self.drivers_[c] for c in driver_cols]),
            self.driver_last_sum_,
        )
        coef = self.coef_
        log_mu = float(coef["intercept"]) + x_future[:, :k] @ coef[self.covariates_].to_numpy()
        gamma = coef[driver_cols].to_numpy()
        phi = coef[[f"{c}:decay" for c in driver_cols]].to_numpy()
        state = self.driver_state_.copy()
        for h in range(horizon):
            log_mu[h] += state @ gamma
            state = phi * state + future_events[h]
        mu = np.exp(np.minimum(log_mu, np.log(self.rate_cap_)))

        alpha, delta = float(coef["branching_ratio"]), float(coef["decay"])
        excitation = np.full(n_samples, self.excitation_state_)
        paths = np.empty((n_samples, horizon), dtype=np.int64)
        for h in range(horizon):
            lam = mu[h] + alpha * (1 - delta) * excitation
            counts = draw_counts(rng, lam, self.alpha_, self.rate_cap_)
            paths[:, h] = counts
            excitation = delta * excitation + counts
        meta: dict[str, object] = {
            "fallback": None,
            "branching_ratio": alpha,
            "alpha": self.alpha_,
        }
        return CountForecast(self.origin_, paths, index, model=self.name, meta=meta)
