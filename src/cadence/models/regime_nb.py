"""``RegimeNB``: a hidden Markov model of counts with quiet, active and surge regimes.

Each period is in one of ``K`` hidden regimes (2: quiet < active; 3: quiet < active <
surge, ordered by rate) that follow a first-order Markov chain. Given its regime ``k`` the
count of a period is NB2 with the regime's mean ``mu_k`` and a dispersion ``alpha`` shared
by all regimes (variance ``mu_k + alpha * mu_k**2``); a missing count (NaN) is a period
whose emission probability is 1. Optionally the driver columns (``ret_``, ``stm_``) of the
period before shift the transition probabilities through a ridge-penalised multinomial
logit (``_regime_drivers``), so a de-escalation statement can raise the chance of the quiet
regime.

Fitted by EM (Baum-Welch, ``_regime_hmm``) from several quantile-based starts, keeping the
highest likelihood. Forecast paths start from the filtered regime distribution at the
origin and simulate the chain forward, then the counts given the regime, so window totals
carry the chance of a switch. Zucchini, MacDonald & Langrock (2016).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal, Self

import numpy as np
import pandas as pd

from cadence.columns import COUNT, PREFIX_RETALIATION, PREFIX_STATEMENT
from cadence.models._autoregressive import fit_fallback, selected_columns, series_start
from cadence.models._design import (
    exogenous_matrix,
    fallback_forecast,
    future_matrix,
    horizon_index,
    ignored_columns,
    named_columns,
    read_series,
    reject_intervals,
    sample_nb,
)
from cadence.models._regime_drivers import DriverTransitions, fit_driver_transitions
from cadence.models._regime_hmm import (
    Counts,
    Posterior,
    emissions,
    forward_backward,
    update_log_alpha,
    update_rates,
    update_transitions,
    viterbi,
)
from cadence.models.base import ParamsMixin, check_fitted
from cadence.models.baselines import Climatology
from cadence.models.errors import ModelError
from cadence.models.forecast import CountForecast

RegimeCount = int | Literal["auto"]

REGIME_NAMES: dict[int, tuple[str, ...]] = {2: ("quiet", "active"), 3: ("quiet", "active", "surge")}
# Windows (in periods) of the reported probability of a regime switch.
SWITCH_WINDOWS = (7, 28)
# Cumulative quantile levels that split the sorted counts into the starting regimes.
_STARTS: dict[int, tuple[tuple[float, ...], ...]] = {
    2: ((0.5,), (0.3,), (0.75,), (0.9,)),
    3: ((0.33, 0.67), (0.2, 0.6), (0.5, 0.85), (0.25, 0.9)),
}
_START_ALPHA = 0.1
# EM iterations run from every start before only the most likely one is continued.
_SCREEN_ITER = 10
_START_STAY = 0.9
# Weight of the first regime's law kept uniform (a law fitted to one sequence is one-hot).
_DELTA_FLOOR = 0.01


class _Fit:
    """Parameters of one fitted chain (regimes in rate order once ``sorted``)."""

    def __init__(
        self,
        mu: np.ndarray,
        log_alpha: float,
        gamma: np.ndarray,
        delta: np.ndarray,
        loglik: float,
        n_iter: int,
        converged: bool,
    ) -> None:
        self.mu, self.log_alpha, self.gamma, self.delta = mu, log_alpha, gamma, delta
        self.loglik, self.n_iter, self.converged = loglik, n_iter, converged
        self.drivers: DriverTransitions | None = None

    @property
    def n_params(self) -> int:
        k = self.mu.size
        return 2 * k + k * (k - 1)  # rates, alpha, transitions, first regime

    def sorted(self) -> _Fit:
        order = np.argsort(self.mu, kind="stable")
        out = _Fit(
            self.mu[order],
            self.log_alpha,
            self.gamma[np.ix_(order, order)],
            self.delta[order],
            self.loglik,
            self.n_iter,
            self.converged,
        )
        out.drivers = None if self.drivers is None else self.drivers.permuted(order)
        return out


class RegimeNB(ParamsMixin):
    """Markov-switching negative-binomial counts (quiet / active / surge regimes).

    Parameters
    ----------
    n_regimes : int or "auto"
        Number of hidden regimes, 2 or 3; ``"auto"`` fits both and keeps the lower BIC.
        The default 2 was chosen on the ``israel-alerts`` backtest (24 weekly origins,
        28 days ahead): 3 regimes scored about 1 % lower CRPS (within the noise), but
        the third regime fitted there is a handful of isolated zero days (rate ~0), the
        7-day totals were less well calibrated (50 % interval coverage 0.39 against
        0.50), BIC on the full history prefers 2, and the fit takes 3-4 times longer.
    transition_drivers : bool
        Let the ``ret_``/``stm_`` columns of the previous period shift the transition
        probabilities (a multinomial logit per row, slopes ridge-penalised). The forecast
        then needs ``future`` with those columns; horizon values are clipped to their
        range over the history. Off by default: on the ``israel-alerts`` backtest the
        drivers made the forecasts worse (CRPS +2 %, 80 % coverage 0.71 against 0.82).
    driver_ridge : float
        L2 weight on the slopes of the standardized driver columns.
    stickiness : float
        Pseudo-transitions added to each regime's stay in every M-step (a Dirichlet prior
        on the transition rows, the sticky HMM of Fox, Sudderth, Jordan & Willsky 2011;
        EM then finds the posterior mode). Without it (0) the likelihood alone lets bursty
        daily counts switch regime every few days, so the regimes describe busy and quiet
        *days*; with it they describe *phases* that last weeks, and the paths carry a
        phase forward. Default 20, chosen on the ``israel-alerts`` backtest (24 origins,
        horizon 28): daily CRPS 21.38 to 20.18, 7-day totals 117.7 to 103.7, 28-day totals
        396 to 325, 80% coverage of 28-day totals 0.62 to 0.83 (10 and 40 gave 20.50 and
        20.16). Checked on ``us-forces-attacks-sampled``, not used to choose it: daily CRPS
        0.211 to 0.195, 28-day totals 5.53 to 4.29. A calibration, disclosed as such.
    tol : float
        EM stops when the log-likelihood changes by less than ``tol * (1 + |loglik|)``.
    max_iter : int
        Most EM iterations per stage (the homogeneous chain, then the driver effects).
    min_history : int
        Fewer observed periods than this fall back to ``Climatology`` (with a
        ``ShortHistoryWarning``).
    min_events : int
        Fewer non-zero periods than this also fall back.
    covariates : sequence of str, optional
        The transition driver columns, by name (each must be in the panel); None: the
        panel's ``ret_``/``stm_`` columns. Used only with ``transition_drivers``.

    Attributes
    ----------
    n_regimes_ : int
        Number of regimes fitted; ``regime_names_`` their names in rate order.
    rates_ : ndarray, shape (K,)
        Mean count per period in each regime, increasing.
    alpha_ : float
        Shared NB2 dispersion.
    transition_ : ndarray, shape (K, K)
        Transition matrix (row: regime of the previous period); with drivers, the matrix
        at the drivers' mean over the history.
    regime_probs_ : ndarray, shape (K,)
        Filtered probability of each regime at the origin, P(regime_T | y_1..T).
    loglik_, bic_ : float
        Log-likelihood of the fitted history and its BIC (driver slopes not counted).
    drivers_ : list of str
        Driver columns used (empty without transition drivers); ``covariates_`` is the
        same list under the name every family uses, ``ignored_columns_`` the panel's
        other columns.
    driver_coef_ : DataFrame
        Slopes of the transition logit (regimes x drivers) per standard deviation of each
        driver, the top regime's row zero: a positive value in the quiet row means the
        driver makes the quiet regime more likely.
    converged_, n_iter_, fallback_, fallback_reason_, origin_, freq_, fit_start_
        EM convergence and iteration count; the ``Climatology`` used (and why) when the
        history is too short or too empty; the origin, frequency and first fitted period.

    References
    ----------
    Zucchini, W., MacDonald, I. L. & Langrock, R. (2016). *Hidden Markov Models for Time
    Series: An Introduction Using R* (2nd ed.). Chapman & Hall/CRC. Ch. 4 (EM), 5
    (forecasting and decoding), 10 (covariates in the transition probabilities).
    """

    name = "regime_nb"
    supports_intervals = False

    fallback_: Climatology | None
    fallback_reason_: str | None

    def __init__(
        self,
        n_regimes: RegimeCount = 2,
        transition_drivers: bool = False,
        driver_ridge: float = 10.0,
        stickiness: float = 20.0,
        tol: float = 1e-6,
        max_iter: int = 200,
        min_history: int = 30,
        min_events: int = 5,
        covariates: Sequence[str] | None = None,
    ) -> None:
        self.n_regimes = n_regimes
        self.transition_drivers = transition_drivers
        self.driver_ridge = driver_ridge
        self.stickiness = stickiness
        self.tol = tol
        self.max_iter = max_iter
        self.min_history = min_history
        self.min_events = min_events
        self.covariates = covariates

    # --- fitting ------------------------------------------------------------------------

    def fit(
        self,
        panel: pd.DataFrame,
        target: str = COUNT,
        intervals: pd.DataFrame | None = None,
    ) -> Self:
        """Fit by EM to ``panel[target]`` (counts per period, oldest first; NaN periods
        are missing observations). Returns ``self``."""
        reject_intervals(self.name, intervals)
        if self.covariates is not None:  # refused even when transition_drivers is off
            named_columns(self.name, panel, self.covariates)
        if not self.stickiness >= 0:
            raise ModelError(f"stickiness must be >= 0, got {self.stickiness!r}")
        candidates = self._candidate_sizes()
        series = read_series(panel, target)
        start = series_start(series.y, min_after=self.min_history, min_events=self.min_events)
        if start:
            panel = panel.iloc[start:]
            series = read_series(panel, target)
        y = series.y
        self.origin_, self.freq_, self.fit_start_ = series.origin, series.freq, series.index[0]
        self.fallback_, self.fallback_reason_ = fit_fallback(
            panel,
            target,
            y,
            min_history=self.min_history,
            min_events=self.min_events,
            name=self.name,
        )
        if self.fallback_ is not None:
            self.drivers_: list[str] = []
            self._record_columns(panel, target)
            return self
        counts = Counts.of(y)
        n_obs = int(counts.observed.sum())
        fits = [self._fit_homogeneous(counts, k).sorted() for k in candidates]
        best = min(fits, key=lambda f: f.n_params * np.log(n_obs) - 2 * f.loglik)
        self._history_index = series.index
        self._counts = counts
        self.drivers_, x = self._driver_matrix(panel, counts.observed)
        if self.drivers_:
            best = self._fit_drivers(counts, x, best).sorted()
        self._store(best, n_obs)
        self._record_columns(panel, target)
        return self

    def _record_columns(self, panel: pd.DataFrame, target: str) -> None:
        self.covariates_ = list(self.drivers_)
        self.ignored_columns_ = ignored_columns(panel, target, self.covariates_)

    def _candidate_sizes(self) -> tuple[int, ...]:
        if self.n_regimes == "auto":
            return (2, 3)
        if self.n_regimes in (2, 3):
            return (int(self.n_regimes),)
        raise ModelError(f"n_regimes must be 2, 3 or 'auto', got {self.n_regimes!r}")

    def _fit_homogeneous(self, counts: Counts, k: int) -> _Fit:
        """EM from every quantile start side by side for ``_SCREEN_ITER`` iterations, then
        from the start of highest likelihood alone until convergence."""
        mu = _start_means(counts, k)
        b = mu.shape[0]
        log_alpha = np.full(b, np.log(_START_ALPHA))
        gamma = np.full((b, k, k), (1 - _START_STAY) / (k - 1))
        gamma[:, np.arange(k), np.arange(k)] = _START_STAY
        delta = np.full((b, k), 1.0 / k)
        state: tuple[np.ndarray, ...] = (mu, log_alpha, gamma, delta)
        screen = min(self.max_iter, _SCREEN_ITER)
        state, loglik, n_screen, converged = self._em(counts, state, screen)
        j = int(np.argmax(np.where(np.isfinite(loglik), loglik, -np.inf)))
        state = tuple(v[j : j + 1] for v in state)
        n_iter = n_screen
        if not converged and self.max_iter > screen:
            state, loglik, n_more, converged = self._em(counts, state, self.max_iter - screen)
            n_iter += n_more
            j = 0
        mu, log_alpha, gamma, delta = state
        return _Fit(
            mu[0], float(log_alpha[0]), gamma[0], delta[0], float(loglik[j]), n_iter, converged
        )

    def _em(
        self, counts: Counts, state: tuple[np.ndarray, ...], max_iter: int
    ) -> tuple[tuple[np.ndarray, ...], np.ndarray, int, bool]:
        """Up to ``max_iter`` EM iterations of homogeneous chains (batched): the new
        ``(mu, log_alpha, gamma, delta)``, their log-likelihoods, the iterations run and
        whether every chain converged."""
        mu, log_alpha, gamma, delta = state
        previous = np.full(mu.shape[0], -np.inf)
        for n_iter in range(1, max_iter + 1):
            post = _posterior(counts, mu, log_alpha, gamma[:, None], delta)
            if np.all(np.abs(post.loglik - previous) < self.tol * (1 + np.abs(post.loglik))):
                return (mu, log_alpha, gamma, delta), post.loglik, n_iter, True
            previous = post.loglik
            mu, log_alpha, delta = _update_emissions(counts, post, mu, log_alpha)
            gamma = update_transitions(post.pairs, self.stickiness)
        post = _posterior(counts, mu, log_alpha, gamma[:, None], delta)
        return (mu, log_alpha, gamma, delta), post.loglik, max_iter, False

    def _driver_matrix(
        self, panel: pd.DataFrame, observed: np.ndarray
    ) -> tuple[list[str], np.ndarray]:
        """Driver columns and their standardized values (T, p); none unless
        ``transition_drivers``."""
        if not self.transition_drivers:
            return [], np.zeros((len(panel), 0))
        used, _ = selected_columns(
            panel, observed, self.covariates, (PREFIX_RETALIATION, PREFIX_STATEMENT), self.name
        )
        x = exogenous_matrix(panel, used)
        self._x_mean, self._x_sd = x.mean(axis=0), x.std(axis=0)
        xs = (x - self._x_mean) / np.where(self._x_sd > 0, self._x_sd, 1.0)
        self._x_low, self._x_high = xs.min(axis=0), xs.max(axis=0)
        self._x_last = xs[-1]
        self._x_prev = xs[:-1]
        return used, xs

    def _fit_drivers(self, counts: Counts, x: np.ndarray, fit: _Fit) -> _Fit:
        """EM of the chain whose transitions depend on the drivers, from the homogeneous
        ``fit`` (slopes zero)."""
        k, p = fit.mu.size, x.shape[1]
        drivers = DriverTransitions.from_matrix(fit.gamma, p)
        mu, log_alpha, delta = fit.mu[None], np.array([fit.log_alpha]), fit.delta[None]
        x_prev = x[:-1]
        previous, converged, n_iter = -np.inf, False, 0
        gammas = np.zeros((1, x.shape[0], k, k))
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007
            gammas[0, 1:] = drivers.matrices(x_prev)
            post = _posterior(counts, mu, log_alpha, gammas, delta)
            ll = float(post.loglik[0])
            if abs(ll - previous) < self.tol * (1 + abs(ll)):
                converged = True
                break
            previous = ll
            mu, log_alpha, delta = _update_emissions(counts, post, mu, log_alpha)
            drivers = fit_driver_transitions(post.pairs[0, 1:], x_prev, drivers, self.driver_ridge)
        gammas[0, 1:] = drivers.matrices(x_prev)
        ll = float(_posterior(counts, mu, log_alpha, gammas, delta).loglik[0])
        out = _Fit(
            mu[0],
            float(log_alpha[0]),
            drivers.matrices(np.zeros((1, p)))[0],
            delta[0],
            ll,
            fit.n_iter + n_iter,
            converged,
        )
        out.drivers = drivers
        return out

    def _store(self, fit: _Fit, n_obs: int) -> None:
        k = fit.mu.size
        self._fit = fit
        self.n_regimes_ = k
        self.regime_names_ = list(REGIME_NAMES[k])
        self.rates_ = fit.mu
        self.alpha_ = float(np.exp(fit.log_alpha))
        self.transition_ = fit.gamma
        self.loglik_ = fit.loglik
        self.bic_ = fit.n_params * float(np.log(n_obs)) - 2 * fit.loglik
        self.converged_, self.n_iter_ = fit.converged, fit.n_iter
        b = fit.drivers.b if fit.drivers is not None else np.zeros((k, 0))
        self.driver_coef_ = pd.DataFrame(b, index=self.regime_names_, columns=self.drivers_)
        post = _posterior(
            self._counts,
            fit.mu[None],
            np.array([fit.log_alpha]),
            self._history_gammas(),
            fit.delta[None],
        )
        self.regime_probs_ = post.filtered[0, -1]

    def _history_gammas(self) -> np.ndarray:
        """Transition matrices of the fitted history, (1, T, K, K) or (1, 1, K, K)."""
        fit = self._fit
        if fit.drivers is None:
            return fit.gamma[None, None]
        k = fit.mu.size
        gammas = np.zeros((1, self._x_prev.shape[0] + 1, k, k))
        gammas[0, 1:] = fit.drivers.matrices(self._x_prev)
        return gammas

    # --- reporting ----------------------------------------------------------------------

    def decode(self) -> pd.Series:
        """Most likely regime path over the fitted history (Viterbi), as regime numbers
        (0 = quiet, increasing with the rate), indexed by period."""
        self._check_regimes()
        fit = self._fit
        probs, top = emissions(self._counts, fit.mu[None], np.array([fit.log_alpha]))
        path = viterbi(probs, top, self._history_gammas(), fit.delta[None])
        return pd.Series(path, index=self._history_index, name="regime")

    def _check_regimes(self) -> None:
        """Raise unless fitted with regimes (not fallen back to ``Climatology``)."""
        self._check_fitted()
        if self.fallback_ is not None:
            raise ModelError(f"{self.name}: fell back to climatology ({self.fallback_reason_})")

    def _check_fitted(self) -> None:
        check_fitted(self, "fallback_")

    # --- forecasting --------------------------------------------------------------------

    def forecast(
        self,
        horizon: int,
        *,
        future: pd.DataFrame | None = None,
        n_samples: int = 1000,
        rng: np.random.Generator,
    ) -> CountForecast:
        """Sample paths ``(n_samples, horizon)``: each path draws the regime at the origin
        from ``regime_probs_``, moves it along the chain, then draws NB2 counts at the
        regime's rate. ``future`` must hold the driver columns for the horizon when
        ``transition_drivers`` found any (else it is ignored). ``meta["regimes"]`` holds
        the regimes at the origin and the chance of a switch (``regime_summary``)."""
        self._check_fitted()
        fallback = fallback_forecast(self, horizon, n_samples, rng)
        if fallback is not None:
            return fallback
        index = horizon_index(self.origin_, horizon, self.freq_, n_samples=n_samples)
        gammas = self._future_gammas(future, index)
        start = rng.random(n_samples)
        moves = rng.random((n_samples, horizon))
        state = _draw(np.broadcast_to(self.regime_probs_, (n_samples, self.n_regimes_)), start)
        states = np.empty((n_samples, horizon), dtype=np.int64)
        for h in range(horizon):
            state = _draw(gammas[h][state], moves[:, h])
            states[:, h] = state
        samples = sample_nb(rng, self.rates_[states], self.alpha_)
        meta: dict[str, object] = {
            "fallback": None,
            "alpha": self.alpha_,
            "regimes": self.regime_summary(gammas),
        }
        return CountForecast(self.origin_, samples, index, model=self.name, meta=meta)

    def _future_gammas(self, future: pd.DataFrame | None, index: pd.DatetimeIndex) -> np.ndarray:
        """Transition matrices into each horizon period, (horizon, K, K). With drivers the
        step into period ``h`` uses the drivers of period ``h - 1`` (the origin's row for
        the first step), standardized and clipped to their range over the history."""
        k = self.n_regimes_
        if self._fit.drivers is None:
            return np.broadcast_to(self.transition_, (len(index), k, k))
        x = future_matrix(future, self.drivers_, index)
        xs = (x - self._x_mean) / np.where(self._x_sd > 0, self._x_sd, 1.0)
        steps = np.vstack([self._x_last[None], xs[:-1]])
        return self._fit.drivers.matrices(np.clip(steps, self._x_low, self._x_high))

    def regime_summary(self, gammas: np.ndarray | None = None) -> dict[str, object]:
        """The regimes at the origin, JSON-ready: ``states`` (name, rate, filtered
        probability, in rate order), ``most_likely`` (name), ``p_switch`` (P(at least one
        change of regime within n periods) for n in ``SWITCH_WINDOWS``, exact from the
        transition matrices ``gammas`` (horizon, K, K), default the fitted homogeneous
        chain; beyond the horizon the last matrix is held) and ``transition``."""
        self._check_regimes()
        if gammas is None:
            gammas = self.transition_[None]
        stay = np.diagonal(gammas, axis1=1, axis2=2)  # (H, K)
        last = stay[-1]
        p_switch = {}
        for n in SWITCH_WINDOWS:
            held = max(0, n - stay.shape[0])
            no_switch = np.prod(stay[:n], axis=0) * last**held
            p_switch[str(n)] = float(1.0 - self.regime_probs_ @ no_switch)
        return {
            "states": [
                {"name": name, "rate": float(rate), "probability": float(prob)}
                for name, rate, prob in zip(
                    self.regime_names_, self.rates_, self.regime_probs_, strict=True
                )
            ],
            "most_likely": self.regime_names_[int(np.argmax(self.regime_probs_))],
            "p_switch": p_switch,
            "transition": [[float(v) for v in row] for row in self.transition_],
        }


def _draw(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draws: row ``i`` of ``probs`` (n, K) picked by uniform ``u[i]``."""
    cdf = np.cumsum(probs, axis=1)
    return np.minimum((u[:, None] >= cdf[:, :-1]).sum(axis=1), probs.shape[1] - 1)


def _posterior(
    counts: Counts, mu: np.ndarray, log_alpha: np.ndarray, gammas: np.ndarray, delta: np.ndarray
) -> Posterior:
    probs, top = emissions(counts, mu, log_alpha)
    return forward_backward(probs, top, gammas, delta)


def _update_emissions(
    counts: Counts, post: Posterior, mu: np.ndarray, log_alpha: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M-step of the rates, the dispersion and the first regime's law."""
    weights = counts.weights(post.smoothed)
    mu = update_rates(counts, weights, mu)
    log_alpha = update_log_alpha(counts, weights, mu, log_alpha)
    k = mu.shape[1]
    delta = (1 - _DELTA_FLOOR) * post.smoothed[:, 0] + _DELTA_FLOOR / k
    return mu, log_alpha, delta


def _start_means(counts: Counts, k: int) -> np.ndarray:
    """Starting regime means (B, K): the mean of the sorted observed counts within each
    band between the quantile levels of ``_STARTS[k]``, forced apart and increasing."""
    y = np.sort(np.repeat(counts.values, np.bincount(counts.inverse[counts.observed])))
    n = y.size
    starts = []
    for levels in _STARTS[k]:
        cuts = [0, *(round(c * n) for c in levels), n]
        means = [float(y[a:b].mean()) if b > a else float(y.mean()) for a, b in pairwise(cuts)]
        for i in range(1, k):
            means[i] = max(means[i], 1.5 * means[i - 1] + 0.1)
        starts.append(np.maximum(means, 0.01))
    return np.array(starts)
