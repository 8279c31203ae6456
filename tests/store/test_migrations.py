"""Migrations from empty to head and back, on each backend."""

from __future__ import annotations

from sqlalchemy import inspect

from cadence.store import migrate
from cadence.store.engine import make_engine
from cadence.store.tables import Base

TABLES = {
    "events",
    "statements",
    "series",
    "observations",
    "forecasts",
    "jobs",
    "api_keys",
    "forecast_scores",
    "row_versions",
}


def test_upgrade_to_head_and_back_to_base(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        names = set(inspect(engine).get_table_names())
        assert names >= TABLES
        migrate.upgrade(engine)  # idempotent
        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_head_schema_matches_the_table_definitions(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        insp = inspect(engine)
        for table in Base.metadata.sorted_tables:
            stored = {c["name"] for c in insp.get_columns(table.name)}
            assert stored == {c.name for c in table.columns}, table.name
    finally:
        engine.dispose()
