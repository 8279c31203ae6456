"""Penalized NB2 regression likelihood (log link) for per-period counts and interval
totals, with its optimizer; the numerical core of ``NegBinGLM``.

Parameters ``theta = (beta, log alpha)``; ``beta[0]`` is the intercept of standardized
columns. Periods with a count contribute NB2(y_t; mu_t, 1/alpha). Interval ``j`` with
coverage weights ``w_jt`` contributes NB2(T_j; M_j, s_j) with ``M_j = sum_t w_jt mu_t`` and
``s_j = M_j**2 / (alpha * sum_t w_jt mu_t**2)``: the size that matches the variance of a
sum of independent NB2 periods (exactly NB when the rate is constant). Penalties: a
ridge on the slopes (one weight per column), and stiff quadratic penalties that keep
linear combinations of the coefficients inside bounds: ``|c_k @ beta| <= limit_k`` (the
autoregressive coefficients' sum, and each of them, so that simulated paths stay stable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, zeta

from cadence.models._design import nb2_loglik

LOG_ALPHA_BOUNDS = (-12.0, 5.0)
_ETA_CLIP = 30.0


@dataclass
class NB2Problem:
    """Data and penalties of one fit.

    ``zd`` (n_d, m), ``yd`` (n_d,): design and counts of periods with a count; ``zc``
    (n_c, m): design of periods inside intervals; ``cov_w`` (J, n_c) and ``cov_t`` (J,):
    interval weights and totals (None without intervals); ``ridge`` (m,): L2 weight of
    each coefficient (0 for the intercept); ``bound_dirs`` (k, m) and ``bound_limits``
    (k,): the penalty keeps ``|bound_dirs @ beta| <= bound_limits`` (e.g. the
    autoregressive coefficients' sum in original units).
    """

    zd: np.ndarray
    yd: np.ndarray
    zc: np.ndarray
    cov_w: np.ndarray | None
    cov_t: np.ndarray | None
    ridge: np.ndarray
    bound_dirs: np.ndarray
    bound_limits: np.ndarray
    stiff: float

    def __post_init__(self) -> None:
        # Counts repeat (a daily series has few distinct values): special functions of
        # y + size are evaluated once per distinct value; log(y!) once per fit.
        self._y_values, self._y_index = np.unique(self.yd, return_inverse=True)
        self._log_y_factorial = gammaln(self.yd + 1.0)

    def _daily_terms(
        self, mu: np.ndarray, size: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """NB2 log-pmf of the period counts and its derivatives in mu and in size."""
        y, v, i = self.yd, self._y_values, self._y_index
        rm = size + mu
        log_ratio = np.log(size / rm)
        ll = (gammaln(v + size) - gammaln(size))[i] - self._log_y_factorial
        ll = ll + size * log_ratio + y * np.log(mu / rm)
        d_mu = y / mu - (y + size) / rm
        d_size = (digamma(v + size) - digamma(size))[i] + log_ratio + (mu - y) / rm
        return ll, d_mu, d_size

    def _size_curvature(self, mu: np.ndarray, size: float) -> np.ndarray:
        """Second derivative of each period's log-pmf in size (trigamma = zeta(2, .))."""
        y, v, i = self.yd, self._y_values, self._y_index
        rm = size + mu
        d2 = (zeta(2.0, v + size) - zeta(2.0, size))[i] + 1.0 / size - 1.0 / rm
        return np.asarray(d2 - (mu - y) / rm**2)

    def bound_excess(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How far each bounded combination lies outside its limit (>= 0), shape (k,),
        and the combination's sign."""
        if not self.bound_limits.size:
            return np.zeros(0), np.zeros(0)
        value = self.bound_dirs @ beta
        return np.maximum(np.abs(value) - self.bound_limits, 0.0), np.sign(value)

    def negloglik(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Penalized negative log-likelihood and its gradient."""
        beta, log_alpha = theta[:-1], theta[-1]
        alpha = np.exp(log_alpha)
        size = 1.0 / alpha
        mu = np.exp(np.clip(self.zd @ beta, -_ETA_CLIP, _ETA_CLIP))
        ll, d_mu, d_size = self._daily_terms(mu, size)
        total = ll.sum()
        g_beta = self.zd.T @ (d_mu * mu)
        g_la = -np.sum(d_size) * size
        if self.cov_w is not None and self.cov_t is not None:
            w = self.cov_w
            mu_c = np.exp(np.clip(self.zc @ beta, -_ETA_CLIP, _ETA_CLIP))
            m = w @ mu_c
            q = w @ mu_c**2
            s = m**2 / (alpha * q)
            ll_i, a, b = nb2_loglik(self.cov_t, m, s)
            total += ll_i.sum()
            # d s_j / d mu_t = s_j * (2 w_jt / M_j - 2 w_jt mu_t / Q_j)
            d_mu_c = (a + 2 * b * s / m) @ w - mu_c * ((2 * b * s / q) @ w)
            g_beta = g_beta + self.zc.T @ (d_mu_c * mu_c)
            g_la += -np.sum(b * s)
        pen = 0.5 * float(np.sum(self.ridge * beta**2))
        g_pen = self.ridge * beta
        excess, sign = self.bound_excess(beta)
        if excess.any():
            pen += 0.5 * self.stiff * float(np.sum(excess**2))
            g_pen = g_pen + self.stiff * (excess * sign) @ self.bound_dirs
        grad = np.concatenate([-g_beta + g_pen, [-g_la]])
        return -float(total) + pen, grad

    def fit(self, theta0: np.ndarray) -> np.ndarray:
        """Minimize from ``theta0``: Newton/Fisher scoring for periods-only data, L-BFGS-B
        with the analytic gradient when intervals are present or Newton stalls."""
        if self.cov_w is None:
            theta, converged = self._newton(theta0)
            if converged:
                return theta
            theta0 = theta
        bounds = [(None, None)] * (theta0.size - 1) + [LOG_ALPHA_BOUNDS]
        res = minimize(
            self.negloglik,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-7},
        )
        return np.asarray(res.x)

    def _newton(self, theta: np.ndarray, max_iter: int = 60) -> tuple[np.ndarray, bool]:
        """Fisher scoring for the coefficients with a Newton step for log(alpha), jointly,
        with backtracking. NB2's mean and dispersion parameters are orthogonal (zero
        expected cross information), so the block-diagonal step converges in a few
        iterations."""
        zd, yd = self.zd, self.yd
        ridge = self.ridge
        f, g = self.negloglik(theta)
        for _ in range(max_iter):
            alpha = np.exp(theta[-1])
            mu = np.exp(np.clip(zd @ theta[:-1], -_ETA_CLIP, _ETA_CLIP))
            w = mu / (1.0 + alpha * mu)
            info = (zd * w[:, None]).T @ zd + np.diag(ridge)
            active = self.bound_dirs[self.bound_excess(theta[:-1])[0] > 0]
            if active.size:
                info = info + self.stiff * active.T @ active
            step_b = np.linalg.solve(info, -g[:-1])
            r = 1.0 / alpha
            s = self._daily_terms(mu, r)[2]
            ds = self._size_curvature(mu, r)
            curv = -float(np.sum(r * s + r**2 * ds))
            step_a = -g[-1] / curv if curv > 0 else -np.sign(g[-1]) * 0.5
            step = np.concatenate([step_b, [np.clip(step_a, -3.0, 3.0)]])
            slope = float(g @ step)
            t = 1.0
            while True:
                new = theta + t * step
                new[-1] = np.clip(new[-1], *LOG_ALPHA_BOUNDS)
                f_new, g_new = self.negloglik(new)
                if np.isfinite(f_new) and f_new <= f + 1e-4 * t * min(slope, 0.0):
                    break
                t *= 0.5
                if t < 1e-6:
                    return theta, False
            done = abs(f - f_new) <= 1e-10 * (1.0 + abs(f_new))
            theta, f, g = new, f_new, g_new
            at_bound = theta[-1] <= LOG_ALPHA_BOUNDS[0] + 1e-9 and g[-1] > 0
            grad = np.abs(g[:-1]).max(initial=0.0) if at_bound else np.abs(g).max()
            if done and grad < 1e-3 * max(1.0, abs(f) / max(yd.size, 1)):
                return theta, True
        return theta, False

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """Hessian of the penalized negative log-likelihood at ``theta`` (central
        differences of the analytic gradient), shape ``(m + 1, m + 1)``."""
        h = np.zeros((theta.size, theta.size))
        for i in range(theta.size):
            step = 1e-5 * max(1.0, abs(theta[i]))
            up, down = theta.copy(), theta.copy()
            up[i] += step
            down[i] -= step
            h[i] = (self.negloglik(up)[1] - self.negloglik(down)[1]) / (2 * step)
        return 0.5 * (h + h.T)
