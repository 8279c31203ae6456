"""Ingest speed and peak memory: `cadence` ingest vs plain pandas `read_csv` + `to_sql`.

    python benchmarks/ingest.py [--rows 1000000] [--postgres URL] [--skip-pandas]

Generates a synthetic ACLED-format CSV (rows made by code, not real events), then, each in
a fresh subprocess so peak RSS belongs to that variant alone:
  cadence   : validated, idempotent, chunked ingest (`--format acled`) into an empty DB
  cadence-2 : the same file again (every row found unchanged)
  pandas    : pd.read_csv(file) + DataFrame.to_sql(...) into an empty DB (no validation,
              no keys, no idempotency: the floor a user would write by hand)
Prints rows/s, seconds, peak RSS and the ratio cadence/pandas. Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
HEADER = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2",
    "admin3", "location", "latitude", "longitude", "geo_precision", "source", "source_scale",
    "notes", "fatalities", "tags", "timestamp",
]  # fmt: skip


def generate(path: Path, n: int, seed: int = 0) -> None:
    """A synthetic ACLED-layout file of n rows, written in blocks (bounded memory)."""
    rng = np.random.default_rng(seed)
    types = np.array(["Explosions/Remote violence", "Battles", "Violence against civilians",
                      "Protests", "Riots", "Strategic developments"])  # fmt: skip
    countries = np.array(["Iraq", "Syria", "Jordan", "Lebanon", "Yemen", "Israel"])
    days = np.datetime64("2022-01-01")
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for start in range(0, n, 100_000):
            m = min(100_000, n - start)
            d = (days + rng.integers(0, 730, m)).astype(str)
            t = types[rng.integers(0, len(types), m)]
            c = countries[rng.integers(0, len(countries), m)]
            lat = np.round(29 + 8 * rng.random(m), 4)
            lon = np.round(35 + 10 * rng.random(m), 4)
            fat = rng.poisson(0.7, m)
            for i in range(m):
                k = start + i
                w.writerow([f"SYN{k:08d}", d[i], d[i][:4], "1", "Political violence", t[i],
                            "Synthetic sub-type", f"Synthetic actor {k % 97}", "", "3",
                            f"Synthetic actor {k % 89}", "", "1", "13", "", "368", "Middle East",
                            c[i], f"Region {k % 18}", f"District {k % 120}", "",
                            f"Place {k % 5000}", lat[i], lon[i], "1", "Synthetic Wire",
                            "National", f"synthetic note {k}", fat[i], "",
                            "1700000000"])  # fmt: skip


def run_cadence(file: Path, url: str) -> dict[str, float]:
    from cadence.store import migrate
    from cadence.store.engine import make_engine
    from cadence.store.ingest import event_chunks, ingest_events

    engine = make_engine(url)
    migrate.upgrade(engine)
    t0 = time.perf_counter()
    s = ingest_events(engine, event_chunks(file, "acled"))
    return {"seconds": time.perf_counter() - t0, "inserted": s.inserted, "unchanged": s.unchanged}


def run_pandas(file: Path, url: str) -> dict[str, float]:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url)
    t0 = time.perf_counter()
    df = pd.read_csv(file)
    df.to_sql("acled_events", engine, if_exists="append", index=False)
    return {"seconds": time.perf_counter() - t0, "inserted": len(df), "unchanged": 0}


def child(variant: str, file: Path, url: str) -> None:
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    res = run_pandas(file, url) if variant == "pandas" else run_cadence(file, url)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def measure(variant: str, file: Path, url: str) -> dict[str, float]:
    cmd = [sys.executable, str(HERE), "--child", variant, "--file", str(file), "--url", url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def fresh_postgres(admin_url: str, name: str) -> str:
    """A new empty database ``name`` on the server of ``admin_url``; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--postgres", default=None, help="also measure this PostgreSQL URL")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--url", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.file, a.url)
        return
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "acled.csv"
        t0 = time.perf_counter()
        generate(file, a.rows)
        size = file.stat().st_size / 1e6
        took = time.perf_counter() - t0
        print(
            f"generated {a.rows:,} synthetic ACLED rows ({size:.0f} MB) in {took:.1f}s", flush=True
        )
        print(f"{'backend':9} {'variant':10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}")
        backends = ["sqlite"] + (["postgres"] if a.postgres else [])
        for backend in backends:
            urls: dict[str, str] = {}
            for v in ("cadence", "pandas"):
                if backend == "sqlite":
                    urls[v] = f"sqlite:///{tmp}/{v}.db"
                else:
                    urls[v] = fresh_postgres(a.postgres, f"cadence_bench_{v}")
            results = {}
            variants = ["cadence", "cadence-2"] + ([] if a.skip_pandas else ["pandas"])
            for v in variants:
                kind = "pandas" if v == "pandas" else "cadence"
                r = measure(kind, file, urls[kind])
                results[v] = r
                print(f"{backend:9} {v:10} {r['seconds']:8.1f} {a.rows / r['seconds']:10,.0f} "
                      f"{r['peak_rss_mb']:12.0f}", flush=True)  # fmt: skip
            if "pandas" in results:
                ratio = results["pandas"]["seconds"] / results["cadence"]["seconds"]
                print(f"{backend:9} speed-up of cadence over pandas.to_sql: {ratio:.2f}x; "
                      f"peak memory {results['cadence']['peak_rss_mb']:.0f} vs "
                      f"{results['pandas']['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
            if backend == "postgres":
                for v in ("cadence", "pandas"):
                    drop_postgres(a.postgres, f"cadence_bench_{v}")


if __name__ == "__main__":
    main()
