"""Backtest scores kept between retrains: stored, replaced, pruned; on each backend."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select

from cadence.store.backtest_cache_repo import CachedRows, read_cached, write_cached
from cadence.store.tables import backtest_scores_table

D = [dt.date(2024, 1, 1) + dt.timedelta(weeks=4 * i) for i in range(4)]


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(backtest_scores_table)).scalar())


def test_written_pairs_are_read_back_replaced_and_pruned(engine: Engine) -> None:
    first = {("climatology", d): ("fp-a", f'{{"at": "{d}"}}') for d in D[:3]}
    assert write_cached(engine, "h=8", [CachedRows("fam/a", first, D[:3])]) == 3
    write_cached(engine, "h=8", [CachedRows("fam/b", {("ingarch", D[0]): ("fp", "{}")}, D[:1])])
    got = read_cached(engine, ["fam/a", "fam/b", "fam/none"], "h=8")
    assert got["fam/a"] == first and set(got) == {"fam/a", "fam/b"}
    assert read_cached(engine, ["fam/a"], "h=4") == {}

    # the next week: origins move on by one, one pair is refitted on revised data
    newer = {("climatology", D[3]): ("fp-b", "{}"), ("climatology", D[2]): ("fp-c", "{}")}
    write_cached(engine, "h=8", [CachedRows("fam/a", newer, D[1:])])
    got = read_cached(engine, ["fam/a"], "h=8")["fam/a"]
    assert set(got) == {("climatology", d) for d in D[1:]}  # D[0] pruned
    assert got[("climatology", D[2])] == ("fp-c", "{}")  # replaced, not duplicated
    assert got[("climatology", D[1])] == first[("climatology", D[1])]  # kept as it was

    # other settings of a series are dropped when it is written under new ones
    write_cached(engine, "h=4", [CachedRows("fam/a", {("climatology", D[3]): ("x", "{}")}, D[3:])])
    assert read_cached(engine, ["fam/a"], "h=8") == {}
    assert _rows(engine) == 2  # fam/a under h=4, fam/b untouched


def test_a_failed_write_keeps_what_was_stored(engine: Engine) -> None:
    kept = {("climatology", D[0]): ("fp", "{}")}
    write_cached(engine, "h=8", [CachedRows("fam/a", kept, D[:1])])
    bad = {("climatology", D[1]): ("fp", None)}  # payload is NOT NULL: the insert fails
    try:
        write_cached(engine, "h=8", [CachedRows("fam/a", bad, D[1:])])  # type: ignore[dict-item]
    except Exception as exc:  # the backend's integrity error
        assert "payload" in str(exc).lower() or "null" in str(exc).lower()
    else:
        raise AssertionError("a NULL payload was stored")
    assert read_cached(engine, ["fam/a"], "h=8")["fam/a"] == kept  # the prune rolled back
