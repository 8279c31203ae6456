"""Driver futures: strikes and statements simulated after an origin instead of "none".

The deterministic continuation (``future_frame``) assumes that no strike and no statement
happens after the origin. When they keep coming, a model with a driver effect is biased
by that assumption, and a scenario is measured against a future nobody expects. A
*driver process* is fitted per driver stream (retaliations, statements) on the marks known
at the origin and samples ``k`` futures of dated marks; each future goes through
``future_frame`` (the same path as a scenario's events), so a scenario adds its events
on top of the same simulated futures.

Two processes, both at daily resolution (marks are dated by day):

* ``rate``: the recent rate with its uncertainty. The daily rate of a stream is
  gamma-distributed, combining the last ``RECENT_DAYS`` days known at the origin with a
  prior centred on the rate over the last ``HISTORY_DAYS`` days (worth ``PRIOR_DAYS``
  days of data); each future draws one rate and Poisson counts per day, so its counts are
  negative binomial (the gamma-Poisson mixture; Harvey & Fernandes 1989 use the same
  conjugacy for the level of the target).
* ``self_exciting``: a discrete-time Hawkes process (Mohler et al. 2011; Lewis et al.
  2012): ``lambda_t = mu + alpha * S_t + beta * T_t`` where ``S_t`` is the stream's own
  past events and ``T_t`` the past ``log1p`` target counts (attacks provoke strikes), both
  through the normalized exponential kernel ``g(d) = (1 - r) r^(d-1)``, ``r = 2^(-1/h)``,
  with the half-life ``h`` picked from ``HALF_LIVES`` by likelihood. Parameters are fitted
  by Poisson maximum likelihood over the last ``HISTORY_DAYS`` days. After the origin the
  stream excites itself through its simulated events; the target's excitation is what
  the counts known at the origin leave (the target's own future is the model's to draw,
  so it cannot feed back here without changing every model).

The fitted history is the last ``HISTORY_DAYS`` days, or less when the stream's first
known event is later (then it starts there, but never less than ``RECENT_DAYS`` days):
the stream has no record before its first event.

Marks of simulated events (a strike's severity weight, a statement's stance and
intensity) are drawn from the last ``MARK_POOL`` marks known at the origin (an
unremarkable strike, weight 1, or a neutral statement when there are none).

Nothing dated after the origin's last known day is read: every function takes the
marks and target counts known then, and checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special

from cadence.features.drivers import RetaliationMarks, StatementMarks
from cadence.features.errors import InputError
from cadence.features.future import Scenario, future_frame, horizon_days
from cadence.features.panel import driver_marks
from cadence.features.spec import SeriesSpec

__all__ = [
    "HALF_LIVES",
    "PROCESSES",
    "DriverFutures",
    "DriverProcess",
    "ProcessName",
    "StreamFit",
    "driver_futures",
    "fit_driver_process",
    "fit_stream",
    "predictive_log_score",
]

ProcessName = Literal["rate", "self_exciting"]
PROCESSES: tuple[ProcessName, ...] = ("rate", "self_exciting")
RECENT_DAYS = 28
HISTORY_DAYS = 365
PRIOR_DAYS = 28
HALF_LIVES = (1.0, 3.0, 7.0, 14.0)
MARK_POOL = 20
_MAX_BRANCHING = 0.95


@dataclass(frozen=True)
class StreamFit:
    """One driver stream fitted at an origin.

    ``known_until``: the last day (days since 1970-01-01) whose marks were used.
    ``rate``: the mean daily rate at the origin. ``rate`` process: the gamma posterior of
    the daily rate is ``shape`` / ``rate_param`` (shape, rate). ``self_exciting``: ``mu``
    (background per day), ``alpha`` (expected events each event triggers), ``beta``
    (events per day per unit ``log1p`` target count in the kernel), ``half_life`` (days);
    ``self_state`` and ``target_state`` are the kernel sums carried past the origin
    (``target_tail``: the target's excitation on each later day). ``loglik``: the
    in-sample Poisson log-likelihood per day over ``days`` fitted days with ``events``
    events.
    """

    stream: str
    process: ProcessName
    known_until: int
    days: int
    events: int
    rate: float
    loglik: float
    shape: float = 0.0
    rate_param: float = 1.0
    mu: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    half_life: float = 1.0
    self_state: float = 0.0
    target_tail: tuple[float, ...] = ()

    def summary(self) -> dict[str, object]:
        """The fit as plain JSON numbers."""
        out: dict[str, object] = {
            "process": self.process,
            "days": self.days,
            "events": self.events,
            "rate_per_day": round(self.rate, 6),
            "loglik_per_day": round(self.loglik, 6),
        }
        if self.process == "self_exciting":
            out.update(
                mu=round(self.mu, 6),
                alpha=round(self.alpha, 6),
                beta=round(self.beta, 6),
                half_life=self.half_life,
            )
        return out

    def sample_counts(self, days: int, k: int, rng: np.random.Generator) -> np.ndarray:
        """Event counts on each of the ``days`` days after ``known_until`` for ``k``
        futures, int64 ``(k, days)``."""
        return self.simulate(days, k, rng)[0]

    def simulate(
        self, days: int, k: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Counts and intensities ``(k, days)`` of ``k`` futures."""
        if self.process == "rate":
            lam = rng.gamma(self.shape, 1.0 / self.rate_param, size=k)
            intensity = np.repeat(lam[:, None], days, axis=1)
            return rng.poisson(intensity).astype(np.int64), intensity
        r = _decay(self.half_life)
        tail = np.zeros(days)
        n_tail = min(days, len(self.target_tail))
        tail[:n_tail] = self.target_tail[:n_tail]
        counts = np.zeros((k, days), dtype=np.int64)
        intensity = np.zeros((k, days))
        state = np.full(k, self.self_state)  # kernel sum of own events for the next day
        for t in range(days):
            lam = self.mu + self.alpha * state + self.beta * tail[t]
            n = rng.poisson(lam)
            counts[:, t], intensity[:, t] = n, lam
            state = r * state + (1.0 - r) * n
        return counts, intensity


def _decay(half_life: float) -> float:
    return float(2.0 ** (-1.0 / half_life))


def _kernel_sums(x: np.ndarray, r: float) -> np.ndarray:
    """``s_t = sum_{s<t} (1-r) r^(t-s-1) x_s`` for t = 0..len(x) (one more than x)."""
    out = np.zeros(len(x) + 1)
    for t, v in enumerate(x):
        out[t + 1] = r * out[t] + (1.0 - r) * v
    return out


def _daily(days: np.ndarray, first: int, last: int) -> np.ndarray:
    keep = (days >= first) & (days <= last)
    return np.bincount(days[keep] - first, minlength=last - first + 1).astype(np.float64)


def _poisson_ll(y: np.ndarray, lam: np.ndarray) -> float:
    lam = np.maximum(lam, 1e-12)
    return float(np.sum(y * np.log(lam) - lam - special.gammaln(y + 1.0)))


def fit_stream(
    stream: str,
    days: np.ndarray,
    known_until: int,
    *,
    process: ProcessName = "rate",
    target: np.ndarray | None = None,
    horizon_days: int = 0,
) -> StreamFit:
    """Fit ``process`` to the event ``days`` of one stream known on ``known_until``.

    ``target``: daily target counts of the days ending on ``known_until`` (last element =
    that day; NaN counts as 0), used by ``self_exciting`` only. ``horizon_days``: how many
    days after the origin the target's decaying excitation is carried (``target_tail``).
    Raises ``InputError`` when ``days`` holds a day after ``known_until``.
    """
    days = np.asarray(days, dtype=np.int64)
    if days.size and int(days.max()) > known_until:
        raise InputError(
            f"{stream}: a mark dated after the origin's last known day "
            f"{np.datetime64(known_until, 'D')} reached the driver fit"
        )
    if process not in PROCESSES:
        raise InputError(f"driver process: expected one of {', '.join(PROCESSES)}, got {process!r}")
    first = known_until - HISTORY_DAYS + 1
    if days.size:
        first = max(first, min(int(days.min()), known_until - RECENT_DAYS + 1))
    y = _daily(days, first, known_until)
    n_days = len(y)
    long_rate = float(y.sum()) / n_days
    if process == "rate":
        recent = y[-RECENT_DAYS:]
        shape = long_rate * PRIOR_DAYS + float(recent.sum())
        rate_param = PRIOR_DAYS + len(recent)
        shape = max(shape, 1e-3)  # no event at all: a rate near zero, not exactly zero
        mean = shape / rate_param
        return StreamFit(
            stream,
            "rate",
            known_until,
            n_days,
            int(y.sum()),
            mean,
            _poisson_ll(y, np.full(n_days, max(long_rate, 1e-12))) / n_days,
            shape=shape,
            rate_param=float(rate_param),
        )
    tgt = np.zeros(n_days)
    if target is not None:
        t = np.nan_to_num(np.asarray(target, dtype=np.float64)[-n_days:], nan=0.0)
        tgt[n_days - len(t) :] = np.log1p(np.maximum(t, 0.0))
    best: StreamFit | None = None
    for h in HALF_LIVES:
        r = _decay(h)
        s = _kernel_sums(y, r)
        tt = _kernel_sums(tgt, r)
        fit = _fit_hawkes(y, s[:-1], tt[:-1], long_rate)
        if best is None or fit[3] > best.loglik * n_days:
            tail = tt[-1] * r ** np.arange(horizon_days)
            mu, alpha, beta, ll = fit
            best = StreamFit(
                stream,
                "self_exciting",
                known_until,
                n_days,
                int(y.sum()),
                float(mu + alpha * s[-1] + beta * tt[-1]),
                ll / n_days,
                mu=mu,
                alpha=alpha,
                beta=beta,
                half_life=h,
                self_state=float(s[-1]),
                target_tail=tuple(float(v) for v in tail),
            )
    assert best is not None
    return best


def _fit_hawkes(
    y: np.ndarray, s: np.ndarray, tt: np.ndarray, long_rate: float
) -> tuple[float, float, float, float]:
    """Poisson MLE of ``lambda = mu + alpha s + beta tt``: (mu, alpha, beta, loglik)."""
    gl = special.gammaln(y + 1.0).sum()

    def unpack(p: np.ndarray) -> tuple[float, float, float]:
        return (
            float(np.exp(p[0])),
            float(_MAX_BRANCHING * special.expit(p[1])),
            float(np.exp(p[2])),
        )

    def nll(p: np.ndarray) -> float:
        mu, a, b = unpack(p)
        lam = np.maximum(mu + a * s + b * tt, 1e-12)
        return float(-(np.sum(y * np.log(lam)) - lam.sum() - gl))

    start = np.array([math.log(max(long_rate, 1e-4)), -2.0, math.log(1e-4)])
    res = optimize.minimize(nll, start, method="Nelder-Mead", options={"maxiter": 600})
    mu, a, b = unpack(res.x)
    return mu, a, b, -float(res.fun)


def predictive_log_score(
    fit: StreamFit, actual: np.ndarray, *, k: int = 500, seed: int = 0
) -> float:
    """Log predictive density of the daily counts ``actual`` after the origin, summed over
    days: ``sum_t log mean_paths Poisson(actual_t | lambda_path,t)`` (the marginal of
    each day, estimated from ``k`` simulated futures). Higher is better."""
    y = np.asarray(actual, dtype=np.float64)
    _, lam = fit.simulate(len(y), k, np.random.default_rng(seed))
    lam = np.maximum(lam, 1e-12)
    logp = y * np.log(lam) - lam - special.gammaln(y + 1.0)
    return float(np.sum(special.logsumexp(logp, axis=0) - math.log(k)))


@dataclass(frozen=True)
class DriverProcess:
    """The fitted streams of a series (None for a driver it does not have), the last
    day they know (``known_until``) and the mark pools simulated events draw from."""

    known_until: int
    retaliation: StreamFit | None
    statements: StreamFit | None
    weights: np.ndarray
    stances: np.ndarray
    intensities: np.ndarray

    def summary(self) -> dict[str, object]:
        return {
            name: fit.summary()
            for name, fit in (("retaliation", self.retaliation), ("statements", self.statements))
            if fit is not None
        }

    def sample(
        self, days: int, k: int, rng: np.random.Generator
    ) -> list[tuple[RetaliationMarks, StatementMarks]]:
        """``k`` futures of marks on the ``days`` days after the origin."""
        out = []
        r_counts = (
            self.retaliation.sample_counts(days, k, rng)
            if self.retaliation is not None
            else np.zeros((k, days), dtype=np.int64)
        )
        s_counts = (
            self.statements.sample_counts(days, k, rng)
            if self.statements is not None
            else np.zeros((k, days), dtype=np.int64)
        )
        offsets = np.arange(days, dtype=np.int64) + self.known_until + 1
        for i in range(k):
            r_days = np.repeat(offsets, r_counts[i])
            pick = rng.integers(0, len(self.weights), size=r_days.size)
            s_days = np.repeat(offsets, s_counts[i])
            spick = rng.integers(0, len(self.stances), size=s_days.size)
            out.append(
                (
                    RetaliationMarks(r_days, self.weights[pick]),
                    StatementMarks(s_days, self.stances[spick], self.intensities[spick]),
                )
            )
        return out


def fit_driver_process(
    ret: RetaliationMarks | None,
    stm: StatementMarks | None,
    known_until: int,
    *,
    process: ProcessName = "rate",
    target: np.ndarray | None = None,
    horizon_days: int = 0,
) -> DriverProcess:
    """Fit each stream the series has (``ret`` / ``stm`` None: it has not that driver)
    on marks dated on or before ``known_until``; see ``fit_stream``."""

    def fit(name: str, days: np.ndarray) -> StreamFit:
        return fit_stream(
            name, days, known_until, process=process, target=target, horizon_days=horizon_days
        )

    weights = np.array([1.0])
    stances = np.array([0], dtype=np.int64)
    intensities = np.array([1.0])
    r_fit = s_fit = None
    if ret is not None:
        r_fit = fit("retaliation", ret.days)
        if ret.days.size:
            order = np.argsort(ret.days, kind="stable")[-MARK_POOL:]
            weights = ret.weights[order]
    if stm is not None:
        s_fit = fit("statements", stm.days)
        if stm.days.size:
            order = np.argsort(stm.days, kind="stable")[-MARK_POOL:]
            stances, intensities = stm.stance[order], stm.intensity[order]
    return DriverProcess(known_until, r_fit, s_fit, weights, stances, intensities)


@dataclass(frozen=True)
class DriverFutures:
    """``k`` exogenous future frames, each with its own simulated strikes and statements
    (plus a scenario's events when one was given), and the process that drew them."""

    frames: list[pd.DataFrame]
    process: DriverProcess


def driver_futures(
    spec: SeriesSpec,
    events: pd.DataFrame | None,
    statements: pd.DataFrame | None,
    *,
    origin: object,
    horizon: int,
    k: int,
    rng: np.random.Generator,
    process: ProcessName = "rate",
    target: np.ndarray | None = None,
    scenario: Scenario | None = None,
) -> DriverFutures:
    """Fit the driver process of ``spec`` on the marks known at the end of period
    ``origin`` and build ``k`` future frames (``future_frame`` with ``simulated``).

    ``target``: the daily target counts ending on the origin's last day (daily series;
    read by ``self_exciting`` only). The futures depend only on the known marks,
    ``target``, ``horizon``, ``k`` and ``rng``: a scenario's events are added on top of
    the same futures, so with the same ``rng`` state the baseline and the scenario share
    them.
    """
    if k < 1:
        raise InputError(f"driver futures: expected k >= 1, got {k}")
    _, known_until, horizon_end = horizon_days(spec, origin, horizon)
    ret, stm = driver_marks(spec, events, statements, known_until)
    days = horizon_end - known_until
    fitted = fit_driver_process(
        ret if spec.retaliation is not None else None,
        stm if spec.statements is not None else None,
        known_until,
        process=process,
        target=target if spec.frequency == "D" else None,
        horizon_days=days,
    )
    frames = [
        future_frame(
            spec,
            events,
            statements,
            origin=origin,
            horizon=horizon,
            scenario=scenario,
            simulated=marks,
        )
        for marks in fitted.sample(days, k, rng)
    ]
    return DriverFutures(frames, fitted)
