"""Cadence: forecasts of near-term conflict-event cadence as full predictive distributions.

Layers (imports point one way, checked by import-linter):
``store`` / ``features`` / ``models`` (independent of each other) <- ``experiments`` <- ``service``.
``cadence.columns`` holds the column-name constants every layer shares.
"""

__version__ = "0.1.0"


_NOTEBOOK = ("panel", "backtest", "forecast")


def __getattr__(name: str) -> object:
    """``cadence.panel``, ``cadence.backtest`` and ``cadence.forecast`` (see
    ``cadence.notebook``), imported on first use: importing any layer imports this
    package, which must stay free of the database and tracking libraries."""
    if name in _NOTEBOOK:
        from cadence import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module 'cadence' has no attribute {name!r}")
