"""Service under load: memory over many writes, reads while writing, reads over a big table.

    python benchmarks/load.py [--writes 1000] [--seconds 10] [--unrelated 1000000]

Sets up a temporary home (bundled data; `cadence retrain` of the event-counted series
us-forces-attacks-sampled so writes of attacks give its served forecast new truth and
trigger rescoring), starts `cadence serve` on loopback and, with bounded request counts
and time:
  1. posts --writes batches of one attack event each (sequentially) and prints the
     server's resident memory every tenth of the way and once the rescoring has drained;
  2. reads the stored forecast with 16 connections for --seconds alone, then as long
     again while a writer posts events, and prints p50/p99 of the reads;
  3. times GET /v1/series/us-forces-attacks-sampled/observations (median of 5) with the
     events of the bundled data only, then after --unrelated events of an unrelated kind
     and source are ingested (`cadence ingest events`).
Linux only (reads /proc for the memory). Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import VENV_BIN, free_port, wait_ready

SERIES = "us-forces-attacks-sampled"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def attack(i: int, prefix: str = "load") -> dict[str, str]:
    day = f"2024-02-{1 + i % 28:02d}"
    return {
        "date": day,
        "kind": "attack",
        "target": "US forces",
        "country": "Syria",
        "source": "load-benchmark",
        "source_id": f"{prefix}-{i}",
    }


def writes(base: str, key: str, n: int, pid: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    step = max(1, n // 10)
    print(f"1. server RSS over {n} writes (one event each)")
    print(f"   {0:6d} writes: {rss_mb(pid):8.1f} MB")
    t0 = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        for i in range(n):
            r = client.post(f"{base}/v1/events", json={"rows": [attack(i)]}, headers=headers)
            r.raise_for_status()
            if (i + 1) % step == 0:
                print(f"   {i + 1:6d} writes: {rss_mb(pid):8.1f} MB")
    took = time.perf_counter() - t0
    time.sleep(5)  # the debounced rescoring drains
    print(f"   drained (+5 s): {rss_mb(pid):8.1f} MB   ({n / took:.0f} writes/s)")


async def _reads(url: str, seconds: float, connections: int) -> list[float]:
    lat: list[float] = []
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                (await client.get(url)).raise_for_status()
                lat.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return lat


async def _writer(base: str, key: str, seconds: float) -> int:
    n = 0
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60) as client:
        while time.perf_counter() < stop:
            rows = [attack(n, "mixed")]
            (
                await client.post(f"{base}/v1/events", json={"rows": rows}, headers=headers)
            ).raise_for_status()
            n += 1
    return n


def mixed(base: str, key: str, seconds: float) -> None:
    url = f"{base}/v1/series/israel-alerts/forecast"

    def show(label: str, lat: list[float], extra: str = "") -> None:
        q = statistics.quantiles(lat, n=100)
        print(
            f"   {label:18} {len(lat) / seconds:8.0f} reads/s  p50 {q[49] * 1e3:7.2f} ms"
            f"  p99 {q[98] * 1e3:7.2f} ms{extra}"
        )

    print(f"2. forecast reads, 16 connections, {seconds:.0f} s each")
    show("reads alone", asyncio.run(_reads(url, seconds, 16)))

    async def both() -> tuple[list[float], int]:
        lat, n = await asyncio.gather(_reads(url, seconds, 16), _writer(base, key, seconds))
        return lat, n

    lat, n = asyncio.run(both())
    show("reads with writes", lat, f"  ({n} writes meanwhile)")


def observations_time(base: str) -> float:
    took = []
    with httpx.Client(timeout=600) as client:
        for _ in range(5):
            t0 = time.perf_counter()
            client.get(f"{base}/v1/series/{SERIES}/observations").raise_for_status()
            took.append(time.perf_counter() - t0)
    return statistics.median(took)


def unrelated_file(path: Path, n: int) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "kind", "target", "country", "source", "source_id"])
        for i in range(n):
            day = f"20{20 + i % 4}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            w.writerow([day, "riot", "civilians", "Elsewhere", "bulk-feed", f"u{i}"])


def observations(base: str, env: dict[str, str], n: int, tmp: Path) -> None:
    print(f"3. GET /v1/series/{SERIES}/observations, median of 5")
    print(f"   bundled events only:        {observations_time(base) * 1e3:9.1f} ms")
    path = tmp / "unrelated.csv"
    unrelated_file(path, n)
    t0 = time.perf_counter()
    cadence = str(VENV_BIN / "cadence")
    subprocess.run(
        [cadence, "ingest", "events", str(path)], env=env, check=True, capture_output=True
    )
    print(f"   ({n:,} unrelated events ingested in {time.perf_counter() - t0:.0f} s)")
    print(f"   with {n:,} unrelated events: {observations_time(base) * 1e3:9.1f} ms")


def setup(env: dict[str, str]) -> str:
    cadence = str(VENV_BIN / "cadence")
    subprocess.run([cadence, "load-bundled", "--json"], env=env, check=True, capture_output=True)
    subprocess.run(
        [cadence, "retrain", "--series", SERIES, "--series", "israel-alerts", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [cadence, "apikey", "create", "--name", "load", "--scopes", "write"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return next(w for w in out.split() if w.startswith("cad_"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--writes", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--unrelated", type=int, default=1_000_000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = {**os.environ, "CADENCE_HOME": str(tmp / "home"), "MLFLOW_DISABLE_TELEMETRY": "true"}
        env.pop("CADENCE_DATABASE_URL", None)
        env.pop("CADENCE_MLFLOW_TRACKING_URI", None)
        t0 = time.perf_counter()
        key = setup(env)
        took = time.perf_counter() - t0
        print(f"setup (bundled data, retrain {SERIES} and israel-alerts): {took:.0f} s")
        port = free_port()
        proc = subprocess.Popen(
            [str(VENV_BIN / "cadence"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/healthz", proc=proc)
            writes(base, key, a.writes, proc.pid)
            mixed(base, key, a.seconds)
            observations(base, env, a.unrelated, tmp)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
