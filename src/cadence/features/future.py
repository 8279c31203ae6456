"""The future side: exogenous features for the periods after an origin.

``future_frame`` continues every exogenous feature deterministically (decays keep
decaying, "periods since" keeps counting, windows roll off, the pause stays as it was)
and injects a ``Scenario``'s hypothetical events. It runs the same code as
``build_panel`` on a grid extended past the origin, so without a scenario the row for
origin + h equals the row of the panel built at the end of period origin + h had nothing
new happened (a property the tests check).

The origin is a period label: the last observed period (``Panel.origin``). Events and
statements dated after the origin period's last day are ignored: they were not known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cadence.columns import STANCES, Stance
from cadence.features.drivers import (
    RetaliationMarks,
    StatementMarks,
    severity_weight,
    stance_codes,
)
from cadence.features.errors import InputError, ScenarioError
from cadence.features.panel import driver_marks, exogenous_features
from cadence.features.periods import day_of, first_day, period_index, to_ordinals
from cadence.features.spec import SeriesSpec

__all__ = [
    "Scenario",
    "ScenarioRetaliation",
    "ScenarioStatement",
    "future_frame",
    "horizon_days",
]


@dataclass(frozen=True)
class ScenarioRetaliation:
    """A hypothetical retaliation on ``date``; weighs ``1 + ln(1 + fatalities) + severity``."""

    date: pd.Timestamp
    severity: float = 0.0
    fatalities: float = 0.0


@dataclass(frozen=True)
class ScenarioStatement:
    """A hypothetical statement of ``stance`` on ``date`` with ``intensity`` (default 1)."""

    date: pd.Timestamp
    stance: Stance
    intensity: float = 1.0


@dataclass(frozen=True)
class Scenario:
    """Hypothetical future events injected into the deterministic continuation.

    Build with ``Scenario().with_retaliation("2024-02-03", severity=2)`` and
    ``.with_statement("2024-02-05", "de-escalation")``; each returns a new scenario.
    """

    retaliations: tuple[ScenarioRetaliation, ...] = ()
    statements: tuple[ScenarioStatement, ...] = ()

    def with_retaliation(
        self, date: object, *, severity: float = 0.0, fatalities: float = 0.0
    ) -> Scenario:
        event = ScenarioRetaliation(_timestamp(date), float(severity), float(fatalities))
        return replace(self, retaliations=(*self.retaliations, event))

    def with_statement(self, date: object, stance: Stance, *, intensity: float = 1.0) -> Scenario:
        event = ScenarioStatement(_timestamp(date), stance, float(intensity))
        return replace(self, statements=(*self.statements, event))

    def marks(self, first_day: int, last_day: int) -> tuple[RetaliationMarks, StatementMarks]:
        """Marks of the scenario's events; each must lie in days ``first_day..last_day``."""
        r_days = np.array(
            [_day_in(e.date, first_day, last_day) for e in self.retaliations], dtype=np.int64
        )
        sev = np.array([e.severity for e in self.retaliations], dtype=np.float64)
        fat = np.array([e.fatalities for e in self.retaliations], dtype=np.float64)
        if (sev < 0).any() or (fat < 0).any() or not np.isfinite(sev).all():
            raise ScenarioError("scenario retaliation: expected severity and fatalities >= 0")
        s_days = np.array(
            [_day_in(e.date, first_day, last_day) for e in self.statements], dtype=np.int64
        )
        for e in self.statements:
            if e.stance not in STANCES:
                raise ScenarioError(
                    f"scenario statement on {e.date:%Y-%m-%d}: expected a stance in "
                    f"{', '.join(STANCES)}, got {e.stance!r}"
                )
        stance = stance_codes(
            pd.Series([e.stance for e in self.statements], dtype=object), "scenario statements"
        )
        intensity = np.array([e.intensity for e in self.statements], dtype=np.float64)
        if (intensity < 0).any() or not np.isfinite(intensity).all():
            raise ScenarioError("scenario statement: expected intensity >= 0")
        return (
            RetaliationMarks(r_days, severity_weight(fat, sev)),
            StatementMarks(s_days, stance, intensity),
        )


def _timestamp(value: object) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ScenarioError(f"scenario date: expected a date, got {value!r}") from exc
    if ts is pd.NaT:
        raise ScenarioError(f"scenario date: expected a date, got {value!r}")
    return ts.normalize()


def _day_in(date: pd.Timestamp, lo: int, hi: int) -> int:
    day = day_of(date, "scenario date")
    if not lo <= day <= hi:
        raise ScenarioError(
            f"scenario event on {date:%Y-%m-%d}: expected a date in the horizon "
            f"{np.datetime64(lo, 'D')} .. {np.datetime64(hi, 'D')}"
        )
    return day


def horizon_days(spec: SeriesSpec, origin: object, horizon: int) -> tuple[int, int, int]:
    """(ordinal of the origin period, its last day, the horizon's last day); days are
    days since 1970-01-01. Raises ``InputError`` if ``origin`` is not a period label or
    ``horizon < 1``."""
    freq = spec.frequency
    if not isinstance(horizon, int | np.integer) or isinstance(horizon, bool) or horizon < 1:
        raise InputError(f"horizon: expected an integer >= 1, got {horizon!r}")
    origin_day = day_of(origin, "origin")
    o = int(to_ordinals(np.array([origin_day]), freq)[0])
    if int(first_day(np.array([o]), freq)[0]) != origin_day:
        raise InputError(
            f"origin: expected the first day of a period ({freq}), "
            f"got {np.datetime64(origin_day, 'D')}"
        )
    known_until = int(first_day(np.array([o + 1]), freq)[0]) - 1
    horizon_end = int(first_day(np.array([o + int(horizon) + 1]), freq)[0]) - 1
    return o, known_until, horizon_end


def future_frame(
    spec: SeriesSpec,
    events: pd.DataFrame | None,
    statements: pd.DataFrame | None,
    *,
    origin: object,
    horizon: int,
    scenario: Scenario | None = None,
    simulated: tuple[RetaliationMarks, StatementMarks] | None = None,
) -> pd.DataFrame:
    """Exogenous columns (``ret_``, ``stm_``, ``cal_``) for the ``horizon`` periods after
    ``origin``, indexed by their period labels (``date``, regular ``freq``).

    ``simulated``: marks of simulated driver events after the origin (one driver future,
    ``cadence.features.driver_process``), injected like a scenario's events; the
    scenario's events come on top. Columns and their order match ``Panel.exogenous`` of
    the same series. Raises
    ``InputError`` if ``origin`` is not a period label or ``horizon < 1``, and
    ``ScenarioError`` for scenario events outside the horizon or for a driver the series
    does not have.
    """
    freq = spec.frequency
    o, known_until, horizon_end = horizon_days(spec, origin, horizon)
    horizon = int(horizon)
    ret, stm = driver_marks(spec, events, statements, known_until)
    if simulated is not None:
        for days in (simulated[0].days, simulated[1].days):
            if days.size and (int(days.min()) <= known_until or int(days.max()) > horizon_end):
                raise InputError("simulated driver events: expected days inside the horizon")
        ret, stm = ret + simulated[0], stm + simulated[1]
    if scenario is not None:
        if scenario.retaliations and spec.retaliation is None:
            raise ScenarioError(f"series {spec.name!r} has no retaliation driver")
        if scenario.statements and spec.statements is None:
            raise ScenarioError(f"series {spec.name!r} has no statement driver")
        extra_ret, extra_stm = scenario.marks(known_until + 1, horizon_end)
        ret, stm = ret + extra_ret, stm + extra_stm
    index = period_index(o + 1, o + horizon, freq)
    columns = exogenous_features(spec, ret, stm, o + 1, o + horizon, index)
    return pd.DataFrame(columns, index=index)
