"""Log-likelihood and analytic score of the log-linear count autoregression (INGARCH).

Model (R's tscount, ``link = "log"``, covariates inside the feedback)::

    nu_t = beta_0 + sum_i beta_i log(1 + Y_{t - p_i}) + sum_l alpha_l nu_{t - q_l} + eta' X_t
    Y_t | past ~ NB(mean exp(nu_t), size r)        (Poisson: r -> infinity)

``nu`` obeys a linear recursion in its own past, so ``nu`` and every derivative
``d nu_t / d theta`` are IIR filters of known inputs: ``scipy.signal.lfilter`` computes
them in O(T) in compiled code (no Python loop over periods).

Parameter vector ``theta = [beta_0, beta (P), alpha (Q), eta (K), log r]`` (``log r``
absent for Poisson). An optional ridge ``ridge / 2 * |eta|^2`` on the (standardized)
covariate coefficients. Pre-sample values are fixed, not estimated: ``log(1 + Y)`` before
the first period is the sample mean of ``log(1 + Y)``, ``nu`` is ``log`` of the sample
mean count, so their derivatives are zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import signal

from cadence.models._autoregressive import LOG_SIZE_BOUNDS, count_loglik, count_score

# |sum(beta) + sum(alpha)| must stay below this (tscount's stationarity condition for the
# log-linear model, with a margin so the Hessian is evaluated inside the region).
STATIONARITY_LIMIT = 0.99
COEF_LIMIT = 0.995
# exp(nu) is evaluated on clipped nu: far outside any sensible fit, but keeps a wild
# optimizer step finite.
NU_CLIP = 40.0
_PENALTY = 100.0


@dataclass(frozen=True)
class IngarchData:
    """Fixed inputs of the likelihood for one series.

    ``y``: counts (T,) with NaN filled by the observed mean; ``observed``: (T,) bool,
    False where the count is unknown (no likelihood term); ``zlag``: (T, P) lagged
    ``log(1 + y)``; ``x``: (T, K) covariates (standardized by the caller); ``nu0``:
    pre-sample value of ``nu``.
    """

    y: np.ndarray
    observed: np.ndarray
    zlag: np.ndarray
    x: np.ndarray
    nu0: float
    past_obs: tuple[int, ...]
    past_mean: tuple[int, ...]
    negbin: bool
    ridge: float = 0.0

    @classmethod
    def build(
        cls,
        y: np.ndarray,
        x: np.ndarray,
        past_obs: tuple[int, ...],
        past_mean: tuple[int, ...],
        negbin: bool,
        ridge: float = 0.0,
    ) -> IngarchData:
        observed = np.isfinite(y)
        ybar = float(y[observed].mean())
        filled = np.where(observed, y, ybar)
        z = np.log1p(filled)
        zbar = float(z.mean())
        t = len(y)
        zlag = np.full((t, len(past_obs)), zbar)
        for i, k in enumerate(past_obs):
            if k < t:
                zlag[k:, i] = z[: t - k]
        return cls(
            y=filled,
            observed=observed,
            zlag=zlag,
            x=x,
            nu0=float(np.log(max(ybar, 1e-2))),
            past_obs=past_obs,
            past_mean=past_mean,
            negbin=negbin,
            ridge=ridge,
        )

    @cached_property
    def _y_observed(self) -> np.ndarray:
        return self.y[self.observed]

    @cached_property
    def _design(self) -> np.ndarray:
        """``[1, zlag, nu lags, x]`` with the nu lags at their pre-sample value ``nu0``
        (``negloglik_and_grad`` writes the lags of each ``nu`` into a copy)."""
        t, q = len(self.y), len(self.past_mean)
        return np.hstack([np.ones((t, 1)), self.zlag, np.full((t, q), self.nu0), self.x])

    @property
    def n_obs(self) -> int:
        return int(self.observed.sum())

    @property
    def n_params(self) -> int:
        return 1 + len(self.past_obs) + len(self.past_mean) + self.x.shape[1] + int(self.negbin)

    def split(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """``theta`` -> (beta_0, beta, alpha, eta)."""
        p, q, k = len(self.past_obs), len(self.past_mean), self.x.shape[1]
        return (
            float(theta[0]),
            theta[1 : 1 + p],
            theta[1 + p : 1 + p + q],
            theta[1 + p + q : 1 + p + q + k],
        )

    def log_size(self, theta: np.ndarray) -> float | None:
        return float(theta[-1]) if self.negbin else None

    def _denominator(self, alpha: np.ndarray) -> np.ndarray:
        den = np.zeros(max(self.past_mean, default=0) + 1)
        den[0] = 1.0
        for a, lag in zip(alpha, self.past_mean, strict=True):
            den[lag] = -a
        return den

    def nu(self, theta: np.ndarray) -> np.ndarray:
        """Linear predictor ``nu_t = log E[Y_t | past]``, shape (T,)."""
        b0, beta, alpha, eta = self.split(theta)
        u = b0 + self.zlag @ beta + self.x @ eta
        if not self.past_mean:
            return u
        den = self._denominator(alpha)
        # Filter state for constant pre-sample outputs nu0 (what ``signal.lfiltic`` gives
        # for b = [1] and zero past inputs): zi[i] = -nu0 * sum(den[i + 1:]).
        zi = -self.nu0 * np.cumsum(den[:0:-1])[::-1]
        out, _ = signal.lfilter([1.0], den, u, zi=zi)
        return np.asarray(out)

    def loglik(self, theta: np.ndarray) -> float:
        """Log-likelihood of the observed periods (no penalty)."""
        mu = np.exp(np.clip(self.nu(theta), -NU_CLIP, NU_CLIP))[self.observed]
        return float(count_loglik(self.y[self.observed], mu, self.log_size(theta)).sum())

    def negloglik_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log-likelihood per observed period and its gradient (including the
        ridge on the covariates and the stationarity penalty, zero inside the region)."""
        _, beta, alpha, _ = self.split(theta)
        nu = self.nu(theta)
        mu = np.exp(np.clip(nu, -NU_CLIP, NU_CLIP))
        log_size = self.log_size(theta)
        obs = self.observed
        y_obs, mu_obs = self._y_observed, mu[obs]
        ll = count_loglik(y_obs, mu_obs, log_size).sum()
        d_obs, d_logr = count_score(y_obs, mu_obs, log_size)
        d_nu = np.zeros(len(nu))
        d_nu[obs] = d_obs
        d_nu[np.abs(nu) >= NU_CLIP] = 0.0
        # the design [1, zlag, nu lags, x]: all but the nu lags fixed (built once)
        design = self._design
        if self.past_mean:
            design = design.copy()
            first = 1 + len(self.past_obs)
            for i, lag in enumerate(self.past_mean):
                design[lag:, first + i] = nu[: len(nu) - lag]
            design = signal.lfilter([1.0], self._denominator(alpha), design, axis=0)
        grad = design.T @ d_nu
        if self.negbin:
            grad = np.append(grad, d_logr)
        n = max(self.n_obs, 1)
        value = -float(ll) / n
        grad = -grad / n
        if self.ridge > 0 and self.x.shape[1]:
            p, q = len(self.past_obs), len(self.past_mean)
            shrunk = slice(1 + p + q, 1 + p + q + self.x.shape[1])
            value += 0.5 * self.ridge * float(np.sum(theta[shrunk] ** 2)) / n
            grad[shrunk] += self.ridge * theta[shrunk] / n
        s = float(beta.sum() + alpha.sum())
        excess = abs(s) - STATIONARITY_LIMIT
        if excess > 0:
            value += _PENALTY * excess**2
            p, q = len(self.past_obs), len(self.past_mean)
            grad[1 : 1 + p + q] += 2 * _PENALTY * excess * np.sign(s)
        return value, grad

    def at_bound(self, theta: np.ndarray, tol: float = 1e-3) -> bool:
        """Whether a persistence coefficient, or their sum, sits on the stationarity
        bound: the fit wants a unit root (e.g. the covariates, summed up by the mean
        feedback, standing in for a drifting level) and is ill-conditioned there."""
        _, beta, alpha, _ = self.split(theta)
        coefs = np.concatenate([beta, alpha])
        if not coefs.size:
            return False
        return bool(
            np.abs(coefs).max() >= COEF_LIMIT - tol
            or abs(float(coefs.sum())) >= STATIONARITY_LIMIT - tol
        )

    def bounds(self) -> list[tuple[float, float]]:
        inf = np.inf
        b: list[tuple[float, float]] = [(-inf, inf)]
        b += [(-COEF_LIMIT, COEF_LIMIT)] * (len(self.past_obs) + len(self.past_mean))
        b += [(-inf, inf)] * self.x.shape[1]
        if self.negbin:
            b.append((float(LOG_SIZE_BOUNDS[0]), float(LOG_SIZE_BOUNDS[1])))
        return b
