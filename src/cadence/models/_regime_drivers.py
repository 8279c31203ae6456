"""Driver effects on the regime transitions of ``RegimeNB``: a multinomial logit per row.

The law of the regime of period ``t`` given regime ``i`` at ``t - 1`` is::

    P(j | i, x) = exp(a[i, j] + b[j] . x) / sum_l exp(a[i, l] + b[l] . x)

with ``x`` the standardized driver columns of period ``t - 1`` (known when period ``t``
begins), ``a[i, i] = 0`` (staying is each row's reference) and ``b[K - 1] = 0`` (the top
regime is the reference of the slopes): ``b[0] > 0`` means the driver makes the quiet
regime more likely, whatever the regime was. At ``x = 0`` (the drivers at their mean) the
matrix is the homogeneous chain ``softmax(a)``. The slopes carry a ridge penalty
``ridge / 2 * |b|^2``; the intercepts a weak Dirichlet prior (the pseudo-count of the
homogeneous update, at ``x = 0``). Zucchini, MacDonald & Langrock (2016), sec. 10.2
(covariates in the transition probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from cadence.models._regime_hmm import TRANSITION_PSEUDO_COUNT


@dataclass(frozen=True)
class DriverTransitions:
    """Intercepts ``a`` (K, K), zero diagonal, and slopes ``b`` (K, p), zero last row."""

    a: np.ndarray
    b: np.ndarray

    @classmethod
    def from_matrix(cls, gamma: np.ndarray, n_drivers: int) -> DriverTransitions:
        """The chain ``gamma`` (K, K) with no driver effect."""
        logg = np.log(np.maximum(gamma, 1e-12))
        return cls(a=logg - np.diag(logg)[:, None], b=np.zeros((gamma.shape[0], n_drivers)))

    def matrices(self, x: np.ndarray) -> np.ndarray:
        """Transition matrices (n, K, K) at drivers ``x`` (n, p)."""
        logits = self.a[None, :, :] + (x @ self.b.T)[:, None, :]
        logits -= logits.max(axis=2, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=2, keepdims=True))

    def permuted(self, order: np.ndarray) -> DriverTransitions:
        """The same chain with regimes relabelled (new regime ``r`` is old ``order[r]``),
        renormalised to the reference conventions (both are invariances of the logit)."""
        a = self.a[np.ix_(order, order)]
        b = self.b[order]
        return DriverTransitions(a=a - np.diag(a)[:, None], b=b - b[-1])

    def _pack(self) -> np.ndarray:
        k = self.a.shape[0]
        off = ~np.eye(k, dtype=bool)
        return np.concatenate([self.a[off], self.b[:-1].ravel()])

    @classmethod
    def _unpack(cls, theta: np.ndarray, k: int, p: int) -> DriverTransitions:
        off = ~np.eye(k, dtype=bool)
        a = np.zeros((k, k))
        a[off] = theta[: k * (k - 1)]
        b = np.zeros((k, p))
        b[:-1] = theta[k * (k - 1) :].reshape(k - 1, p)
        return cls(a=a, b=b)


def fit_driver_transitions(
    pairs: np.ndarray, x_prev: np.ndarray, start: DriverTransitions, ridge: float
) -> DriverTransitions:
    """M-step of the transition logit: maximise ``sum_t sum_ij pairs[t, i, j] log P_t(i, j)``
    minus the penalties, by L-BFGS from ``start``. ``pairs`` (n, K, K) expected
    transitions into periods 1..n of the history; ``x_prev`` (n, p) the drivers of the
    period before each."""
    k, p = start.b.shape
    off = ~np.eye(k, dtype=bool)
    from_row = pairs.sum(axis=2, keepdims=True)  # (n, K, 1)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        model = DriverTransitions._unpack(theta, k, p)
        probs = model.matrices(x_prev)
        base = model.matrices(np.zeros((1, p)))[0]
        with np.errstate(divide="ignore"):
            ll = np.sum(pairs * np.log(np.maximum(probs, 1e-300)))
            ll += TRANSITION_PSEUDO_COUNT * np.sum(np.log(np.maximum(base, 1e-300)))
        ll -= 0.5 * ridge * np.sum(model.b**2)
        resid = pairs - from_row * probs  # d ll / d logits, (n, K, K)
        g_a = resid.sum(axis=0) + TRANSITION_PSEUDO_COUNT * (1.0 - k * base)
        g_b = np.einsum("nij,np->jp", resid, x_prev) - ridge * model.b
        grad = np.concatenate([g_a[off], g_b[:-1].ravel()])
        return -float(ll), -grad

    res = optimize.minimize(
        objective,
        start._pack(),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0)] * (k * (k - 1)) + [(-20.0, 20.0)] * ((k - 1) * p),
        options={"maxiter": 200},
    )
    theta = res.x if np.isfinite(res.fun) else start._pack()
    return DriverTransitions._unpack(theta, k, p)
