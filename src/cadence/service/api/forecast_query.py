"""The query of a forecast read, normalised: ``(horizon, quantile levels)``.

The route and the in-memory fast path key cached bodies on the same normalised query, so
``?quantiles=0.10,0.5`` and ``?quantiles=0.1,0.5&foo=1`` share one entry (parameters the
route does not read change nothing in the body).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl

from cadence.jobs.served_body import DEFAULT_QUANTILES

MAX_LEVELS = 19
MAX_HORIZON = 366
_HORIZON = re.compile(r"^[1-9][0-9]{0,2}$")

ForecastQuery = tuple[int | None, tuple[float, ...]]


def quantile_levels(text: str | None) -> tuple[float, ...]:
    """Comma-separated levels in (0, 1) as floats (the defaults when ``text`` is None).
    Raises ``ValueError`` naming the parameter and what was expected."""
    if text is None:
        return DEFAULT_QUANTILES
    try:
        levels = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        levels = ()
    if not levels or any(not 0 < q < 1 for q in levels) or len(levels) > MAX_LEVELS:
        raise ValueError(
            f"quantiles: expected 1 to {MAX_LEVELS} comma-separated levels in (0, 1), got {text!r}"
        )
    return levels


@lru_cache(maxsize=512)  # dashboards repeat a few query strings: parse each once
def parse_forecast_query(query_string: bytes) -> ForecastQuery | None:
    """The normalised query of a raw query string, or None when the route must answer
    (a bad or repeated ``horizon``/``quantiles``: its 422 comes from the route; an
    ``as_of`` or ``model``: a replay the route computes)."""
    if not query_string:
        return None, DEFAULT_QUANTILES
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    except ValueError:
        return None
    seen = dict(pairs)
    if "as_of" in seen or "model" in seen:
        return None  # a replay: the route refits, nothing is cached
    wanted = [k for k, _ in pairs if k in ("horizon", "quantiles")]
    if len(wanted) != len(set(wanted)):
        return None
    horizon: int | None = None
    if "horizon" in seen:
        if not _HORIZON.match(seen["horizon"]) or int(seen["horizon"]) > MAX_HORIZON:
            return None
        horizon = int(seen["horizon"])
    try:
        levels = quantile_levels(seen.get("quantiles"))
    except ValueError:
        return None
    return horizon, levels
