"""Log-likelihood and analytic score of the discrete-time Hawkes count process.

Model, period t (counts per period, oldest first)::

    lambda_t = mu_t + alpha * sum_{s<t} g(t - s) Y_s
    g(k)     = (1 - delta) * delta ** (k - 1),  k >= 1     (geometric; sums to 1)
    mu_t     = exp(b_0 + eta' X_t + sum_j gamma_j K_{j,t})
    K_{j,t}  = sum_{s<t} phi_j ** (t - 1 - s) x_{j,s}
    Y_t | past ~ NB(mean lambda_t, size r)      (Poisson: r -> infinity)

The geometric kernel is the exponential kernel ``beta * exp(-beta u)`` integrated over
whole periods (``delta = exp(-beta)``), so its mass sums to 1 and ``alpha`` is the
branching ratio: the expected number of events each event triggers directly. ``x_j``
are driver events (retaliation, statements) whose effect on the background rate ``mu``
is multiplicative: one event in period s multiplies ``mu`` by ``exp(gamma_j)`` in period
s + 1, fading by ``phi_j`` per period.

Both kernel sums obey first-order recursions, ``S_t = delta S_{t-1} + Y_{t-1}``, so they
and their derivatives in ``delta``/``phi_j`` are IIR filters (``scipy.signal.lfilter``):
O(T) in compiled code. Nothing happened before the first period (``S_0 = K_0 = 0``).

Parameter vector ``theta = [b_0, eta (K), alpha, delta, gamma (J), phi (J), log r]``
(``log r`` absent for Poisson). An optional ridge ``ridge / 2 * (|eta|^2 + |gamma|^2)``
(log-likelihood units, ``eta`` on standardized covariates) keeps those log-effects finite
when a long quiet stretch separates the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from cadence.models._autoregressive import LOG_SIZE_BOUNDS, count_loglik, count_score

BRANCHING_LIMIT = 0.99
DECAY_LIMIT = 0.99
GAMMA_LIMIT = 10.0
LOG_MU_CLIP = 50.0
INTERCEPT_RANGE = 20.0


def kernel_sum(values: np.ndarray, decay: float) -> np.ndarray:
    """``out_t = sum_{s<t} decay ** (t - 1 - s) * values_s`` along axis 0."""
    return np.asarray(signal.lfilter([0.0, 1.0], [1.0, -decay], values, axis=0))


@dataclass(frozen=True)
class HawkesData:
    """Fixed inputs: ``y`` (T,) counts with unknown periods filled by the observed mean,
    ``observed`` (T,) bool, ``x`` (T, K) standardized covariates, ``events`` (T, J) driver
    events, ``negbin``."""

    y: np.ndarray
    observed: np.ndarray
    x: np.ndarray
    events: np.ndarray
    negbin: bool
    ridge: float = 0.0

    @classmethod
    def build(
        cls, y: np.ndarray, x: np.ndarray, events: np.ndarray, negbin: bool, ridge: float = 0.0
    ) -> HawkesData:
        observed = np.isfinite(y)
        filled = np.where(observed, y, float(y[observed].mean()))
        return cls(filled, observed, x, events, negbin, ridge)

    @property
    def n_obs(self) -> int:
        return int(self.observed.sum())

    @property
    def k(self) -> int:
        return int(self.x.shape[1])

    @property
    def j(self) -> int:
        return int(self.events.shape[1])

    @property
    def n_params(self) -> int:
        return 3 + self.k + 2 * self.j + int(self.negbin)

    def split(
        self, theta: np.ndarray
    ) -> tuple[float, np.ndarray, float, float, np.ndarray, np.ndarray, float | None]:
        """``theta`` -> (b0, eta, alpha, delta, gamma, phi, log_size or None)."""
        k, j = self.k, self.j
        b0 = float(theta[0])
        eta = theta[1 : 1 + k]
        alpha, delta = float(theta[1 + k]), float(theta[2 + k])
        gamma = theta[3 + k : 3 + k + j]
        phi = theta[3 + k + j : 3 + k + 2 * j]
        log_size = float(theta[-1]) if self.negbin else None
        return b0, eta, alpha, delta, gamma, phi, log_size

    def components(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Background rate ``mu`` and self-excitation ``alpha * sum g Y``, each (T,)."""
        b0, eta, alpha, delta, gamma, phi, _ = self.split(theta)
        log_mu = b0 + self.x @ eta
        for i in range(self.j):
            log_mu = log_mu + gamma[i] * kernel_sum(self.events[:, i], float(phi[i]))
        mu = np.exp(np.clip(log_mu, -LOG_MU_CLIP, LOG_MU_CLIP))
        return mu, alpha * (1 - delta) * kernel_sum(self.y, delta)

    def loglik(self, theta: np.ndarray) -> float:
        """Log-likelihood of the observed periods (no penalty)."""
        mu, excitation = self.components(theta)
        lam = (mu + excitation)[self.observed]
        return float(count_loglik(self.y[self.observed], lam, self.split(theta)[-1]).sum())

    def negloglik_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log-likelihood per observed period and its gradient."""
        b0, eta, alpha, delta, gamma, phi, log_size = self.split(theta)
        obs = self.observed
        log_mu = b0 + self.x @ eta
        kernels, kernels_d = [], []
        for i in range(self.j):
            kern = kernel_sum(self.events[:, i], float(phi[i]))
            kernels.append(kern)
            kernels_d.append(kernel_sum(kern, float(phi[i])))
            log_mu = log_mu + gamma[i] * kern
        mu = np.exp(np.clip(log_mu, -LOG_MU_CLIP, LOG_MU_CLIP))
        s = kernel_sum(self.y, delta)
        s_d = kernel_sum(s, delta)
        lam = mu + alpha * (1 - delta) * s
        ll = count_loglik(self.y[obs], lam[obs], log_size).sum()
        d_loglam, d_logr = count_score(self.y[obs], lam[obs], log_size)
        w = np.zeros(lam.size)
        w[obs] = d_loglam / lam[obs]  # d loglik / d lambda
        w_mu = w * mu
        grad = [np.array([w_mu.sum()]), self.x.T @ w_mu]
        grad.append(
            np.array([np.sum(w * (1 - delta) * s), np.sum(w * alpha * ((1 - delta) * s_d - s))])
        )
        grad.append(np.array([np.sum(w_mu * kern) for kern in kernels]))
        grad.append(np.array([np.sum(w_mu * gamma[i] * kernels_d[i]) for i in range(self.j)]))
        if self.negbin:
            grad.append(np.array([d_logr]))
        n = max(self.n_obs, 1)
        value, gradient = -float(ll) / n, -np.concatenate(grad) / n
        if self.ridge > 0:
            # Gaussian penalty on the log-effects of (standardized) covariates and drivers:
            # without it a long quiet stretch lets them run off to +-infinity (separation).
            k, j = self.k, self.j
            shrunk = np.r_[1 : 1 + k, 3 + k : 3 + k + j]
            value += 0.5 * self.ridge * float(np.sum(theta[shrunk] ** 2)) / n
            gradient[shrunk] += self.ridge * theta[shrunk] / n
        return value, gradient

    def bounds(self) -> list[tuple[float, float]]:
        inf = np.inf
        # The background may be negligible (all events triggered) but not -infinity.
        level = float(np.log(max(self.y[self.observed].mean(), 1e-12)))
        b: list[tuple[float, float]] = [(level - INTERCEPT_RANGE, level + INTERCEPT_RANGE)]
        b += [(-inf, inf)] * self.k
        b += [(0.0, BRANCHING_LIMIT), (0.0, DECAY_LIMIT)]
        b += [(-GAMMA_LIMIT, GAMMA_LIMIT)] * self.j + [(0.0, DECAY_LIMIT)] * self.j
        if self.negbin:
            b.append((float(LOG_SIZE_BOUNDS[0]), float(LOG_SIZE_BOUNDS[1])))
        return b
