"""Numbers for JSON and MLflow: a finite float, or None (JSON null) for NaN, inf and
values that are not numbers."""

from __future__ import annotations

import math

__all__ = ["finite_or_none"]


def finite_or_none(x: object) -> float | None:
    """``float(x)`` when it is finite; None for NaN, +-inf, None and non-numbers."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
