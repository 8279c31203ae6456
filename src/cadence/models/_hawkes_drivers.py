"""Driver events for ``Hawkes``: which panel columns excite or damp the attack rate.

The feature panel carries retaliation and statement signals as exponentially decayed
sums ``S_t = w * S_{t-1} + x_t`` with ``w = 0.5 ** (1 / half_life)`` (columns such as
``ret_decay_3d``, ``stm_esc_decay_7d``, ``stm_deesc_decay_1w``; the half-life in periods
is the number before the unit letter). The per-period driver events ``x_t`` are
recovered exactly as ``S_t - w * S_{t-1}``, so ``Hawkes`` can estimate its own kernel
for them instead of inheriting the panel's fixed half-life. A scenario's hypothetical
strike in ``future`` shows up the same way (a jump of the decayed sum).

Time convention: ``x_t`` are the events dated in period t; they act on periods > t.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

DEFAULT_FAMILIES = ("ret_decay", "stm_esc_decay", "stm_deesc_decay")
_DECAY_NAME = re.compile(r"^(?P<family>[a-z_]+?)_(?P<half_life>\d+(?:\.\d+)?)[dwm]$")
# Recovered events below this are rounding noise of the decayed sum, not events.
_EVENT_TOL = 1e-9


def auto_drivers(panel: pd.DataFrame, families: Sequence[str]) -> dict[str, float]:
    """For each decayed-sum family present in ``panel`` (e.g. ``ret_decay``), its column
    with the shortest half-life: ``{column: half_life_in_periods}``, in family order."""
    found: dict[str, tuple[float, str]] = {}
    for col in panel.columns:
        m = _DECAY_NAME.match(col) if isinstance(col, str) else None
        if m is None or m["family"] not in families:
            continue
        half_life = float(m["half_life"])
        if m["family"] not in found or half_life < found[m["family"]][0]:
            found[m["family"]] = (half_life, col)
    return {found[f][1]: found[f][0] for f in families if f in found}


def decay_weight(half_life: float) -> float:
    """Per-period carry-over ``w`` of a decayed sum; 0 for a plain per-period count."""
    return 0.0 if half_life <= 0 else float(0.5 ** (1.0 / half_life))


def driver_events(sums: np.ndarray, half_lives: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Per-period driver events from decayed sums, shape like ``sums`` ``(T, J)``, >= 0.

    ``half_lives`` (J,) are the sums' half-lives in periods (0: the column already holds
    per-period events); ``previous`` (J,) the sums in the period before the first row
    (zero at the start of a panel: the first row then keeps what the sum carried from
    before the panel, as if it happened in that period).
    """
    w = np.array([decay_weight(float(h)) for h in half_lives])
    lagged = np.vstack([previous[None, :], sums[:-1]]) if len(sums) else sums
    x = sums - w * lagged
    return np.where(x > _EVENT_TOL, x, 0.0)
