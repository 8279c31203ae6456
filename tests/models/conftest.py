"""Fixtures shared by the model tests: synthetic cases at each frequency."""

from __future__ import annotations

import pytest

from tests.models import synthetic
from tests.models.synthetic import SyntheticCase


@pytest.fixture(scope="session")
def daily_case() -> SyntheticCase:
    """Two years of a synthetic daily series with known parameters (seed fixed)."""
    return synthetic.case("D", seed=2024)


@pytest.fixture(scope="session")
def weekly_case() -> SyntheticCase:
    return synthetic.case("W", seed=11)


@pytest.fixture(scope="session")
def monthly_case() -> SyntheticCase:
    return synthetic.case("M", seed=12)
