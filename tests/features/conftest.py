"""Fixtures for feature tests (synthetic frames; see ``synthetic_frames``)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.features.synthetic_frames import events_frame, statements_frame


@pytest.fixture
def events() -> pd.DataFrame:
    """Two weeks of synthetic attacks and retaliations (not real events)."""
    return events_frame(
        [
            (0, "attack", "Iraq", None, None),
            (0, "attack", "syria ", 0.0, None),
            (2, "attack", "Jordan", None, None),  # outside the target filter
            (3, "attack", "IRAQ", None, None),
            (4, "retaliation", "Syria", 3.0, 1.0),
            (9, "attack", "Syria", None, None),
            (11, "retaliation", "Iraq", None, None),
        ]
    )


@pytest.fixture
def statements() -> pd.DataFrame:
    """Synthetic statements (not real ones)."""
    return statements_frame(
        [
            (1, "de-escalation", None),
            (5, None, None),
            (8, "escalation", 2.0),
            (12, "de-escalation", 0.5),
        ]
    )
