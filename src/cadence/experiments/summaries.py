"""Plain-JSON summaries of forecasts shared by reports, live scores and the served body:
quantile keys, rounded numbers (the same samples always give the same bytes), how many
periods make a window of days, and a model's hidden-regimes block."""

from __future__ import annotations

import math
from typing import Any

DECIMALS = 6
_DAYS_PER_PERIOD = {"D": 1, "W": 7}


def level_key(level: float) -> str:
    """The JSON key of a quantile level: ``0.1 -> "0.1"``, ``0.5 -> "0.5"``."""
    return f"{float(level):g}"


def rounded(x: float) -> float:
    """A finite float rounded to ``DECIMALS`` places (``-0.0`` becomes ``0.0``)."""
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"forecast summary is not finite: {v!r}")
    return round(v, DECIMALS) + 0.0


def window_periods(frequency: str, days: int) -> int | None:
    """How many periods make a window of ``days`` days, or None when not a whole number."""
    per = _DAYS_PER_PERIOD.get(frequency)
    if per is None or days % per:
        return None
    return days // per


def regimes_block(block: object) -> dict[str, Any] | None:
    """The served ``regimes`` field from a model's ``meta["regimes"]`` (None when the
    model reports none): states with rounded rates and probabilities, the most likely
    regime, the switch probabilities by window. Raises ``ValueError`` naming the field
    when the block lacks one."""
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ValueError(f"meta['regimes'] must be a mapping, got {type(block).__name__}")
    try:
        states = [
            {
                "name": str(s["name"]),
                "rate": rounded(s["rate"]),
                "probability": rounded(s["probability"]),
            }
            for s in block["states"]
        ]
        p_switch = {str(k): rounded(v) for k, v in block["p_switch"].items()}
        most_likely = str(block["most_likely"])
    except (KeyError, TypeError) as exc:
        raise ValueError(
            "meta['regimes'] needs states (name, rate, probability), most_likely and "
            f"p_switch; missing or malformed: {exc}"
        ) from exc
    return {"states": states, "most_likely": most_likely, "p_switch": p_switch}


__all__ = ["DECIMALS", "level_key", "regimes_block", "rounded", "window_periods"]
