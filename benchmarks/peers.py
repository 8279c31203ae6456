"""statsforecast peers against Cadence's models on the same rolling origins.

    pip install -c constraints.txt -e '.[bench]'      # or: make bench-setup (see below)
    python benchmarks/peers.py                         # israel-alerts, horizons 7 and 28
    python benchmarks/peers.py --start 2023-12-24 --end 2024-06-02 --json peers.json
    python benchmarks/peers.py --horizon 28 --models negbin_glm,ingarch

1. Loads the bundled data into a temporary SQLite database (as ``cadence run`` does).
2. For each ``--horizon`` (default 7 and 28): the origins ``cadence backtest`` would use
   with the same ``--start/--end/--every/--horizon`` (``default_origins``), and the
   models it would run for ``--models`` (``all`` by default: every registered model,
   whatever the registry holds when this runs, plus Climatology), backtested by
   ``run_backtest`` itself with the same ``--samples`` and ``--seed``.
3. The peers, refitted at every origin on the count column of the same panel the
   backtest fits on (``SeriesData.panel`` as of the origin's last day; counts only, no
   drivers), each drawing ``--samples`` integer paths over the horizon:

   * AutoETS (season length 7 for a daily series) and AutoARIMA (the same season
     length): statsforecast's own ``simulate()`` of the selected model (its fitted
     error distribution, Gaussian by default), rounded to integers and clipped at 0.
   * CrostonOptimized, ADIDA and TSB (``alpha_d = alpha_p = 0.1``): their flat point
     forecast as the mean of a negative binomial whose NB2 dispersion is estimated by
     the method of moments from their in-sample one-step residuals; days independent.

4. Every forecast, Cadence's and the peers', is scored by the same functions of
   ``cadence.experiments.scoring`` (``score_paths``, ``window_totals``, ``summarize``):
   daily CRPS and 80% coverage, and CRPS and 80% coverage of totals over consecutive
   non-overlapping 7-, 14- and 28-day windows that fit in the horizon. The script checks
   that its daily and 7-day scores of the Cadence models equal the backtest's own.
5. Prints one table per horizon, then for each view the ratio of the best Cadence CRPS
   to the best peer CRPS with the models' names and a 95% moving-block bootstrap
   interval over origins, against the target of 0.90 or less. Only models scored at
   every origin compete for "best".
6. A reference row, ``hindsight-oracle`` (not a forecast, never "best"): negative-binomial
   days around the TRUE mean of each horizon (``run_oracle``), and its CRPS over the
   best peer's. It knows the coming level exactly and nothing of the day-to-day bursts,
   so its daily ratio is about as low as a forecast of the level can go. A second one,
   ``hindsight-oracle-tuned`` (``run_tuned_oracle``), also takes its NB2 dispersion in
   hindsight: the one of a grid that gives the lowest daily CRPS on the days scored.

statsforecast 2.1.1 declares ``pandas<3`` while Cadence runs on pandas 3; its model
classes run on numpy arrays and work here, so ``make bench-setup`` installs its other
dependencies from the ``bench`` extra and statsforecast itself without dependencies.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, cast  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cadence.columns import COUNT  # noqa: E402
from cadence.experiments.backtest import (  # noqa: E402
    BacktestResult,
    ModelConfig,
    default_origins,
    horizon_block,
    origin_seed,
    run_backtest,
)
from cadence.experiments.data import (  # noqa: E402
    SeriesData,
    load_series_data,
    period_end,
)
from cadence.experiments.errors import ExperimentError  # noqa: E402
from cadence.service.bundled import load_bundled  # noqa: E402
from cadence.service.settings import Settings  # noqa: E402
from cadence.store import migrate  # noqa: E402
from cadence.store.engine import make_engine  # noqa: E402
from peer_paths import (  # noqa: E402
    DAILY,
    count_paths,
    nb2_dispersion,
    nb_paths,
    origin_crps,
    ratio_interval,
    score_forecast,
    summarize_views,
    views,
)

TARGET = 0.90
SEASON = {"D": 7, "W": 52, "M": 12}
MISSING = (
    "statsforecast is not installed. Install the benchmark extra with\n"
    "    make bench-setup\n"
    "or, in your environment:\n"
    "    pip install -c constraints.txt -e '.[bench]'\n"
    "    pip install -c constraints.txt --no-deps statsforecast==2.1.1\n"
    "(statsforecast declares pandas<3; its models work on Cadence's pandas 3)."
)


@dataclass(frozen=True)
class Peer:
    """A statsforecast model: ``make(season_length)`` builds it unfitted; ``simulate``
    peers draw paths with statsforecast's ``simulate()``, the others get negative-binomial
    paths around their point forecast."""

    name: str
    make: Callable[[int], Any]
    simulate: bool


def statsforecast_peers() -> list[Peer]:
    from statsforecast.models import ADIDA, TSB, AutoARIMA, AutoETS, CrostonOptimized

    return [
        Peer("AutoETS", lambda m: AutoETS(season_length=m), True),
        Peer("AutoARIMA", lambda m: AutoARIMA(season_length=m), True),
        Peer("CrostonOptimized", lambda m: CrostonOptimized(), False),
        Peer("ADIDA", lambda m: ADIDA(), False),
        Peer("TSB", lambda m: TSB(alpha_d=0.1, alpha_p=0.1), False),
    ]


def peer_samples(
    peer: Peer, y: np.ndarray, steps: int, season: int, n_paths: int, seed: int
) -> tuple[np.ndarray, dict[str, float]]:
    """``(n_paths, steps)`` integer paths of ``peer`` fitted on ``y``, and facts about
    the fit (the NB dispersion of the point-forecast peers)."""
    model = peer.make(season)
    if peer.simulate:
        model.fit(y)
        sims = model.simulate(h=steps, n_paths=n_paths, seed=seed % 2**32)
        return count_paths(sims), {}
    res = model.forecast(y=y, h=steps, fitted=True)
    alpha = nb2_dispersion(y, res["fitted"])
    rng = np.random.default_rng(seed)
    return nb_paths(res["mean"], alpha, n_paths, rng), {"alpha": alpha}


@dataclass
class Outcome:
    """Scores and bookkeeping of one model (Cadence's or a peer) over the origins."""

    side: str
    frames: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, scores: dict[str, pd.DataFrame]) -> None:
        for view, frame in scores.items():
            self.frames.setdefault(view, []).append(frame)


def run_peer(
    peer: Peer,
    data: SeriesData,
    origins: Sequence[pd.Timestamp],
    horizon: int,
    n_paths: int,
    seed: int,
) -> Outcome:
    """``peer`` refitted at every origin on the counts of the backtest's panel."""
    freq = data.frequency
    out = Outcome("peer")
    for o in origins:
        t0 = time.perf_counter()
        try:
            panel = data.panel(period_end(o, freq))
            y = panel.frame[COUNT].to_numpy(dtype=float)
            if not np.isfinite(y).all():
                raise ValueError(
                    f"{int((~np.isfinite(y)).sum())} period(s) without a count before the origin"
                )
            gap = len(pd.date_range(panel.origin, o, freq=panel.frame.index.freq)) - 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                samples, _ = peer_samples(
                    peer,
                    y,
                    horizon + gap,
                    SEASON[freq],
                    n_paths,
                    origin_seed(seed, peer.name, o),
                )
            out.add(
                score_forecast(
                    peer.name,
                    o,
                    samples[:, gap:],
                    data.truth(o, horizon),
                    seed=seed,
                    daily=freq == "D",
                )
            )
        except Exception as exc:  # a peer failing at one origin must not hide the rest
            out.failures.append(f"{o:%Y-%m-%d}: {type(exc).__name__}: {exc}")
        out.seconds += time.perf_counter() - t0
    return out


ORACLE = "hindsight-oracle"
ORACLE_TUNED = "hindsight-oracle-tuned"
# NB2 dispersions the tuned oracle tries (log-spaced); it keeps the lowest daily CRPS.
TUNED_ALPHAS = tuple(float(a) for a in np.geomspace(0.05, 5.0, 15))


def run_oracle(
    data: SeriesData,
    origins: Sequence[pd.Timestamp],
    horizon: int,
    n_paths: int,
    seed: int,
    *,
    alpha: float | None = None,
    name: str = ORACLE,
) -> Outcome:
    """A reference, not a forecast: at each origin, every period of the horizon gets a
    negative binomial around the TRUE mean count of the horizon's periods (known only
    in hindsight); days independent. Its NB2 dispersion is ``alpha`` when given, else
    the history's around its own centred rolling mean of the same length (the same
    knowledge of the level, in-sample). It knows the coming level and nothing of the
    day-to-day bursts, so its CRPS says how much of a model's error no forecast of the
    level can remove."""
    freq = data.frequency
    out = Outcome("oracle")
    for o in origins:
        t0 = time.perf_counter()
        truth = np.asarray(data.truth(o, horizon), dtype=float)
        known = truth[np.isfinite(truth)]
        if not known.size:
            out.failures.append(f"{o:%Y-%m-%d}: no truth after the origin")
            continue
        a = alpha
        if a is None:
            y = data.panel(period_end(o, freq)).frame[COUNT].to_numpy(dtype=float)
            level = pd.Series(y).rolling(horizon, center=True, min_periods=1).mean().to_numpy()
            a = nb2_dispersion(y, level)
        rng = np.random.default_rng(origin_seed(seed, name, o))
        samples = nb_paths(np.full(horizon, known.mean()), a, n_paths, rng)
        out.add(score_forecast(name, o, samples, truth, seed=seed, daily=freq == "D"))
        out.seconds += time.perf_counter() - t0
    return out


def run_tuned_oracle(
    data: SeriesData,
    origins: Sequence[pd.Timestamp],
    horizon: int,
    n_paths: int,
    seed: int,
) -> tuple[Outcome, float]:
    """The hindsight oracle with one NB2 dispersion for every origin, the one of
    ``TUNED_ALPHAS`` whose daily CRPS over these origins is lowest (chosen on the very
    days it is scored on). With the level known and the dispersion tuned on the answers,
    it bounds what negative-binomial days around a constant level can reach; returns the
    outcome and the dispersion kept."""
    best: tuple[float, Outcome, float] | None = None
    for alpha in TUNED_ALPHAS:
        out = run_oracle(data, origins, horizon, n_paths, seed, alpha=alpha, name=ORACLE_TUNED)
        days = out.frames.get(DAILY)
        crps = float(pd.concat(days)["crps"].mean()) if days else math.inf
        if best is None or crps < best[0]:
            best = (crps, out, alpha)
    assert best is not None
    return best[1], best[2]


def cadence_outcomes(result: BacktestResult, seed: int, daily: bool) -> dict[str, Outcome]:
    """The backtest's forecasts rescored here by the same code as the peers."""
    out = {m: Outcome("cadence") for m in result.models}
    for f in result.forecasts:
        o = out[f.model]
        o.seconds += f.seconds
        if f.forecast is None:
            o.failures.append(f"{f.origin:%Y-%m-%d}: {f.error}")
            continue
        o.add(
            score_forecast(f.model, f.origin, f.forecast.samples, f.truth, seed=seed, daily=daily)
        )
    return out


def check_same_scores(result: BacktestResult, tables: dict[str, pd.DataFrame]) -> bool:
    """Whether the daily and 7-day-total CRPS recomputed here equal the backtest's."""
    pairs = [(result.scores, tables.get(DAILY)), (result.window_scores, tables.get("total_7"))]
    for own, mine in pairs:
        if mine is None or own.empty:
            continue
        ref = own[own["horizon"].astype(str) == "all"].set_index("model")["crps"]
        common = [m for m in ref.index if m in mine.index]
        a = ref.loc[common].to_numpy(dtype=float)
        b = mine.loc[common, "crps"].to_numpy(dtype=float)
        if not np.allclose(a, b, equal_nan=True):
            return False
    return True


# --- tables and ratios ------------------------------------------------------------------------


def _fmt(x: float, digits: int = 2) -> str:
    return "-" if not math.isfinite(x) else f"{x:.{digits}f}"


def _cell(tables: dict[str, pd.DataFrame], view: str, model: str, metric: str) -> float:
    t = tables.get(view)
    if t is None or model not in t.index:
        return float("nan")
    return float(t.loc[model, metric])


def complete(tables: dict[str, pd.DataFrame], view: str, models: Sequence[str]) -> list[str]:
    """Models scored on as many rows as the most-scored model of ``view`` (every
    origin): only these compete for "best", so no one wins by skipping hard origins."""
    t = tables.get(view)
    if t is None:
        return []
    n = {m: int(t.loc[m, "n"]) for m in models if m in t.index}
    top = max(n.values(), default=0)
    return [m for m, k in n.items() if k == top and top > 0]


def ratios(
    frames: dict[str, list[pd.DataFrame]],
    tables: dict[str, pd.DataFrame],
    outcomes: dict[str, Outcome],
    block: int,
) -> dict[str, dict[str, object]]:
    """Per view: best Cadence CRPS / best peer CRPS with the models' names and a 95%
    moving-block bootstrap interval over origins. Only models scored on every row any
    model was scored on compete, so both are compared on the same origins."""
    out: dict[str, dict[str, object]] = {}
    for view in frames:
        full = complete(tables, view, list(outcomes))
        best: dict[str, tuple[str, float]] = {}
        for side in ("cadence", "peer"):
            scored = [(m, _cell(tables, view, m, "crps")) for m in full if outcomes[m].side == side]
            scored = [(m, v) for m, v in scored if math.isfinite(v)]
            if scored:
                best[side] = min(scored, key=lambda mv: mv[1])
        if len(best) < 2:
            continue
        (cm, cv), (pm, pv) = best["cadence"], best["peer"]
        ratio, lo, hi = ratio_interval(
            origin_crps(frames[view], cm), origin_crps(frames[view], pm), block=block
        )
        out[view] = {
            "cadence_model": cm,
            "cadence_crps": cv,
            "peer_model": pm,
            "peer_crps": pv,
            "ratio": ratio,
            "ratio_95": [lo, hi],
            "meets_target": bool(ratio <= TARGET),
            "interval_below_target": bool(hi <= TARGET),
        }
    return out


def print_table(
    title: str, tables: dict[str, pd.DataFrame], outcomes: dict[str, Outcome], vs: list[str]
) -> None:
    print(title)
    head = f"{'model':22s} {'side':7s}"
    for v in vs:
        label = "day" if v == DAILY else f"{v.split('_')[1]}d"
        head += f" {label + ' CRPS':>10s} {label + ' cov80':>10s}"
    print(head + f" {'n':>5s} {'failed':>6s} {'fit s':>7s}")
    for m, o in outcomes.items():
        line = f"{m:22s} {o.side:7s}"
        for v in vs:
            line += f" {_fmt(_cell(tables, v, m, 'crps')):>10s}"
            line += f" {_fmt(_cell(tables, v, m, 'coverage_80')):>10s}"
        n = _cell(tables, DAILY, m, "n")
        n_txt = str(int(n)) if math.isfinite(n) else "0"
        print(line + f" {n_txt:>5s} {len(o.failures):6d} {o.seconds:7.1f}")
    for m, o in outcomes.items():
        for reason in o.failures[:3]:
            print(f"  failed {m} at {reason}")
        if len(o.failures) > 3:
            print(f"  ... and {len(o.failures) - 3} more failure(s) of {m}")


def print_ratios(horizon: int, found: dict[str, dict[str, object]]) -> None:
    for view, r in found.items():
        label = "daily CRPS" if view == DAILY else f"{view.split('_')[1]}-day-total CRPS"
        lo, hi = cast(list[float], r["ratio_95"])
        verdict = (
            "NOT met"
            if not r["meets_target"]
            else "met, whole interval below"
            if hi <= TARGET
            else "met by the point estimate only"
        )
        print(
            f"  h={horizon} {label}: best Cadence {r['cadence_model']} "
            f"{_fmt(cast(float, r['cadence_crps']))} / best peer {r['peer_model']} "
            f"{_fmt(cast(float, r['peer_crps']))} = {_fmt(cast(float, r['ratio']), 3)} "
            f"[95% {_fmt(lo, 2)}, {_fmt(hi, 2)}] (target <= {TARGET:.2f}: {verdict})"
        )


# --- the run ------------------------------------------------------------------------------------


def run_horizon(
    data: SeriesData, args: argparse.Namespace, horizon: int, peers: Sequence[Peer]
) -> dict[str, object]:
    """Cadence's backtest and the peers at one horizon: prints the table and ratios,
    returns the JSON section."""
    daily = data.frequency == "D"
    origins = default_origins(
        data, start=args.start, end=args.end, every=args.every, horizon=horizon
    )
    configs = cadence_configs(args.models)
    t0 = time.perf_counter()
    result = run_backtest(
        data, configs, origins=origins, horizon=horizon, n_samples=args.samples, seed=args.seed
    )
    wall_cadence = time.perf_counter() - t0
    outcomes = cadence_outcomes(result, args.seed, daily)
    for key, reason in result.skipped.items():
        outcomes[key] = Outcome("cadence", failures=[f"skipped: {reason}"])
    for p in peers:
        outcomes[p.name] = run_peer(p, data, origins, horizon, args.samples, args.seed)
    outcomes[ORACLE] = run_oracle(data, origins, horizon, args.samples, args.seed)
    outcomes[ORACLE_TUNED], tuned_alpha = run_tuned_oracle(
        data, origins, horizon, args.samples, args.seed
    )
    vs = views(horizon, daily)
    frames: dict[str, list[pd.DataFrame]] = {v: [] for v in vs}
    for o in outcomes.values():
        for v in vs:
            frames[v].extend(o.frames.get(v, []))
    tables = summarize_views({v: f for v, f in frames.items() if f})
    same = check_same_scores(result, tables)
    print_table(
        f"\n{data.spec.name}, horizon {horizon}: {len(origins)} origins "
        f"{origins[0]:%Y-%m-%d} .. {origins[-1]:%Y-%m-%d} every {args.every}, "
        f"{args.samples} paths (CRPS: mean over origins and days / windows; "
        f"cov80: share inside the central 80% interval)",
        tables,
        outcomes,
        vs,
    )
    print(
        f"  Cadence backtest {wall_cadence:.1f} s wall; its daily and 7-day CRPS recomputed "
        f"here equal the backtest's own: {same}"
    )
    block = horizon_block(origins, horizon, data.frequency)
    found = ratios({v: f for v, f in frames.items() if f}, tables, outcomes, block)
    print_ratios(horizon, found)
    oracle = oracle_ratios(tables, found, ORACLE)
    tuned = oracle_ratios(tables, found, ORACLE_TUNED)
    for name, found_ratios in ((ORACLE, oracle), (ORACLE_TUNED, tuned)):
        for view, r in found_ratios.items():
            label = "daily CRPS" if view == DAILY else f"{view.split('_')[1]}-day-total CRPS"
            print(
                f"  h={horizon} {label}: {name} (hindsight, not a forecast) "
                f"{_fmt(r['oracle_crps'])} / best peer {r['peer_model']} = "
                f"{_fmt(r['ratio'], 3)}"
            )
    print(f"  {ORACLE_TUNED}: NB2 dispersion {tuned_alpha:.3g}, chosen on these days")
    return {
        "horizon": horizon,
        "origins": [o.date().isoformat() for o in origins],
        "scores_match_backtest": same,
        "models": {
            m: {
                "side": o.side,
                "failures": o.failures,
                "fit_seconds": round(o.seconds, 3),
                **{
                    v: {
                        k: _json_number(_cell(tables, v, m, k))
                        for k in ("crps", "coverage_80", "n")
                    }
                    for v in vs
                },
            }
            for m, o in outcomes.items()
        },
        "ratios": {v: {k: _json_value(x) for k, x in r.items()} for v, r in found.items()},
        "oracle_ratios": {v: {k: _json_value(x) for k, x in r.items()} for v, r in oracle.items()},
        "tuned_oracle_ratios": {
            v: {k: _json_value(x) for k, x in r.items()} for v, r in tuned.items()
        },
        "tuned_oracle_alpha": tuned_alpha,
    }


def oracle_ratios(
    tables: dict[str, pd.DataFrame], found: dict[str, dict[str, object]], name: str
) -> dict[str, dict[str, Any]]:
    """Per view: the hindsight oracle ``name``'s CRPS over the best peer's (the floor a
    forecast of the level alone could reach against that peer)."""
    out: dict[str, dict[str, Any]] = {}
    for view, r in found.items():
        crps = _cell(tables, view, name, "crps")
        peer = float(cast(float, r["peer_crps"]))
        if math.isfinite(crps) and peer > 0:
            out[view] = {"oracle_crps": crps, "peer_model": r["peer_model"], "ratio": crps / peer}
    return out


def _json_number(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _json_value(x: object) -> object:
    if isinstance(x, float):
        return _json_number(x)
    if isinstance(x, list):
        return [_json_value(v) for v in x]
    return x


def cadence_configs(text: str) -> list[ModelConfig]:
    """The configurations ``cadence backtest --models TEXT`` runs (its own parser, so a
    model registered later is included without an edit here); ``ValueError`` when the
    CLI would reject ``TEXT``."""
    import typer

    from cadence.service.cli.backtest import model_configs

    try:
        return model_configs(text)
    except typer.BadParameter as exc:
        raise ValueError(f"--models: {exc.message}") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", default="israel-alerts", help="bundled series (israel-alerts)")
    p.add_argument(
        "--horizon",
        type=int,
        action="append",
        help="periods ahead; repeat for several (default: 7 and 28)",
    )
    p.add_argument("--every", default="7D", help="spacing of origins (7D)")
    p.add_argument("--start", default=None, help="first origin, YYYY-MM-DD")
    p.add_argument("--end", default=None, help="last origin, YYYY-MM-DD")
    p.add_argument(
        "--models", default="all", help="Cadence models, as `cadence backtest --models` (all)"
    )
    p.add_argument("--samples", type=int, default=1000, help="sample paths per forecast")
    p.add_argument("--seed", type=int, default=0, help="base seed, as `cadence backtest`")
    p.add_argument("--json", type=Path, default=None, help="write every number as JSON")
    args = p.parse_args(argv)
    args.horizon = args.horizon or [7, 28]
    try:
        cadence_configs(args.models)
    except ValueError as exc:
        p.error(str(exc))
    if any(h < 1 for h in args.horizon):
        p.error(f"--horizon: expected integers >= 1, got {args.horizon}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        peers = statsforecast_peers()
    except ImportError as exc:
        print(f"{MISSING}\n({exc})", file=sys.stderr)
        return 2
    import statsforecast

    body: dict[str, object] = {
        "series": args.series,
        "every": args.every,
        "start": args.start,
        "end": args.end,
        "samples": args.samples,
        "seed": args.seed,
        "models": args.models,
        "statsforecast": statsforecast.__version__,
        "target": TARGET,
    }
    sections = []
    with tempfile.TemporaryDirectory(prefix="cadence-peers-") as tmp:
        work = Path(tmp)
        engine = make_engine(f"sqlite:///{work / 'cadence.db'}")
        migrate.upgrade(engine)
        load_bundled(engine, Settings().data_dir, work)
        try:
            data = load_series_data(engine, args.series)
            for h in args.horizon:
                sections.append(run_horizon(data, args, h, peers))
        except (ExperimentError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            engine.dispose()
    body["horizons"] = sections
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(body, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
