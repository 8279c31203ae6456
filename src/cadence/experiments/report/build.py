"""A forecast report for one series as of one day: what was known, what the model said,
what happened.

``build_report(data, as_of, ...)`` sees only what ``data`` held on ``as_of``: the panel and
the future frame are built from rows dated on or before the last day of the origin
period (``fit_and_forecast``), observations count once their last day has passed, and the
recent strikes and statements listed are dated on or before ``as_of``. Later rows are
read only to score (``report.truth``), so adding or changing anything dated after
``as_of`` cannot change the forecast, the effects or the lists.

Time convention: ``origin`` is the label of the last *complete* period on or before
``as_of`` (the as-of day itself for a daily series); the forecast covers the ``horizon``
periods after it. For an observed series the data may end before the origin (tallies
reported every few days): the model forecasts from the end of its data and the periods
up to the origin are dropped, as in backtests.

The model: ``--model NAME`` when given; otherwise the registered champion's
configuration (passed in by the caller) when it can fit this series; otherwise
``negbin_glm`` (retaliation and statement covariates, interval totals; it falls back to
Climatology when the data are too few), else ``climatology``. A series with interval
totals is fitted only by models with ``supports_intervals``; the others are listed as
skipped with the reason.

Effects: incidence-rate ratios of retaliation and statement features with 95% Wald
intervals, from the forecasting model when it has them; otherwise from a NegBinGLM
fitted for the effects alone on the same panel, restricted to a few driver columns (as
many as the data support), and labelled as such.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import numpy as np
import pandas as pd

from cadence.columns import (
    ACTOR,
    COUNT,
    DATE,
    END,
    EXTRA,
    LOCATION,
    NOTES,
    STANCE,
    START,
    TARGET,
    TEXT,
    Frequency,
)
from cadence.experiments.backtest import CLIMATOLOGY, ModelConfig, build_model, fit_and_forecast
from cadence.experiments.data import SeriesData, period_end, period_label, shift_periods
from cadence.experiments.driver_ablation import drivers_used
from cadence.experiments.errors import ExperimentError
from cadence.experiments.report.truth import LaterTruth, TotalScore, later_truth, score_total
from cadence.experiments.summaries import window_periods
from cadence.features import Panel, apply_filter, feature_definitions
from cadence.features.errors import InputError
from cadence.models.errors import ModelError
from cadence.models.forecast import CountForecast
from cadence.models.lookup import available_models, model_class

__all__ = [
    "DEFAULT_PREFERENCE",
    "ModelChoice",
    "Report",
    "ReportError",
    "ScoredTotal",
    "WindowForecast",
    "build_report",
    "choose_model",
    "report_origin",
]

DEFAULT_PREFERENCE: Final = ("negbin_glm", CLIMATOLOGY)
EFFECTS_MODEL: Final = "negbin_glm"
EFFECT_LEVEL: Final = 0.95
WINDOW_DAYS: Final = (7, 14, 28)
LOOKBACK_DAYS: Final = 42
RECENT_ROWS: Final = 10
_RECENT_PERIODS: Final = {"D": 28, "W": 4, "M": 1}
_EFFECT_PREFIXES: Final = ("ret_decay_", "stm_esc_decay_", "stm_deesc_decay_")
_K_LADDER: Final = tuple(m * 10**e for e in range(6) for m in (1, 2, 5))
_MAX_K: Final = 7
_EXCERPT: Final = 160


class ReportError(ExperimentError):
    """The report cannot be made as asked (a date before any data, a model that cannot
    fit the series, an unknown model name)."""


@dataclass(frozen=True)
class ModelChoice:
    """The configuration that forecasts, why it was chosen, and the models left out
    (registry name -> reason)."""

    config: ModelConfig
    reason: str
    skipped: dict[str, str]


@dataclass(frozen=True)
class ScoredTotal:
    """One later total the forecast is scored on: periods ``first..last`` (labels),
    ``label`` saying where the truth came from."""

    label: str
    first: pd.Timestamp
    last: pd.Timestamp
    periods: int
    score: TotalScore
    reference_crps: float | None = None


@dataclass(frozen=True)
class WindowForecast:
    """The forecast total over the first ``periods`` periods (``label``, e.g. "7 days"):
    ``mean``, integer ``quantiles`` by level, ``p_at_least`` by k, and how many of its
    periods later data pins down (``known_periods``; scored only when all are)."""

    label: str
    periods: int
    first: pd.Timestamp
    last: pd.Timestamp
    mean: float
    quantiles: dict[float, int]
    p_at_least: dict[int, float]
    known_periods: int


@dataclass(frozen=True)
class SampledBound:
    """What a series' sampled view reported over a window no later total pins down:
    ``reported`` events over periods ``first..last``, a lower bound on the truth."""

    label: str
    first: pd.Timestamp
    last: pd.Timestamp
    reported: float


@dataclass(frozen=True)
class Report:
    """Everything a report shows; ``render`` functions only format it.

    Frames: ``recent`` (``start``, ``end`` inclusive last day, ``periods``, ``count``,
    ``kind`` "period" or "interval"), ``strikes`` (``date``, ``actor``, ``location``,
    ``target``, ``notes``), ``statements`` (``date``, ``actor``, ``stance``,
    ``stance_source``, ``label``, ``excerpt``), ``effects`` (``feature``, ``irr``,
    ``lower``, ``upper``, ``p_value``, ``description``). ``history`` is the panel's counts
    per period before the origin (NaN inside intervals) and ``history_intervals`` its
    interval totals, for the chart.
    """

    series: str
    frequency: Frequency
    description: str
    as_of: pd.Timestamp
    origin: pd.Timestamp
    data_through: pd.Timestamp
    horizon: int
    choice: ModelChoice
    fit_notes: list[str]
    forecast: CountForecast
    windows: list[WindowForecast]
    recent: pd.DataFrame
    recent_rate: tuple[pd.Timestamp, pd.Timestamp, int, float] | None
    strikes: pd.DataFrame
    strikes_total: int
    statements: pd.DataFrame
    statements_total: int
    lookback_days: int
    effects: pd.DataFrame
    effects_source: str
    truth: LaterTruth
    scored: list[ScoredTotal]
    truth_notes: list[str]
    history: pd.Series
    history_intervals: pd.DataFrame
    generated_at: dt.datetime
    seed: int
    n_samples: int
    sampled_bounds: list[SampledBound] = field(default_factory=list)
    # the retaliation and statement columns the model used (None: it does not say)
    drivers: list[str] | None = None

    @property
    def period_word(self) -> str:
        return {"D": "day", "W": "week", "M": "month"}[self.frequency]

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON values (dates ISO, NaN as None)."""
        freq = cast(Any, self.frequency)
        return {
            "series": self.series,
            "frequency": self.frequency,
            "as_of": _day(self.as_of),
            "origin": _day(self.origin),
            "data_through": _day(self.data_through),
            "horizon": self.horizon,
            "model": {
                "key": self.choice.config.key,
                "name": self.choice.config.name,
                "params": {k: v for k, v in self.choice.config.params.items()},
                "reason": self.choice.reason,
                "notes": list(self.fit_notes),
            },
            "skipped": dict(self.choice.skipped),
            "windows": [_window_dict(w, freq) for w in self.windows],
            "recent": _records(self.recent),
            "strikes": _records(self.strikes),
            "statements": _records(self.statements),
            "effects": {"source": self.effects_source, "rows": _records(self.effects)},
            "scored": [_scored_dict(s, freq) for s in self.scored],
            "truth_notes": list(self.truth_notes),
            "sampled_bounds": [
                {
                    "label": b.label,
                    "first": _day(b.first),
                    "last": _day(period_end(b.last, freq)),
                    "at_least": _num(b.reported),
                }
                for b in self.sampled_bounds
            ],
            "seed": self.seed,
            "n_samples": self.n_samples,
        }


def _num(x: object) -> float | None:
    v = float(cast(float, x))
    return v if np.isfinite(v) else None


def _day(t: object) -> str:
    return pd.Timestamp(cast(str, t)).date().isoformat()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON values (timestamps as ISO dates, NaN as None)."""
    out = []
    for r in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for k, v in r.items():
            if isinstance(v, pd.Timestamp):
                row[str(k)] = v.date().isoformat()
            elif isinstance(v, float | np.floating):
                row[str(k)] = _num(v)
            elif isinstance(v, np.integer):
                row[str(k)] = int(v)
            else:
                row[str(k)] = v
        out.append(row)
    return out


def _window_dict(w: WindowForecast, freq: Any) -> dict[str, Any]:
    return {
        "label": w.label,
        "periods": w.periods,
        "first": _day(w.first),
        "last": _day(period_end(w.last, freq)),
        "mean": _num(w.mean),
        "quantiles": {f"{q:g}": v for q, v in w.quantiles.items()},
        "p_at_least": {str(k): _num(p) for k, p in w.p_at_least.items()},
        "known_periods": w.known_periods,
    }


def _scored_dict(s: ScoredTotal, freq: Any) -> dict[str, Any]:
    return {
        "label": s.label,
        "first": _day(s.first),
        "last": _day(period_end(s.last, freq)),
        "periods": s.periods,
        "observed": _num(s.score.observed),
        "mean": _num(s.score.mean),
        "q10": s.score.q10,
        "q50": s.score.q50,
        "q90": s.score.q90,
        "crps": _num(s.score.crps),
        "inside_80": s.score.inside_80,
        "pit": _num(s.score.pit),
        "reference_crps": None if s.reference_crps is None else _num(s.reference_crps),
    }


# --- the origin and the model ------------------------------------------------------------


def report_origin(as_of: object, frequency: str) -> pd.Timestamp:
    """Label of the last complete period on or before day ``as_of``."""
    day = pd.Timestamp(cast(str, as_of)).normalize()
    freq = cast(Any, frequency)
    label = period_label(day, freq)
    return label if period_end(label, freq) <= day else shift_periods(label, -1, freq)


def _usable(config: ModelConfig, has_intervals: bool) -> str | None:
    """Why ``config`` cannot forecast this series, or None when it can."""
    try:
        model = build_model(config)
    except (ModelError, TypeError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if has_intervals and not getattr(model, "supports_intervals", False):
        return f"{config.name} cannot fit interval observations"
    return None


def choose_model(
    panel: Panel,
    *,
    requested: str | None = None,
    champion: ModelConfig | None = None,
) -> ModelChoice:
    """The configuration to forecast with (see the module docstring for the rule).

    ``panel`` is the one the model will be fitted on (its intervals decide which models
    can fit). Raises ``ReportError`` for an unknown name or a requested model that
    cannot fit the series (the message says why and which can)."""
    n_iv = len(panel.intervals)
    skipped = _unusable_models(panel)
    if requested is not None:
        return _requested_model(requested, skipped)
    usable = [n for n in available_models() if n not in skipped]
    note = ""
    if champion is not None:
        why_not = _usable(champion, bool(n_iv))
        if why_not is None:
            return ModelChoice(
                champion,
                "the registered champion's configuration (chosen by the latest retrain, which "
                "may have seen later data; refitted here only on data known on the as-of date)",
                skipped,
            )
        note = f"the registered champion {champion.key} cannot be used ({why_not}); "
    for name in DEFAULT_PREFERENCE:
        if name in usable:
            why = (
                "the richest model that fits this series: retaliation and statement "
                "covariates, interval totals; it falls back to climatology when the data are "
                "too few"
                if name == "negbin_glm"
                else "the baseline"
            )
            prefix = note or "no registered champion; "
            return ModelChoice(ModelConfig(name), f"{prefix}{why}", skipped)
    raise ReportError(f"no model can forecast series {panel.spec.name!r}: {skipped}")


def _unusable_models(panel: Panel) -> dict[str, str]:
    """The models that cannot forecast from ``panel``, with the reason of each."""
    n_iv = len(panel.intervals)
    why_intervals = (
        f"cannot fit interval observations; series {panel.spec.name!r} has {n_iv} count(s) "
        "known only as totals over several periods"
    )
    skipped: dict[str, str] = {}
    for name in available_models():
        if name == "ensemble":
            skipped[name] = (
                "a mixture of other models' forecasts whose members and weights come from a "
                "backtest; it forecasts here only as a retrained champion"
            )
            continue
        try:
            cls = model_class(name)
        except ModelError as exc:
            skipped[name] = f"not available: {exc}"
            continue
        if n_iv and not getattr(cls, "supports_intervals", False):
            skipped[name] = f"{name} {why_intervals}"
    return skipped


def _requested_model(requested: str, skipped: dict[str, str]) -> ModelChoice:
    """The model named on the command line, when it exists and can forecast."""
    if requested not in available_models():
        raise ReportError(
            f"no model named {requested!r}; available: {', '.join(available_models())}"
        )
    if requested in skipped:
        usable = [n for n in available_models() if n not in skipped]
        raise ReportError(
            f"model {requested!r} cannot forecast this series: {skipped[requested]}; "
            f"models that can: {', '.join(usable)}"
        )
    return ModelChoice(ModelConfig(requested), "named on the command line", skipped)


# --- what was known -----------------------------------------------------------------------


def _recent_counts(panel: Panel) -> pd.DataFrame:
    """Known per-period counts and interval totals of ``panel``, oldest first."""
    freq = panel.spec.frequency
    counts = panel.frame[COUNT]
    known = counts[np.isfinite(counts.to_numpy(dtype=float))]
    rows = [(pd.Timestamp(t), pd.Timestamp(t), 1, float(c), "period") for t, c in known.items()]
    iv = panel.intervals
    for s, e, c in zip(iv[START], iv[END], iv[COUNT], strict=True):
        first, last = pd.Timestamp(s), shift_periods(pd.Timestamp(e), -1, freq)
        n = len(pd.date_range(first, last, freq=panel.frame.index.freq))
        rows.append((first, last, n, float(c), "interval"))
    frame = pd.DataFrame(rows, columns=["start", "last", "periods", "count", "kind"])
    frame = frame.sort_values("start", kind="stable").reset_index(drop=True)
    frame["end"] = [period_end(t, freq) for t in frame["last"]]
    return frame[["start", "end", "periods", "count", "kind", "last"]]


def _recent_rate(
    blocks: pd.DataFrame, frequency: str
) -> tuple[pd.Timestamp, pd.Timestamp, int, float] | None:
    """(first day, last day, periods, total) of the last whole observations spanning at
    least four weeks' worth of periods (fewer when the data are shorter)."""
    if blocks.empty:
        return None
    need = _RECENT_PERIODS[frequency]
    n, total, i = 0, 0.0, len(blocks)
    while i > 0 and n < need:
        i -= 1
        n += int(blocks["periods"].iloc[i])
        total += float(blocks["count"].iloc[i])
    return pd.Timestamp(blocks["start"].iloc[i]), pd.Timestamp(blocks["end"].iloc[-1]), n, total


def _extra_value(cell: object, key: str) -> str:
    return str(cell.get(key, "")) if isinstance(cell, dict) else ""


def _recent_drivers(
    data: SeriesData, as_of: pd.Timestamp, lookback_days: int
) -> tuple[pd.DataFrame, int, pd.DataFrame, int]:
    """Strikes and statements of the series' driver filters dated in the ``lookback_days``
    up to ``as_of`` (and how many of each were known in all)."""
    ev, st, _ = data.known_on(as_of)
    since = as_of - pd.Timedelta(days=lookback_days - 1)
    strike_cols = [DATE, ACTOR, LOCATION, TARGET, NOTES]
    strikes = pd.DataFrame(columns=strike_cols)
    n_strikes = 0
    if data.spec.retaliation is not None and not ev.empty:
        mine = ev[apply_filter(ev, data.spec.retaliation)]
        n_strikes = len(mine)
        mine = mine[mine[DATE] >= since]
        strikes = pd.DataFrame({DATE: mine[DATE], **{c: _text(mine, c) for c in strike_cols[1:]}})
    stm_cols = [DATE, ACTOR, STANCE, "stance_source", "label", "excerpt"]
    statements = pd.DataFrame(columns=stm_cols)
    n_statements = 0
    if data.spec.statements is not None and not st.empty:
        mine = st[apply_filter(st, data.spec.statements)]
        n_statements = len(mine)
        mine = mine[mine[DATE] >= since]
        extra = mine[EXTRA] if EXTRA in mine else pd.Series([None] * len(mine), index=mine.index)
        text = mine[TEXT].astype(str) if TEXT in mine else pd.Series("", index=mine.index)
        statements = pd.DataFrame(
            {
                DATE: mine[DATE],
                ACTOR: _text(mine, ACTOR),
                STANCE: _text(mine, STANCE),
                "stance_source": _text(mine, "stance_source"),
                "label": [_extra_value(x, "raw_stance") for x in extra],
                "excerpt": [_excerpt(t) for t in text],
            }
        )
    return (
        strikes.reset_index(drop=True),
        n_strikes,
        statements.reset_index(drop=True),
        n_statements,
    )


def _text(frame: pd.DataFrame, column: str) -> list[str]:
    """A column's cells as text, blank for a missing cell or column."""
    if column not in frame.columns:
        return [""] * len(frame)
    return ["" if pd.isna(v) else str(v) for v in frame[column]]


def _excerpt(text: str) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= _EXCERPT else t[: _EXCERPT - 1].rstrip() + "…"


# --- effects ------------------------------------------------------------------------------


def _describe(frame: pd.DataFrame, frequency: str) -> pd.DataFrame:
    defs = {d.name: d.description for d in feature_definitions(cast(Any, frequency))}
    out = frame.copy()
    out["description"] = [defs.get(str(f), "") for f in out["feature"]]
    return out.reset_index(drop=True)


def _effect_columns(panel: Panel) -> list[str]:
    """One column per driver kind (retaliation, escalation, de-escalation) at the middle
    half-life, those present and not constant on the panel."""
    cols: list[str] = []
    for prefix in _EFFECT_PREFIXES:
        found = [c for c in panel.frame.columns if str(c).startswith(prefix)]
        if not found:
            continue
        c = found[len(found) // 2]
        if panel.frame[c].nunique(dropna=True) > 1:
            cols.append(str(c))
    return cols


def _effects(
    data: SeriesData,
    model: object,
    config: ModelConfig,
    panel: Panel,
    origin: pd.Timestamp,
    seed: int,
) -> tuple[pd.DataFrame, str]:
    """Effects with intervals and a sentence saying where they come from."""
    empty = pd.DataFrame(columns=["feature", "irr", "lower", "upper", "p_value", "description"])
    effects = getattr(model, "effects", None)
    if callable(effects):
        frame = effects(EFFECT_LEVEL)
        if len(frame):
            return _describe(frame, data.frequency), f"the forecasting model ({config.key})"
    cols = _effect_columns(panel)
    if not cols:
        return empty, "none: the series has no retaliation or statement driver that varies"
    for k in range(len(cols), 0, -1):
        cfg = ModelConfig(EFFECTS_MODEL, {"include": cols[:k]})
        try:
            fitted, _ = fit_and_forecast(data, cfg, origin, 1, n_samples=10, seed=seed)
        except (ModelError, ValueError) as exc:
            return empty, f"none: the effects model could not be fitted ({exc})"
        if getattr(fitted, "fallback_", None) is None:
            frame = cast(Any, fitted).effects(EFFECT_LEVEL)
            what = (
                f"{config.key} has no effects"
                if config.name != EFFECTS_MODEL
                else (f"{config.key} fell back to climatology")
            )
            return _describe(frame, data.frequency), (
                f"{cfg.key}, fitted for the effects only ({what}; the forecast above is not "
                f"from this model); {k} driver column(s), as many as the data support"
            )
    return empty, (
        "none: too few observations to estimate even one driver effect "
        f"(tried {EFFECTS_MODEL} with {', '.join(cols)})"
    )


# --- the forecast -------------------------------------------------------------------------


def _k_values(totals: Sequence[np.ndarray]) -> list[int]:
    """Thresholds k from 1, 2, 5, 10, ... where some window's P(total >= k) is neither
    about 0 nor about 1 (at most ``_MAX_K``)."""
    keep = [k for k in _K_LADDER if any(0.01 < float((t >= k).mean()) < 0.99 for t in totals)]
    if len(keep) > _MAX_K:
        step = len(keep) / _MAX_K
        keep = [keep[int(i * step)] for i in range(_MAX_K)]
    return keep or [1]


def _windows(forecast: CountForecast, frequency: str, truth: LaterTruth) -> list[WindowForecast]:
    h = forecast.horizon
    spans: list[tuple[str, int]] = []
    for days in WINDOW_DAYS:
        n = window_periods(frequency, days)
        if n is not None and 1 <= n <= h:
            spans.append((f"{days} days", n))
    if h not in {n for _, n in spans}:
        word = {"D": "day", "W": "week", "M": "month"}[frequency]
        spans.append((f"{h} {word}{'s' if h > 1 else ''} (the horizon)", h))
    totals = [forecast.window_total(n) for _, n in spans]
    ks = _k_values(totals)
    out = []
    for (label, n), tot in zip(spans, totals, strict=True):
        qs = np.quantile(tot, [0.1, 0.5, 0.9], method="inverted_cdf")
        out.append(
            WindowForecast(
                label=label,
                periods=n,
                first=pd.Timestamp(forecast.index[0]),
                last=pd.Timestamp(forecast.index[n - 1]),
                mean=float(tot.mean()),
                quantiles={0.1: int(qs[0]), 0.5: int(qs[1]), 0.9: int(qs[2])},
                p_at_least={k: float((tot >= k).mean()) for k in ks},
                known_periods=truth.known_periods(0, n - 1),
            )
        )
    return out


def _scored(
    forecast: CountForecast,
    reference: CountForecast | None,
    windows: list[WindowForecast],
    truth: LaterTruth,
    frequency: str,
    last_day: pd.Timestamp,
    seed: int,
) -> tuple[list[ScoredTotal], list[str]]:
    """The later totals that can be scored and notes on what cannot."""
    word = {"D": "day", "W": "week", "M": "month"}[frequency]
    targets: dict[tuple[int, int], str] = {}
    notes = list(truth.notes)
    for w in windows:
        if w.known_periods == w.periods:
            targets.setdefault((0, w.periods - 1), f"{w.label} window")
        elif w.known_periods:
            notes.append(
                f"{w.label} window: later data pins down only {w.known_periods} of its "
                f"{w.periods} {word}s, so it is not scored as a full window"
            )
        elif truth.any_known:
            notes.append(
                f"{w.label} window: none of its {word}s is known on its own (later data "
                "gives only totals that run past it), so it is not scored"
            )
    for a, b, _ in truth.intervals:
        targets.setdefault((a, b), "an interval total reported later")
    k = truth.known_prefix()
    if k:
        targets.setdefault((0, k - 1), f"the first {k} {word}s (all that later data covers)")
    if not truth.any_known:
        notes.append(
            f"the data of this series end {last_day:%Y-%m-%d}: nothing after the as-of date "
            "covers the horizon, so nothing is scored"
        )
    out = []
    rng = np.random.default_rng(seed)
    for (a, b), label in sorted(targets.items()):
        observed = truth.total(a, b)
        if observed is None:  # pragma: no cover - every target above is a known total
            continue
        score = score_total(forecast.samples[:, a : b + 1].sum(axis=1), observed, rng)
        ref = None
        if reference is not None:
            ref = score_total(reference.samples[:, a : b + 1].sum(axis=1), observed, rng).crps
        out.append(
            ScoredTotal(
                label=label,
                first=pd.Timestamp(truth.index[a]),
                last=pd.Timestamp(truth.index[b]),
                periods=b - a + 1,
                score=score,
                reference_crps=ref,
            )
        )
    return out, notes


def _sampled_bounds(windows: list[WindowForecast], truth: LaterTruth) -> list[SampledBound]:
    """Windows whose total no later data pins down but the sampled view covers."""
    out = []
    for w in windows:
        reported = truth.sampled_total(0, w.periods - 1)
        if truth.total(0, w.periods - 1) is None and reported is not None:
            out.append(SampledBound(w.label, w.first, w.last, reported))
    return out


def build_report(
    data: SeriesData,
    as_of: object,
    *,
    horizon: int = 28,
    model: str | None = None,
    champion: ModelConfig | None = None,
    n_samples: int = 2000,
    seed: int = 0,
    lookback_days: int = LOOKBACK_DAYS,
    generated_at: dt.datetime | None = None,
) -> Report:
    """The report of ``data``'s series as of day ``as_of`` for the ``horizon`` periods
    after it (see the module docstring). ``model`` names a registry model; ``champion``
    is the registered champion's configuration, if any. Raises ``ReportError``."""
    if horizon < 1:
        raise ReportError(f"horizon: expected an integer >= 1, got {horizon}")
    day = pd.Timestamp(cast(str, as_of)).normalize()
    freq = data.frequency
    origin = report_origin(day, freq)
    panel = _known_panel(data, day, period_end(origin, freq))
    choice = choose_model(panel, requested=model, champion=champion)
    fitted, forecast, reference = _fit(data, choice.config, origin, horizon, n_samples, seed)
    truth = later_truth(data, origin, horizon)
    windows = _windows(forecast, freq, truth)
    scored, notes = _scored(forecast, reference, windows, truth, freq, data.last_day, seed + 1)
    effects, effects_source = _effects(data, fitted, choice.config, panel, origin, seed)
    span = max(2 * horizon, _RECENT_PERIODS[freq] * 2)
    return Report(
        series=data.spec.name,
        frequency=freq,
        description=" ".join(data.spec.description.split()),
        as_of=day,
        origin=origin,
        data_through=period_end(panel.origin, freq),
        horizon=horizon,
        choice=choice,
        fit_notes=_fit_notes(forecast, choice.config, panel, freq),
        forecast=forecast,
        # None: the model records no covariates at all (it cannot say what it used)
        drivers=drivers_used(fitted) if hasattr(fitted, "covariates_") else None,
        windows=windows,
        **_recently_known(data, panel, day, lookback_days),
        lookback_days=lookback_days,
        effects=effects,
        effects_source=effects_source,
        truth=truth,
        scored=scored,
        truth_notes=notes,
        history=panel.frame[COUNT].iloc[-span:],
        history_intervals=panel.intervals,
        generated_at=generated_at or dt.datetime.now(dt.UTC),
        seed=seed,
        n_samples=n_samples,
        sampled_bounds=_sampled_bounds(windows, truth),
    )


def _fit(
    data: SeriesData,
    config: ModelConfig,
    origin: pd.Timestamp,
    horizon: int,
    n_samples: int,
    seed: int,
) -> tuple[Any, CountForecast, CountForecast | None]:
    """The fitted model and its forecast, and Climatology's forecast to score against
    (None when the model is Climatology)."""
    try:
        fitted, forecast = fit_and_forecast(
            data, config, origin, horizon, n_samples=n_samples, seed=seed
        )
    except ModelError as exc:
        raise ReportError(f"{config.key} could not be fitted: {exc}") from exc
    reference = None
    if config.name != CLIMATOLOGY:
        _, reference = fit_and_forecast(
            data, ModelConfig(CLIMATOLOGY), origin, horizon, n_samples=n_samples, seed=seed
        )
    return fitted, forecast, reference


def _known_panel(data: SeriesData, day: pd.Timestamp, cut: pd.Timestamp) -> Panel:
    """The panel as of ``cut`` (the origin period's last day)."""
    try:
        return data.panel(cut)
    except InputError as exc:
        raise ReportError(
            f"nothing of series {data.spec.name!r} was known on {day:%Y-%m-%d}: {exc}"
        ) from exc


def _fit_notes(forecast: CountForecast, config: ModelConfig, panel: Panel, freq: Any) -> list[str]:
    """What the fit reported: its fallback, its warnings, a gap before the origin."""
    fit_notes = [str(w) for w in cast(list[object], forecast.meta.get("warnings", []))]
    if forecast.meta.get("fallback"):  # None when the family fitted without falling back
        fit_notes.insert(0, f"{config.key} forecast with {forecast.meta['fallback']}")
    if forecast.meta.get("origin_gap"):
        fit_notes.append(
            f"the data known on the as-of date end {period_end(panel.origin, freq):%Y-%m-%d}: the "
            f"{forecast.meta['origin_gap']} {'period' if freq != 'D' else 'day'}(s) up to the "
            "origin were forecast and are not shown"
        )
    return fit_notes


def _recently_known(
    data: SeriesData, panel: Panel, day: pd.Timestamp, lookback_days: int
) -> dict[str, Any]:
    """The report's recent counts, rate, strikes and statements (``Report`` fields)."""
    blocks = _recent_counts(panel)
    strikes, n_strikes, statements, n_statements = _recent_drivers(data, day, lookback_days)
    return {
        "recent": blocks.tail(RECENT_ROWS).drop(columns=["last"]).reset_index(drop=True),
        "recent_rate": _recent_rate(blocks, data.frequency),
        "strikes": strikes,
        "strikes_total": n_strikes,
        "statements": statements,
        "statements_total": n_statements,
    }
