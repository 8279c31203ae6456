"""Simple level forecasts against the best statsforecast peer, on the peers' origins.

    make bench-setup                                   # statsforecast, for TSB
    python benchmarks/simple_levels.py                 # israel-alerts, horizons 7 and 28

How low can the daily CRPS go with nothing but a level? Each forecast here is a flat
level with negative-binomial days around it, exactly as ``benchmarks/peers.py`` wraps
CrostonOptimized, ADIDA and TSB (``run_peer``: refitted at every origin on the same
panel's counts, NB2 dispersion by moments from the one-step residuals, days
independent, 1,000 paths, scored by ``cadence.experiments.scoring``):

* ``ewma-H``: an exponentially weighted mean of the counts with a half-life of ``H``
  days (3, 7, 14, 28, 56);
* ``mean-W``: the mean of the last ``W`` days (7, 14, 28, 56);
* ``ewma-14-dow``: ``ewma-14`` times day-of-week factors (each weekday's mean ratio of
  the count to its centred 7-day mean, shrunk toward 1 by 20 pseudo-weeks).

Prints each one's daily and 7-day-total CRPS over TSB's (the best peer on the bundled
series). Prints; asserts nothing.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cadence.experiments.backtest import default_origins  # noqa: E402
from cadence.experiments.data import load_series_data  # noqa: E402
from cadence.service.bundled import load_bundled  # noqa: E402
from cadence.service.settings import Settings  # noqa: E402
from cadence.store import migrate  # noqa: E402
from cadence.store.engine import make_engine  # noqa: E402
from peer_paths import DAILY, summarize_views  # noqa: E402
from peers import MISSING, Peer, run_peer, statsforecast_peers  # noqa: E402

# the peers' origins (benchmarks/peers.py on the bundled israel-alerts)
ORIGINS = {7: ("2023-12-24", "2024-06-23"), 28: ("2023-12-24", "2024-06-02")}
DOW_SHRINK = 20.0


class Level:
    """A flat forecast at a level read from the counts, in the statsforecast shape
    ``forecast(y=, h=, fitted=True) -> {"mean", "fitted"}`` that ``run_peer`` wraps
    in negative-binomial days. ``fitted[t]`` uses only ``y[:t]``."""

    def __init__(self, *, half_life: float | None = None, window: int | None = None) -> None:
        self.half_life, self.window = half_life, window

    def _path(self, y: np.ndarray) -> np.ndarray:
        """The level after each day: ``path[t]`` from ``y[: t + 1]``."""
        s = pd.Series(y)
        if self.window is not None:
            return s.rolling(self.window, min_periods=1).mean().to_numpy()
        return s.ewm(halflife=self.half_life, adjust=True).mean().to_numpy()

    def forecast(self, *, y: np.ndarray, h: int, fitted: bool = True) -> dict[str, Any]:
        path = self._path(y)
        prior = np.concatenate([[np.nan], path[:-1]])
        return {"mean": np.full(h, path[-1]), "fitted": prior}


class WeekdayLevel(Level):
    """``Level`` times shrunk day-of-week factors of the history; the day after the
    last count is weekday ``(last + 1) % 7`` where ``last`` is the panel's last day."""

    def __init__(self, last_weekday: dict[int, int], **kw: Any) -> None:
        super().__init__(**kw)
        self.last_weekday = last_weekday  # history length -> weekday of its last day

    def forecast(self, *, y: np.ndarray, h: int, fitted: bool = True) -> dict[str, Any]:
        base = super().forecast(y=y, h=h)
        last = self.last_weekday[len(y)]
        days = (np.arange(len(y)) - (len(y) - 1) + last) % 7
        centred = pd.Series(y).rolling(7, center=True, min_periods=7).mean().to_numpy()
        ok = np.isfinite(centred) & (centred > 0)
        factor = np.ones(7)
        for d in range(7):
            sel = ok & (days == d)
            ratio = y[sel] / centred[sel]
            factor[d] = (ratio.sum() + DOW_SHRINK) / (sel.sum() + DOW_SHRINK)
        factor /= factor.mean()
        ahead = (last + 1 + np.arange(h)) % 7
        return {"mean": base["mean"] * factor[ahead], "fitted": base["fitted"] * factor[days]}


def _ewma(half_life: int) -> Peer:
    return Peer(f"ewma-{half_life}", lambda _m: Level(half_life=half_life), False)


def _mean(window: int) -> Peer:
    return Peer(f"mean-{window}", lambda _m: Level(window=window), False)


def _weekday(weekdays: dict[int, int]) -> Peer:
    return Peer("ewma-14-dow", lambda _m: WeekdayLevel(weekdays, half_life=14), False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", default="israel-alerts")
    p.add_argument("--samples", type=int, default=1000)
    args = p.parse_args()
    try:
        tsb = next(x for x in statsforecast_peers() if x.name == "TSB")
    except ImportError:
        print(MISSING, file=sys.stderr)
        raise SystemExit(2) from None
    with tempfile.TemporaryDirectory(prefix="cadence-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'cadence.db'}")
        migrate.upgrade(engine)
        load_bundled(engine, Settings().data_dir, Path(tmp))
        data = load_series_data(engine, args.series)
        for horizon, (start, end) in ORIGINS.items():
            origins = default_origins(data, start=start, end=end, every="7D", horizon=horizon)
            weekdays = {}
            for o in origins:
                frame = data.panel(o).frame
                weekdays[len(frame)] = int(frame.index[-1].day_of_week)
            levels = [tsb, *(_ewma(h) for h in (3, 7, 14, 28, 56))]
            levels += [_mean(w) for w in (7, 14, 28, 56)]
            levels.append(_weekday(weekdays))
            frames: dict[str, list[pd.DataFrame]] = {}
            for peer in levels:
                out = run_peer(peer, data, origins, horizon, args.samples, seed=0)
                if out.failures:
                    print(f"{peer.name}: {out.failures[:2]}", file=sys.stderr)
                for view, fr in out.frames.items():
                    frames.setdefault(view, []).extend(fr)
            tables = summarize_views(frames)
            day, week = tables[DAILY], tables["total_7"]
            print(
                f"\n{args.series}, horizon {horizon}: {len(origins)} origins "
                f"{origins[0]:%Y-%m-%d} .. {origins[-1]:%Y-%m-%d}"
            )
            print(f"{'level':14s} {'day CRPS':>9s} {'/ TSB':>6s} {'7d CRPS':>9s} {'/ TSB':>6s}")
            for name in day.index:
                d, w = float(day.loc[name, "crps"]), float(week.loc[name, "crps"])
                print(
                    f"{name:14s} {d:9.2f} {d / day.loc['TSB', 'crps']:6.3f} "
                    f"{w:9.1f} {w / week.loc['TSB', 'crps']:6.3f}"
                )


if __name__ == "__main__":
    main()
