"""The real data Cadence ships (``data/``), turned into native rows and loaded.

Every row comes from a file under ``data/`` with its provenance in that folder's
``SOURCE.md``; the mapping from each raw layout to the native one is written here once.
Loading is idempotent: rows are keyed by content, tallies are a snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from cadence import columns as C
from cadence.features.counts import check_observations
from cadence.features.stance import normalize_stance_label, resolve_stances
from cadence.service.catalog import apply_catalog_file
from cadence.store.ingest import (
    IngestSummary,
    ingest_counts,
    ingest_events,
    ingest_statements,
    ingest_tallies,
)

US_FORCES = "us_forces_attacks_news_transcribed"
TALLIES = "pentagon_attack_tallies"
ALERTS = "oref-dleshem-commitlog"
ISRAEL_EVENTS = "israel-fronts-key-events"
STATEMENT_TEXTS = "statements"
CATALOG = "catalog.yaml"

SERIES_US_FORCES = "us-forces-iraq-syria"
SERIES_ISRAEL_ALERTS = "israel-alerts"
ALERTS_FIRST_DAY = "2023-10-24"  # 2023-10-22/23 are the alert repository's backfill
FULL_RESUMPTION_DATE = "2024-02-09"
FULL_RESUMPTION_FILE = "iri_full_resumption_2024-02-09.txt"


@dataclass(frozen=True)
class BundledLoad:
    catalog: dict[str, str]
    ingests: list[IngestSummary]


def _text_frame(df: pd.DataFrame) -> pd.DataFrame:
    """All cells as text (blank for missing), indexed by 1-based row number."""
    out = df.astype("string").fillna("").astype(object)
    out.index = pd.RangeIndex(1, len(out) + 1)
    return out


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _leading_int(text: str) -> str:
    """'5 killed ...' -> '5'; ranges ('2-3 killed') and prose give blank (unknown)."""
    m = re.match(r"^\s*(\d+)\s+(?:killed|members|[A-Za-z])", text)
    return m.group(1) if m and not re.match(r"^\s*\d+\s*-\s*\d", text) else ""


def us_forces_attacks(data: Path) -> pd.DataFrame:
    raw = _read(data / US_FORCES / "events.csv")
    df = pd.DataFrame(
        {
            C.DATE: raw["date"],
            C.KIND: C.KIND_ATTACK,
            C.THEATRE: raw["country"].str.lower(),
            C.COUNTRY: raw["country"],
            C.ADMIN1: raw["location"],
            C.LOCATION: raw["target_base"],
            C.ACTOR: raw["claimed_by"],
            C.TARGET: "US forces",
            C.WEAPON: raw["weapon"],
            C.NOTES: raw["casualties"],
            C.SOURCE: "us-forces-attacks-transcribed",
            "date_precision": raw["date_precision"],
            "source_note": raw["source_note"],
            "source_url": raw["source_url"],
        }
    )
    return _text_frame(df)


def us_strikes(data: Path) -> pd.DataFrame:
    """US strikes on Iran-backed groups as ``retaliation`` events. ``severity`` is 2 when
    the row says a commander or leader was killed or that dozens of targets were struck,
    else 1 (a coding rule applied to the row's own text, documented in data/README.md)."""
    raw = _read(data / US_FORCES / "us_strikes.csv")
    text = (raw["target"] + " " + raw["casualties_reported"]).str.lower()
    severe = text.str.contains(r"commander|leader|\b\d{2,} targets", regex=True)
    df = pd.DataFrame(
        {
            C.DATE: raw["date"],
            C.KIND: C.KIND_RETALIATION,
            C.THEATRE: raw["country"].str.split(";").str[0].str.lower(),
            C.COUNTRY: raw["country"],
            C.LOCATION: raw["location"],
            C.ACTOR: raw["executor"],
            C.TARGET: raw["target"],
            C.FATALITIES: raw["casualties_reported"].map(_leading_int),
            C.NOTES: raw["casualties_reported"],
            C.SOURCE: "us-strikes-transcribed",
            "severity": severe.map({True: "2", False: "1"}),
            "date_precision": raw["date_precision"],
            "source_note": raw["source_note"],
            "source_url": raw["source_url"],
        }
    )
    return _text_frame(df)


def militia_statements(data: Path) -> pd.DataFrame:
    """Militia statements with the analyst's stance mapped to the three stances; the
    2024-02-09 Islamic Resistance in Iraq row carries the statement's full text."""
    raw = _read(data / US_FORCES / "militia_statements.csv")
    text = raw["summary_or_quote"].copy()
    full = (data / STATEMENT_TEXTS / FULL_RESUMPTION_FILE).read_text(encoding="utf-8").strip()
    is_full = (raw["date"] == FULL_RESUMPTION_DATE) & raw["group"].str.startswith(
        "Islamic Resistance in Iraq"
    )
    text[is_full] = full
    df = pd.DataFrame(
        {
            C.DATE: raw["date"],
            C.ACTOR: raw["group"],
            C.LANGUAGE: "en",
            C.TEXT: text,
            C.STANCE: raw["stance"].map(lambda s: normalize_stance_label(s) or ""),
            C.SOURCE: "militia-statements-transcribed",
            "raw_stance": raw["stance"],
            "summary": raw["summary_or_quote"].where(is_full, ""),
            "date_precision": raw["date_precision"],
            "source_url": raw["source_url"],
        }
    )
    return _text_frame(df)


def israel_key_events(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Israel-fronts key events: attacks and retaliations as events, statements as
    statements with the analyst's stance."""
    raw = _read(data / ISRAEL_EVENTS / "events_2023-10_2024-06.csv")
    ev = raw[raw["kind"] != "statement"]
    events = pd.DataFrame(
        {
            C.DATE: ev["date"],
            C.KIND: ev["kind"],
            C.THEATRE: ev["target_or_front"],
            C.ACTOR: ev["actor"],
            C.NOTES: ev["summary"],
            C.SOURCE: "israel-fronts-key-events",
            "source_url": ev["source_url"],
        }
    )
    st = raw[raw["kind"] == "statement"]
    statements = pd.DataFrame(
        {
            C.DATE: st["date"],
            C.ACTOR: st["actor"],
            C.LANGUAGE: "en",
            C.TEXT: st["summary"],
            C.STANCE: st["stance"],
            C.SOURCE: "israel-fronts-key-events",
            "theatre": st["target_or_front"],
            "source_url": st["source_url"],
        }
    )
    return _text_frame(events), _text_frame(statements)


def alert_counts(data: Path) -> pd.DataFrame:
    raw = _read(data / ALERTS / "daily_alerts_added_by_commit_date_israel.csv")
    raw = raw[raw["date_israel"] >= ALERTS_FIRST_DAY]
    df = pd.DataFrame(
        {
            C.SERIES: SERIES_ISRAEL_ALERTS,
            C.DATE: raw["date_israel"],
            C.COUNT: raw["n_alerts_added"],
            C.SOURCE: "oref-dleshem-commitlog",
            "n_commits": raw["n_commits"],
            "max_single_commit": raw["max_single_commit"],
        }
    )
    return _text_frame(df)


def dod_tallies(data: Path, out: Path) -> Path:
    """The DoD cumulative tallies (rows counted by DoD or a US military official) as an
    ``as_of_date,total,period_start`` file; other counting bodies are left out."""
    raw = _read(data / TALLIES / "tallies.csv")
    # the body must be DoD or a US military official ("... (no DoD attribution)" is not)
    dod = raw[raw["counting_body"].str.match(r"(DoD|US military official)\b")]
    dod = dod[dod["as_of_date"].str.match(r"^\d{4}-\d{2}-\d{2}$")]
    first = pd.Series("", index=dod.index)
    first.iloc[0] = "2023-10-17"
    pd.DataFrame(
        {
            "as_of_date": dod["as_of_date"],
            "total": dod["total"],
            "period_start": first,
            "counting_body": dod["counting_body"],
            "source_url": dod["source_url"],
        }
    ).to_csv(out, index=False)
    return out


def load_bundled(
    engine: Engine, data: Path, work_dir: Path, progress: Callable[[str], None] | None = None
) -> BundledLoad:
    """Declare the bundled series and load every bundled file (idempotent)."""
    say = progress or (lambda _m: None)
    say("series catalog")
    catalog = apply_catalog_file(engine, data / CATALOG)
    ingests: list[IngestSummary] = []
    say("attacks on US forces (transcribed sample)")
    ingests.append(
        ingest_events(engine, [us_forces_attacks(data)], source_label="us-forces-attacks")
    )
    say("US strikes")
    ingests.append(ingest_events(engine, [us_strikes(data)], source_label="us-strikes"))
    say("militia statements")
    ingests.append(
        ingest_statements(
            engine,
            [militia_statements(data)],
            source_label="militia-statements",
            enrich=resolve_stances,
        )
    )
    ev, st = israel_key_events(data)
    say("Israel-fronts key events")
    ingests.append(ingest_events(engine, [ev], source_label="israel-fronts-events"))
    ingests.append(
        ingest_statements(
            engine, [st], source_label="israel-fronts-statements", enrich=resolve_stances
        )
    )
    say("Home Front Command alert counts")
    ingests.append(
        ingest_counts(
            engine,
            [alert_counts(data)],
            source="oref-dleshem-commitlog",
            check=check_observations,
        )
    )
    say("DoD tallies")
    work_dir.mkdir(parents=True, exist_ok=True)
    tallies = dod_tallies(data, work_dir / "dod_tallies.csv")
    ingests.append(
        ingest_tallies(
            engine,
            tallies,
            series=SERIES_US_FORCES,
            source="dod-tallies",
            check=check_observations,
        )
    )
    return BundledLoad(catalog=catalog, ingests=ingests)
