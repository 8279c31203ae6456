"""The hidden-Markov machinery of ``RegimeNB``: NB2 emissions, the scaled forward-backward
recursions, the EM (Baum-Welch) updates of the rates, dispersion and a homogeneous
transition matrix, and Viterbi decoding.

Everything is vectorised over a leading *batch* axis ``B`` (several initialisations are
run side by side, so the Python loop over periods is paid once for all of them). Shapes:
``y`` (T,) float with NaN where a count is missing (its emission probability is 1);
``mu`` (B, K) regime means; ``alpha`` (B,) the shared NB2 dispersion (variance
``mu + alpha * mu**2``); ``gammas`` (B, T, K, K) the transition matrices, row ``i`` of
``gammas[:, t]`` the law of the regime of period ``t`` given regime ``i`` at ``t - 1``
(``gammas[:, 0]`` is unused); ``delta`` (B, K) the law of the first regime.

Reference: Zucchini, MacDonald & Langrock, *Hidden Markov Models for Time Series* (2nd
ed., 2016), ch. 4 (EM with scaled forward and backward probabilities), ch. 5 (decoding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import polygamma

from cadence.models._design import nb2_logpmf

# Bounds of log(alpha): 6e-6 is Poisson in practice, 150 is extreme overdispersion.
LOG_ALPHA_BOUNDS = (-12.0, 5.0)
# Smallest regime mean: a regime of all-zero periods still gives an event some chance.
MIN_RATE = 1e-3
# Pseudo-count added to every cell of the expected transition counts (a weak Dirichlet
# prior): a regime never left in the history still has a small chance to switch.
TRANSITION_PSEUDO_COUNT = 0.1


@dataclass(frozen=True)
class Counts:
    """The observed counts of a series, compressed to their distinct values.

    ``values`` (U,) distinct observed counts; ``inverse`` (T,) index into ``values`` for
    observed periods (-1 for missing); ``observed`` (T,) boolean mask.
    """

    values: np.ndarray
    inverse: np.ndarray
    observed: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray) -> Counts:
        observed = np.isfinite(y)
        values, inv = np.unique(y[observed], return_inverse=True)
        inverse = np.full(y.shape, -1, dtype=np.int64)
        inverse[observed] = inv
        return cls(values=values, inverse=inverse, observed=observed)

    def weights(self, post: np.ndarray) -> np.ndarray:
        """Posterior regime weights summed per distinct value: ``post`` (B, T, K) ->
        (B, U, K)."""
        b, _, k = post.shape
        out = np.zeros((b, self.values.size, k))
        idx = self.inverse[self.observed]
        for j in range(b):
            for r in range(k):
                out[j, :, r] = np.bincount(
                    idx, weights=post[j, self.observed, r], minlength=self.values.size
                )
        return out


def nb_logpmf(y: np.ndarray, mu: np.ndarray, log_alpha: np.ndarray) -> np.ndarray:
    """NB2 log-pmf of counts ``y`` (U,) under means ``mu`` (B, K) and dispersions
    ``exp(log_alpha)`` (B,): shape (B, U, K)."""
    return nb2_logpmf(y[None, :, None], mu[:, None, :], np.exp(-log_alpha)[:, None, None])


def emissions(counts: Counts, mu: np.ndarray, log_alpha: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scaled emission probabilities (B, T, K), each period divided by its largest
    regime's, and the log of that divisor (B, T). Missing periods have probability 1."""
    lp_values = nb_logpmf(counts.values, mu, log_alpha)
    b, _, k = lp_values.shape
    lp = np.zeros((b, counts.inverse.size, k))
    lp[:, counts.observed] = lp_values[:, counts.inverse[counts.observed]]
    top = lp.max(axis=2)
    return np.exp(lp - top[:, :, None]), top


@dataclass(frozen=True)
class Posterior:
    """Result of the forward-backward pass: ``loglik`` (B,), ``filtered`` (B, T, K)
    P(regime_t | y_1..t), ``smoothed`` (B, T, K) P(regime_t | all y), ``pairs``
    (B, T, K, K) P(regime_{t-1} = i, regime_t = j | all y) (``pairs[:, 0]`` is zero)."""

    loglik: np.ndarray
    filtered: np.ndarray
    smoothed: np.ndarray
    pairs: np.ndarray


def forward_backward(
    probs: np.ndarray, log_top: np.ndarray, gammas: np.ndarray, delta: np.ndarray
) -> Posterior:
    """Scaled forward and backward recursions (Zucchini et al. 2016, sec. 3.2, 4.2).

    ``probs``/``log_top`` from ``emissions``; ``gammas`` (B, T, K, K) or (B, 1, K, K)
    for a homogeneous chain; ``delta`` (B, K). The loops run over time-major copies
    shaped for ``matmul`` (the per-step cost is Python overhead, not arithmetic)."""
    b, n, k = probs.shape
    homogeneous = gammas.shape[1] == 1
    g = gammas[:, 0] if homogeneous else np.ascontiguousarray(gammas.transpose(1, 0, 2, 3))
    rows = np.ascontiguousarray(probs.transpose(1, 0, 2))[:, :, None, :]  # (T, B, 1, K)
    cols = rows.transpose(0, 1, 3, 2)  # (T, B, K, 1)
    add = np.add.reduce
    phi = np.empty((n, b, 1, k))
    scale = np.empty((n, b, 1, 1))
    v = delta[:, None, :] * rows[0]
    scale[0] = add(v, axis=2, keepdims=True)
    phi[0] = v / scale[0]
    for t in range(1, n):
        v = np.matmul(phi[t - 1], g if homogeneous else g[t])
        v *= rows[t]
        s = add(v, axis=2, keepdims=True)
        scale[t] = s
        np.divide(v, s, out=phi[t])
    beta = np.empty((n, b, k, 1))
    beta[n - 1] = 1.0
    for t in range(n - 1, 0, -1):
        w = cols[t] * beta[t]
        np.divide(np.matmul(g if homogeneous else g[t], w), scale[t], out=beta[t - 1])
    filtered = phi[:, :, 0, :].transpose(1, 0, 2)
    back = beta[:, :, :, 0].transpose(1, 0, 2)
    c = scale[:, :, 0, 0].T  # (B, T)
    smoothed = filtered * back
    smoothed /= smoothed.sum(axis=2, keepdims=True)
    weighted = probs * back
    full = np.broadcast_to(gammas, (b, n, k, k))
    pairs = np.zeros((b, n, k, k))
    pairs[:, 1:] = (
        filtered[:, :-1, :, None] * full[:, 1:] * weighted[:, 1:, None, :] / c[:, 1:, None, None]
    )
    loglik = np.log(c).sum(axis=1) + log_top.sum(axis=1)
    return Posterior(
        loglik=loglik, filtered=np.ascontiguousarray(filtered), smoothed=smoothed, pairs=pairs
    )


def update_rates(counts: Counts, weights: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Regime means maximising the expected complete-data log-likelihood: under NB2 with a
    dispersion shared by the periods of a regime, the weighted mean of the counts
    (whatever the dispersion). ``weights`` (B, U, K); a regime with no weight keeps its
    ``previous`` mean."""
    total = weights.sum(axis=1)
    mean = np.einsum("u,buk->bk", counts.values, weights) / np.maximum(total, 1e-300)
    return np.where(total > 1e-8, np.maximum(mean, MIN_RATE), previous)


def update_log_alpha(
    counts: Counts, weights: np.ndarray, mu: np.ndarray, log_alpha: np.ndarray, steps: int = 4
) -> np.ndarray:
    """A few safeguarded Newton steps in ``log(alpha)`` on the expected complete-data
    log-likelihood ``sum_u sum_k weights[u, k] log NB(values[u]; mu[k], alpha)``; a step
    that does not improve it is halved (up to five times) or dropped."""
    y = counts.values[None, :, None]
    m = mu[:, None, :]

    def objective(la: np.ndarray) -> np.ndarray:
        return np.einsum("buk,buk->b", weights, nb_logpmf(counts.values, mu, la))

    current = objective(log_alpha)
    for _ in range(steps):
        r = np.exp(-log_alpha)[:, None, None]
        d_r = polygamma(0, y + r) - polygamma(0, r) + np.log(r / (r + m)) + (m - y) / (r + m)
        d2_r = polygamma(1, y + r) - polygamma(1, r) + 1 / r - 1 / (r + m) - (m - y) / (r + m) ** 2
        rr = r[:, 0, 0]
        grad = -rr * np.einsum("buk,buk->b", weights, d_r)
        hess = rr * np.einsum("buk,buk->b", weights, d_r) + rr**2 * np.einsum(
            "buk,buk->b", weights, d2_r
        )
        step = np.where(hess < 0, -grad / np.where(hess < 0, hess, -1.0), np.sign(grad))
        step = np.clip(step, -1.0, 1.0)
        accepted = np.zeros_like(log_alpha, dtype=bool)
        for _ in range(6):
            trial = np.clip(log_alpha + step, *LOG_ALPHA_BOUNDS)
            value = objective(trial)
            better = (value >= current) & ~accepted
            log_alpha = np.where(better, trial, log_alpha)
            current = np.where(better, value, current)
            accepted |= better
            if accepted.all():
                break
            step = step / 2
        if np.all(np.abs(grad) < 1e-6):
            break
    return log_alpha


def update_transitions(pairs: np.ndarray, stickiness: float = 0.0) -> np.ndarray:
    """Homogeneous transition matrix (B, K, K) from the expected transition counts, with
    ``TRANSITION_PSEUDO_COUNT`` added to every cell and ``stickiness`` more to each
    regime's stay (the sticky HMM's Dirichlet prior, Fox et al. 2011: the M-step of the
    posterior mode)."""
    n = pairs.sum(axis=1) + TRANSITION_PSEUDO_COUNT
    if stickiness:
        n = n + stickiness * np.eye(n.shape[-1])[None]
    return n / n.sum(axis=2, keepdims=True)


def viterbi(
    probs: np.ndarray, log_top: np.ndarray, gammas: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    """Most likely regime path (T,) of one model (batch of one), by the Viterbi
    recursion in log space (Zucchini et al. 2016, sec. 5.4.2)."""
    _, n, k = probs.shape
    g = np.broadcast_to(gammas, (1, n, k, k))[0]
    with np.errstate(divide="ignore"):
        lp = np.log(probs[0]) + log_top[0, :, None]
        lg = np.log(g)
        score = np.log(delta[0]) + lp[0]
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        cand = score[:, None] + lg[t]
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + lp[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(score.argmax())
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
