"""Cadence: forecasts of near-term conflict-event cadence as full predictive distributions.

Layers (imports point one way, checked by import-linter):
``store`` / ``features`` / ``models`` (independent of each other) <- ``experiments`` <- ``service``.
``cadence.columns`` holds the column-name constants every layer shares.
"""

__version__ = "0.1.0"
