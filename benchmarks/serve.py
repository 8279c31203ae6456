"""Serving speed: a stored forecast read vs a trivial endpoint vs `mlflow models serve`.

    python benchmarks/serve.py [--seconds 10] [--connections 32] [--series israel-alerts]

Sets up a temporary home (bundled data, `cadence retrain` for the series, so a champion is
registered in MLflow and its forecast stored), then, on loopback only, for a bounded time:
  trivial   GET /healthz on `cadence serve`                  (the ceiling of that server)
  forecast  GET /v1/series/<series>/forecast on the same server (stored, cached body)
  query     GET /v1/series/<series>/forecast?horizon=14&quantiles=0.1,0.5,0.9 (re-summarised
            from the stored paths once, then cached per normalised query)
  mlflow    POST /invocations on `mlflow models serve` of models:/cadence-<series>@champion
            (the same 28-day forecast, 1,000 paths, computed by the registered pyfunc)
Uses `wrk` when installed (Debian package), else a Python asyncio client. Prints
requests/s, p50 and p99 latency and the ratios. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server behind {url} exited with status {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f}s")


def run_wrk(
    url: str, seconds: int, connections: int, body: str | None, tmp: Path
) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if body is not None:
        script = tmp / "post.lua"
        script.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(body)}\n"
        )
        cmd[1:1] = ["-s", str(script)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
        return float(m.group(1)) * scale

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


async def _python_load(
    url: str, seconds: int, connections: int, body: str | None
) -> dict[str, float]:
    lat: list[float] = []
    bad = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal bad
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                if body is None:
                    r = await client.get(url)
                else:
                    r = await client.post(
                        url, content=body, headers={"Content-Type": "application/json"}
                    )
                lat.append(time.perf_counter() - t0)
                bad += r.status_code >= 300

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        took = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=100)
    return {
        "rps": len(lat) / took,
        "p50_ms": q[49] * 1e3,
        "p99_ms": q[98] * 1e3,
        "non_2xx": float(bad),
    }


def load(url: str, seconds: int, connections: int, body: str | None, tmp: Path) -> dict[str, float]:
    if shutil.which("wrk"):
        return run_wrk(url, seconds, connections, body, tmp)
    return asyncio.run(_python_load(url, seconds, connections, body))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--series", default="israel-alerts")
    ap.add_argument("--skip-mlflow", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = {
            **os.environ,
            "CADENCE_HOME": str(tmp / "home"),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            # `mlflow models serve` starts `uvicorn` from PATH
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("CADENCE_DATABASE_URL", None)
        env.pop("CADENCE_MLFLOW_TRACKING_URI", None)
        cadence = str(VENV_BIN / "cadence")
        t0 = time.perf_counter()
        subprocess.run(
            [cadence, "load-bundled", "--json"], env=env, check=True, capture_output=True
        )
        subprocess.run(
            [cadence, "retrain", "--series", a.series, "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"setup (load bundled data, retrain {a.series}): {time.perf_counter() - t0:.1f}s")
        procs: list[subprocess.Popen[bytes]] = []
        try:
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [cadence, "serve", "--port", str(port)],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/healthz")
            httpx.get(f"{base}/v1/series/{a.series}/forecast").raise_for_status()
            query = f"{base}/v1/series/{a.series}/forecast?horizon=14&quantiles=0.1,0.5,0.9"
            httpx.get(query).raise_for_status()
            results = {
                "trivial": load(base + "/healthz", a.seconds, a.connections, None, tmp),
                "forecast": load(
                    f"{base}/v1/series/{a.series}/forecast", a.seconds, a.connections, None, tmp
                ),
                "query": load(query, a.seconds, a.connections, None, tmp),
            }
            if not a.skip_mlflow:
                mport = free_port()
                tracking = f"sqlite:///{tmp / 'home' / 'mlflow.db'}"
                procs.append(
                    subprocess.Popen(
                        [
                            str(VENV_BIN / "mlflow"),
                            "models",
                            "serve",
                            "-m",
                            f"models:/cadence-{a.series}@champion",
                            "--env-manager",
                            "local",
                            "-h",
                            "127.0.0.1",
                            "-p",
                            str(mport),
                        ],
                        env={**env, "MLFLOW_TRACKING_URI": tracking},
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                wait_ready(f"http://127.0.0.1:{mport}/ping", timeout=300, proc=procs[-1])
                body = json.dumps(
                    {
                        "dataframe_split": {
                            "columns": ["horizon", "n_samples", "seed"],
                            "data": [[28, 1000, 0]],
                        }
                    }
                )
                r = httpx.post(
                    f"http://127.0.0.1:{mport}/invocations",
                    content=body,
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                )
                r.raise_for_status()
                results["mlflow"] = load(
                    f"http://127.0.0.1:{mport}/invocations",
                    a.seconds,
                    min(a.connections, 8),
                    body,
                    tmp,
                )
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    tool = "wrk" if shutil.which("wrk") else "python asyncio client"
    print(f"load: {tool}, {a.seconds}s per target, loopback")
    print(f"{'target':9} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for k, r in results.items():
        print(f"{k:9} {r['rps']:10,.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8.0f}")
    f, t = results["forecast"]["rps"], results["trivial"]["rps"]
    q = results["query"]["rps"]
    print(f"forecast read / trivial endpoint: {f / t:.2f}  (target >= 0.80)")
    print(f"forecast read with a query string / trivial endpoint: {q / t:.2f}  (target >= 0.80)")
    if "mlflow" in results:
        m = results["mlflow"]["rps"]
        print(f"forecast read / mlflow models serve: {f / m:.1f}x  (target >= 10x)")
        print(f"forecast read with a query string / mlflow models serve: {q / m:.1f}x")


if __name__ == "__main__":
    main()
