"""The promotion rule on hand-made backtest scores (synthetic CRPS values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence.experiments.backtest import BacktestResult
from cadence.experiments.scoring import METRICS, summarize
from cadence.jobs.retrain.decide import decide

ORIGINS = [pd.Timestamp("2024-03-04") + pd.Timedelta(days=7 * i) for i in range(12)]


def _result(
    crps: dict[str, np.ndarray | float], failures: dict[str, int] | None = None
) -> BacktestResult:
    """A 3-day-horizon backtest whose per-origin CRPS is ``crps[model]`` (one value per
    origin, or one for all); ``failures[model] = i`` drops origin i as a failure."""
    failures = failures or {}
    rows = []
    for model, values in crps.items():
        v = np.broadcast_to(np.asarray(values, dtype=float), (len(ORIGINS),))
        for i, o in enumerate(ORIGINS):
            if failures.get(model) == i:
                continue
            for h in (1, 2, 3):
                rows.append(
                    {
                        "model": model,
                        "origin": o,
                        "horizon": h,
                        **dict.fromkeys(METRICS, 0.5),
                        "crps": v[i],
                        "pit": 0.5,
                    }
                )
    per_origin = pd.DataFrame(rows, columns=["model", "origin", "horizon", *METRICS, "pit"])
    return BacktestResult(
        series="s",
        frequency="D",
        horizon=3,
        origins=ORIGINS,
        forecasts=[],
        scores=summarize(per_origin),
        per_origin=per_origin,
        failures=[(m, ORIGINS[i], "ModelError: synthetic") for m, i in failures.items()],
        models=list(crps),
    )


NOISE = np.random.default_rng(0).normal(0, 0.3, len(ORIGINS))


def test_no_champion_takes_the_best_candidate_that_beats_climatology() -> None:
    r = _result({"climatology": 2.0, "a": 1.5, "b": 1.2, "c": 2.5})
    d = decide(r, ["a", "b", "c"], None)
    assert (d.chosen, d.promoted, d.eligible) == ("b", True, ("b", "a"))


def test_no_champion_and_nothing_better_serves_climatology() -> None:
    d = decide(_result({"climatology": 2.0, "a": 2.2}), ["a"], None)
    assert (d.chosen, d.promoted) == ("climatology", True)
    assert "no candidate beats climatology" in d.reason


def test_nothing_scored_serves_climatology_unless_it_failed() -> None:
    r = _result({"climatology": np.nan, "a": np.nan})
    d = decide(r, ["a"], None)
    assert (d.chosen, d.promoted) == ("climatology", True) and "scored" in d.reason
    broken = _result({"climatology": np.nan, "a": np.nan}, failures={"climatology": 0})
    assert decide(broken, ["a"], None).chosen is None


def test_champion_yields_only_to_a_clear_improvement() -> None:
    noisy = _result({"climatology": 3.0, "champ": 2.0 + NOISE, "a": 1.95 + NOISE[::-1]})
    kept = decide(noisy, ["a"], "champ", n_boot=500)
    assert (kept.chosen, kept.promoted) == ("champ", False)
    assert kept.difference is not None and kept.difference[1] < 0 < kept.difference[2]
    clear = _result({"climatology": 3.0, "champ": 2.0 + NOISE, "a": 1.5 + NOISE})
    won = decide(clear, ["a"], "champ", n_boot=500)
    assert (won.chosen, won.promoted) == ("a", True)
    assert won.difference is not None and won.difference[2] < 0


def test_failures_decide_eligibility() -> None:
    # a candidate that failed at one origin is not eligible, however good elsewhere
    r = _result({"climatology": 3.0, "champ": 2.0, "a": 0.5}, failures={"a": 3})
    assert decide(r, ["a"], "champ").chosen == "champ"
    # a champion that failed yields to an eligible candidate without an interval
    r = _result({"climatology": 3.0, "champ": 2.0, "a": 2.5}, failures={"champ": 5})
    d = decide(r, ["a"], "champ")
    assert (d.chosen, d.promoted, d.difference) == ("a", True, None)
    # climatology as a candidate never "beats climatology"
    r = _result({"climatology": 1.0, "champ": 2.0})
    assert decide(r, ["climatology"], "champ").chosen == "champ"


def test_challengers_are_the_eligible_candidates_that_do_not_serve() -> None:
    r = _result({"climatology": 3.0, "champ": 2.0, "a": 1.9, "b": 1.5, "c": 3.5})
    d = decide(r, ["champ", "a", "b", "c"], "champ")
    assert d.eligible == ("b", "a", "champ")  # c does not beat climatology
    assert d.challengers(str(d.chosen)) == tuple(k for k in ("b", "a", "champ") if k != d.chosen)
    # the served configuration is never its own challenger, whatever was chosen
    assert d.challengers("b") == ("a", "champ")
    assert d.challengers("climatology", skip={"b"}) == ("a", "champ")
    assert decide(_result({"climatology": 2.0, "a": 2.2}), ["a"], None).challengers("x") == ()


def test_a_kept_champion_says_whether_the_interval_includes_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = _result({"climatology": 2.0, "champ": 1.4 + NOISE, "cand": 1.3 + NOISE})
    # per-origin means may order the two unlike the pooled CRPS that picked the candidate
    monkeypatch.setattr(BacktestResult, "crps_difference", lambda *a, **k: (0.2, 0.05, 0.4))
    above = decide(r, ["cand"], "champ", n_boot=200)
    assert above.chosen == "champ" and "lies above zero" in above.reason
    assert "includes zero" not in above.reason
    monkeypatch.setattr(BacktestResult, "crps_difference", lambda *a, **k: (-0.1, -0.3, 0.1))
    assert "includes zero" in decide(r, ["cand"], "champ", n_boot=200).reason


def _with_weekly(result: BacktestResult, weekly: dict[str, float]) -> BacktestResult:
    """``result`` with one 7-day total per origin scored ``weekly[model]`` (CRPS)."""
    rows = [
        {"model": m, "origin": o, "horizon": 1, **dict.fromkeys(METRICS, 0.5), "crps": v}
        for m, v in weekly.items()
        for o in ORIGINS
    ]
    po = pd.DataFrame(rows, columns=["model", "origin", "horizon", *METRICS, "pit"])
    result.total_per_origin = {7: po}
    result.total_scores = {7: summarize(po)}
    return result


def test_a_candidate_must_beat_climatology_on_weekly_totals_too() -> None:
    daily = {"climatology": 2.0, "a": 1.5, "b": 1.8}
    r = _with_weekly(_result(daily), {"climatology": 10.0, "a": 12.0, "b": 9.0})
    d = decide(r, ["a", "b"], None)
    assert d.chosen == "b" and d.eligible == ("b",)  # a loses on the 7-day totals


def test_candidates_rank_by_daily_and_weekly_crps_together() -> None:
    daily = {"climatology": 2.0, "a": 1.6, "b": 1.7}
    # a: 20% better daily, 5% better weekly; b: 15% better daily, 40% better weekly
    r = _with_weekly(_result(daily), {"climatology": 10.0, "a": 9.5, "b": 6.0})
    d = decide(r, ["a", "b"], None)
    assert d.eligible == ("b", "a") and d.chosen == "b"
    assert "b ranks best on daily and 7-day-total CRPS" in d.reason
    # without totals, daily CRPS alone ranks them
    assert decide(_result(daily), ["a", "b"], None).eligible == ("a", "b")


def test_an_origin_where_every_model_failed_is_not_compared() -> None:
    """Before a series' first observation every model fails: that origin is left out of
    the comparison instead of making every candidate ineligible."""
    crps = {"climatology": 2.0, "a": 1.5 + NOISE * 0.1}
    r = _result(crps, failures={"climatology": 0, "a": 0})
    d = decide(r, ["a"], None)
    assert d.chosen == "a" and d.eligible == ("a",)
    # once another model is scored at that origin, failing there counts again
    r = _result({**crps, "b": 1.2}, failures={"climatology": 0, "a": 0})
    assert decide(r, ["a", "b"], None).eligible == ("b",)
