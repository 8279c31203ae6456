"""The promotion rule of a retrain, on one backtest (see ``job`` for the whole job).

A candidate is *eligible* when it was scored at every origin and has a lower mean CRPS
than Climatology over the same (origin, horizon) pairs, and (daily series) a lower mean
CRPS of 7-day totals too (it *beats Climatology*). The best eligible candidate (lowest
mean of its daily and 7-day-total CRPS relative to Climatology's; lowest CRPS when no
total is scored) is promoted when there is no champion, or when the 95% bootstrap
interval of its CRPS difference to the champion over origins
(``BacktestResult.crps_difference``) lies below zero. A champion that failed in the
backtest yields to the best eligible candidate. An *unproven* champion (its served
forecasts raised the accuracy alarm) competes as one more candidate, without the
advantage of the interval rule. With no champion and no eligible candidate, Climatology
itself serves, also when nothing could be scored (counts known only as interval totals).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cadence.experiments.backtest import (
    CLIMATOLOGY,
    BacktestResult,
    skill_against_climatology,
)

__all__ = ["Decision", "all_crps", "decide", "decide_unproven", "failure_notes"]


@dataclass(frozen=True)
class Decision:
    """Which configuration serves next and why. ``difference``: (mean, low, high) of
    the CRPS difference candidate - champion when it was computed."""

    chosen: str | None
    promoted: bool
    reason: str
    difference: tuple[float, float, float] | None = None
    eligible: tuple[str, ...] = ()

    def challengers(self, served: str, skip: Collection[str] = ()) -> tuple[str, ...]:
        """Who the ``challenger`` alias may point at, best first: the eligible candidates
        (lowest CRPS first) other than the ``served`` configuration and those in
        ``skip`` (e.g. configurations that could not be refitted)."""
        return tuple(k for k in self.eligible if k != served and k not in skip)


def all_crps(result: BacktestResult) -> dict[str, float]:
    """Each model's mean CRPS over every scored (origin, horizon)."""
    s = result.scores
    if s.empty:
        return {}
    rows = s[s["horizon"].astype(str) == "all"]
    return {str(m): float(v) for m, v in zip(rows["model"], rows["crps"], strict=True)}


def failure_notes(result: BacktestResult) -> list[str]:
    """The backtest's failures and skipped models, one line each."""
    return [f"{m} at {o:%Y-%m-%d}: {r}" for m, o, r in result.failures] + [
        f"{m}: {r}" for m, r in result.skipped.items()
    ]


def _weekly_skill(result: BacktestResult) -> dict[str, float]:
    """``1 - CRPS / CRPS of climatology`` of 7-day totals, over the (origin, window)
    pairs both scored (NaN where none); empty when the backtest scored no 7-day total."""
    po = result.total_per_origin.get(7)
    if po is None:
        return {}
    po = po[np.isfinite(po["crps"].to_numpy(dtype=float))]  # a tally series scores none
    if po.empty or CLIMATOLOGY not in set(po["model"]):
        return {}
    return skill_against_climatology(po, result.models)


class _Standing:
    """How each model of one backtest stands: scored everywhere, beating Climatology."""

    def __init__(self, result: BacktestResult) -> None:
        self.result = result
        self.crps = all_crps(result)
        self.skill = result.skill_vs_climatology()
        self.weekly = _weekly_skill(result)
        # the origins where anything was scored: a tally series has origins whose horizon
        # holds no whole interval, and origins before its first observation where every
        # model fails; nothing can be compared there
        scored = result.per_origin
        if not scored.empty and "crps" in scored:
            scored = scored[np.isfinite(scored["crps"].to_numpy(dtype=float))]
        self.scored: pd.DataFrame | None = None if scored.empty else scored
        self.n_origins = len(result.origins) if self.scored is None else scored["origin"].nunique()
        compared = set(result.origins) if self.scored is None else set(scored["origin"])
        self.failed = {m for m, o, _ in result.failures if o in compared} | set(result.skipped)

    def clean(self, key: str) -> bool:
        s = self.scored
        seen = 0 if s is None else s[s["model"] == key]["origin"].nunique()
        return (
            key in self.result.models
            and key not in self.failed
            and np.isfinite(self.crps.get(key, np.nan))
            and seen == self.n_origins
        )

    def beats_climatology(self, key: str) -> bool:
        # on daily CRPS and, where scored, on the CRPS of 7-day totals
        weekly = self.weekly
        return self.skill.get(key, -1.0) > 0 and (not weekly or weekly.get(key, -1.0) > 0)

    def rank(self, key: str) -> float:
        # the mean of the two relative CRPS (model / climatology) when totals are scored
        if not self.weekly:
            return self.crps[key]
        return 1.0 - 0.5 * (self.skill[key] + self.weekly[key])

    def eligible(self, candidates: Sequence[str]) -> tuple[str, ...]:
        keys = (
            k
            for k in candidates
            if k != CLIMATOLOGY and self.clean(k) and self.beats_climatology(k)
        )
        return tuple(sorted(keys, key=self.rank))


def decide(
    result: BacktestResult,
    candidates: Sequence[str],
    champion: str | None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> Decision:
    """The promotion rule of the module docstring, on one backtest. ``candidates`` and
    ``champion`` are model keys of ``result``."""
    st = _Standing(result)
    eligible = st.eligible(candidates)
    if champion is None:
        return _first_champion(st, eligible)
    if not st.clean(champion):
        return _champion_failed(champion, eligible)
    best = eligible[0] if eligible else None
    if best is None or best == champion:
        why = "no candidate beats climatology" if best is None else "the champion scores best"
        return Decision(champion, False, f"champion {champion} kept: {why}", None, eligible)
    return _challenge(result, best, champion, eligible, n_boot=n_boot, seed=seed)


def _first_champion(st: _Standing, eligible: tuple[str, ...]) -> Decision:
    """No champion yet: the best eligible candidate, else Climatology when it ran."""
    best = eligible[0] if eligible else None
    if best is not None:
        crps, skill, weekly = st.crps, st.skill, st.weekly
        why = (
            f"no champion yet; {best} has the lowest CRPS ({crps[best]:.4g})"
            if not weekly
            else f"no champion yet; {best} ranks best on daily and 7-day-total CRPS "
            f"relative to climatology (daily {crps[best]:.4g}, skill {skill[best]:+.3f}; "
            f"7-day totals skill {weekly[best]:+.3f})"
        )
        return Decision(best, True, f"{why} and beats climatology", None, eligible)
    if st.clean(CLIMATOLOGY):
        return Decision(
            CLIMATOLOGY,
            True,
            "no champion yet and no candidate beats climatology: the baseline serves",
            None,
            eligible,
        )
    if CLIMATOLOGY in st.result.models and CLIMATOLOGY not in st.failed:
        # e.g. counts known only as interval totals leave nothing to score against
        return Decision(
            CLIMATOLOGY,
            True,
            "no champion yet and no model could be scored at every origin: the baseline serves",
            None,
            eligible,
        )
    return Decision(None, False, "no model was scored at every origin", None, eligible)


def _champion_failed(champion: str, eligible: tuple[str, ...]) -> Decision:
    """The champion failed or was not scored at every origin."""
    if eligible:
        best = eligible[0]
        return Decision(
            best,
            True,
            f"champion {champion} failed or was not scored at every origin; "
            f"{best} beats climatology",
            None,
            eligible,
        )
    return Decision(
        champion,
        False,
        f"champion {champion} kept: it failed or was not scored at every origin, and no "
        "candidate beats climatology",
        None,
        eligible,
    )


def _challenge(
    result: BacktestResult,
    best: str,
    champion: str,
    eligible: tuple[str, ...],
    *,
    n_boot: int,
    seed: int,
) -> Decision:
    """``best`` replaces ``champion`` only when the interval of their CRPS difference lies
    below zero."""
    diff = result.crps_difference(best, champion, n_boot=n_boot, seed=seed)
    mean, lo, hi = diff
    if np.isfinite(hi) and hi < 0:
        return Decision(
            best,
            True,
            f"{best} beats champion {champion}: CRPS difference {mean:.4g} "
            f"(95% interval {lo:.4g} .. {hi:.4g})",
            diff,
            eligible,
        )
    # per-origin means can order the two differently from the pooled CRPS that made
    # ``best`` the best candidate: say which case this is
    where = "includes zero" if lo <= 0 else "lies above zero: the champion is better per origin"
    return Decision(
        champion,
        False,
        f"champion {champion} kept: {best} differs by {mean:.4g} CRPS "
        f"(95% interval {lo:.4g} .. {hi:.4g} {where})",
        diff,
        eligible,
    )


def decide_unproven(
    result: BacktestResult,
    candidates: Sequence[str],
    champion: str | None,
    unproven: Sequence[str] = (),
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> Decision:
    """``decide``, with a champion whose served forecasts raised the accuracy alarm
    (``unproven``: the alarm's reasons) competing as one more candidate."""
    if champion is not None and unproven:
        candidates = [*candidates, champion] if champion not in candidates else candidates
        champion = None
    decision = decide(result, candidates, champion, n_boot=n_boot, seed=seed)
    if not unproven:
        return decision
    why = "; ".join(unproven)
    rule = decision.reason.replace("no champion yet", "the champion competing as a candidate")
    return replace(decision, reason=f"champion unproven ({why}): {rule}")
