"""Features: leak-free panels from events, statements and observations.

Pure functions, DataFrames in and out (no database, tracking or web library). The
public API:

* ``SeriesSpec`` / ``EventFilter`` / ``apply_filter``: series definitions and filters;
* ``event_counts`` / ``observation_counts``: counts per period (intervals kept whole);
* ``build_panel`` -> ``Panel``: one series' panel as of a day, row t from data <= t;
* ``future_frame`` + ``Scenario``: exogenous features after an origin, with
  hypothetical events injected;
* ``build_panels``: ``cnt_`` / ``cal_`` features of many series in one pass;
* ``feature_definitions`` -> ``FeatureDef``: the named, documented feature columns.
"""

from cadence.features.counts import ObservedCounts, event_counts, observation_counts
from cadence.features.definitions import FeatureDef, feature_definitions
from cadence.features.errors import (
    FeatureError,
    InputError,
    IntervalConflictError,
    ScenarioError,
    SpecError,
)
from cadence.features.extent import last_data_day
from cadence.features.future import (
    Scenario,
    ScenarioRetaliation,
    ScenarioStatement,
    future_frame,
)
from cadence.features.many import build_panels
from cadence.features.panel import Panel, build_panel, exogenous_columns
from cadence.features.spec import EventFilter, SeriesSpec, apply_filter

__all__ = [
    "EventFilter",
    "FeatureDef",
    "FeatureError",
    "InputError",
    "IntervalConflictError",
    "ObservedCounts",
    "Panel",
    "Scenario",
    "ScenarioError",
    "ScenarioRetaliation",
    "ScenarioStatement",
    "SeriesSpec",
    "SpecError",
    "apply_filter",
    "build_panel",
    "build_panels",
    "event_counts",
    "exogenous_columns",
    "feature_definitions",
    "future_frame",
    "last_data_day",
    "observation_counts",
]
