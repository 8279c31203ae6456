"""Concurrent ingests that create the same series and rows all succeed (real threads,
one connection each, on a SQLite file and on PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select

from cadence.store.engine import make_engine
from cadence.store.ingest import IngestSummary, ingest_counts
from cadence.store.readers import json_rows_frame
from cadence.store.series_repo import ensure_observed_series
from cadence.store.tables import observations_table, series_table

WORKERS = 8


@pytest.mark.parametrize("declared", [False, True], ids=["new-series", "declared-series"])
def test_parallel_batches_of_the_same_rows_all_succeed(
    engine: Engine, db_url: str, declared: bool
) -> None:
    """Undeclared, all create the series at once; declared, all insert the same new rows at
    once (the losers of the unique-key race replay their batch and find them stored)."""
    rows = [{"date": f"2024-01-{d:02d}", "count": d} for d in range(1, 11)]
    if declared:
        with engine.begin() as conn:
            ensure_observed_series(conn, "new-x", "D")
    start = threading.Barrier(WORKERS)

    def post(_i: int) -> IngestSummary:
        own = make_engine(db_url)
        try:
            frame = json_rows_frame(rows)
            start.wait()
            return ingest_counts(own, [frame], series="new-x", frequency="D", source="api")
        finally:
            own.dispose()

    with ThreadPoolExecutor(WORKERS) as pool:
        summaries = list(pool.map(post, range(WORKERS)))
    assert sum(s.inserted for s in summaries) == 10
    assert all(s.inserted + s.unchanged == 10 for s in summaries)
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(series_table)).scalar_one() == 1
        n_obs = c.execute(select(func.count()).select_from(observations_table)).scalar_one()
    assert n_obs == 10
