"""Scores of one model at one origin, kept so a weekly retrain does not refit them.

A backtest's forecast of a (model, origin) pair is a function of the model's
configuration, the rows known at the origin, the horizon, the number of paths and the
seed (``backtest.origin_seed``); its scores add the truth of the horizon. When none of
these changed, fitting again gives the same numbers. ``fingerprint`` condenses the data
part: every event, statement and observation dated on or before the last day of the
horizon, the series' definition, the truth scored and the code's version. A cached
entry (``CachedScore``) is used only while its fingerprint matches the data now; a
revised count, a late event, a new definition or a new release fits the pair again.

``run_backtest(..., cached=...)`` takes such entries in place of fits and gives the same
``BacktestResult`` scores as a run without them (rows in the same order); the
forecasts themselves are not kept (a retrain drops them after scoring), so the
ensemble, which mixes its members' paths, and series with interval totals (scored on
their intervals across origins) never use the cache. ``new_entries`` extracts the entries of
the pairs a run fitted, for the store (``cadence.store.backtest_cache_repo``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from cadence.experiments.data import SeriesData, period_end, shift_periods

__all__ = [
    "CACHE_VERSION",
    "CachedScore",
    "cacheable",
    "fingerprint",
    "frames_of",
    "new_entries",
    "settings_key",
]

# bump when scoring or any model's fit changes without a new release
CACHE_VERSION: Final = 1
# the code a score came from: the release and CACHE_VERSION
_CODE: Final = f"{importlib.metadata.version('cadence')}.{CACHE_VERSION}"
_ID_COLUMNS: Final = ("model", "origin")


Columns = dict[str, list[Any]]


@dataclass(frozen=True)
class CachedScore:
    """One (model, origin) pair's scores: ``rows`` (``per_origin`` columns without
    ``model`` and ``origin``, as lists), ``totals`` (window length in days -> the same for
    ``total_per_origin``), the fit's ``error`` (None: it fitted) and ``seconds``, and the
    ``fingerprint`` of the data they were computed from."""

    fingerprint: str
    rows: Columns
    totals: Mapping[int, Columns] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    def to_json(self) -> str:
        """Text for the store (NaN kept as JSON ``NaN``, which ``from_json`` reads)."""
        return json.dumps(
            {
                "rows": self.rows,
                "totals": {str(d): f for d, f in self.totals.items()},
                "error": self.error,
                "seconds": self.seconds,
            }
        )

    @classmethod
    def from_json(cls, fp: str, text: str) -> CachedScore:
        raw = json.loads(text)
        return cls(
            fingerprint=fp,
            rows=raw["rows"],
            totals={int(d): f for d, f in raw["totals"].items()},
            error=raw["error"],
            seconds=float(raw["seconds"]),
        )


def frames_of(
    reused: Mapping[tuple[str, pd.Timestamp], CachedScore], like: pd.DataFrame
) -> tuple[pd.DataFrame, dict[int, pd.DataFrame]]:
    """The ``per_origin`` rows and the ``total_per_origin`` rows (by window length) of
    ``reused``, one frame each, with the columns and dtypes of ``like`` (a
    ``per_origin`` frame)."""

    def frame(parts: list[tuple[str, pd.Timestamp, Columns]]) -> pd.DataFrame:
        parts = [p for p in parts if p[2] and len(next(iter(p[2].values())))]
        if not parts:
            return like.iloc[0:0].copy()
        cols: dict[str, list[Any]] = {"model": [], "origin": []}
        for key, origin, rows in parts:
            n = len(next(iter(rows.values())))
            cols["model"].extend([key] * n)
            cols["origin"].extend([origin] * n)
            for c, v in rows.items():
                cols.setdefault(c, []).extend(v)
        out = pd.DataFrame(cols)
        when = pd.DatetimeIndex(out["origin"])
        unit = like["origin"].dtype if "origin" in like else None
        out["origin"] = when.astype(unit) if unit is not None and unit.kind == "M" else when
        for c in out.columns:
            if c == "horizon":
                out[c] = out[c].astype(np.int64)
            elif c not in _ID_COLUMNS:
                out[c] = out[c].astype(float)
        return out[[c for c in like.columns if c in out.columns]]

    rows = frame([(k, o, c.rows) for (k, o), c in reused.items()])
    days = sorted({d for c in reused.values() for d in c.totals})
    totals = {
        d: frame([(k, o, c.totals[d]) for (k, o), c in reused.items() if d in c.totals])
        for d in days
    }
    return rows, totals


def settings_key(horizon: int, n_samples: int, seed: int) -> str:
    """What a cached pair's scores depend on besides the data and the configuration."""
    return f"h={horizon};n={n_samples};seed={seed};v={_CODE}"


def cacheable(data: SeriesData) -> bool:
    """Series scored per period can use the cache; those with interval totals cannot."""
    return not data.has_intervals


def fingerprint(data: SeriesData, origin: pd.Timestamp, horizon: int) -> str:
    """A digest of everything a (model, origin) pair's scores read from ``data`` (see
    the module)."""
    freq = data.frequency
    last = period_end(shift_periods(origin, horizon, freq), freq)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{_CODE}|{data.spec!r}|{origin}|".encode())
    for frame in data.known_on(last):
        if frame is None:
            h.update(b"none|")
            continue
        h.update(f"{len(frame)}:{','.join(map(str, frame.columns))}|".encode())
        if len(frame):
            hashed = pd.util.hash_pandas_object(_same_units(frame), index=False)
            h.update(np.ascontiguousarray(hashed.to_numpy()).tobytes())
    truth = data.truth(origin, horizon)
    h.update(np.ascontiguousarray(truth, dtype=float).tobytes())
    return h.hexdigest()


def _same_units(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its date columns in one unit (a date read at second or nanosecond
    resolution is the same date)."""
    dates = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)]
    if not dates:
        return frame
    return frame.astype({c: "datetime64[ns]" for c in dates})


def new_entries(
    result_per_origin: pd.DataFrame,
    result_totals: Mapping[int, pd.DataFrame],
    fitted: Iterable[tuple[str, pd.Timestamp, str | None, float]],
    fingerprints: Mapping[pd.Timestamp, str],
) -> dict[tuple[str, pd.Timestamp], CachedScore]:
    """``CachedScore`` of each pair of ``fitted`` (model key, origin, error, seconds),
    cut from a backtest's ``per_origin`` and ``total_per_origin``."""
    rows = _by_pair(result_per_origin)
    totals = {d: _by_pair(f) for d, f in result_totals.items()}
    out: dict[tuple[str, pd.Timestamp], CachedScore] = {}
    for key, origin, error, seconds in fitted:
        pair = (key, pd.Timestamp(origin))
        out[pair] = CachedScore(
            fingerprint=fingerprints[pair[1]],
            rows=rows.get(pair, {}),
            totals={d: t[pair] for d, t in totals.items() if pair in t},
            error=error,
            seconds=0.0 if not math.isfinite(seconds) else float(seconds),
        )
    return out


def _by_pair(frame: pd.DataFrame | None) -> dict[tuple[str, pd.Timestamp], Columns]:
    if frame is None or frame.empty:
        return {}
    data = {str(c): frame[c].to_numpy() for c in frame.columns if c not in _ID_COLUMNS}
    out: dict[tuple[str, pd.Timestamp], Columns] = {}
    for (model, origin), idx in frame.groupby(list(_ID_COLUMNS), sort=False).indices.items():
        out[(str(model), pd.Timestamp(origin))] = {c: v[idx].tolist() for c, v in data.items()}
    return out
