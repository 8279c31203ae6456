"""The production topology as local processes: PostgreSQL databases, an MLflow tracking
server, the one-shot jobs and API servers, each started with a deadline and stopped for
sure (``Topology.close``). Only loopback addresses are used.

The commands are the ones ``deploy/compose.yaml`` and ``deploy/k8s/`` run; the
executables are the ones next to the running interpreter (the project's virtualenv).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

BIN = Path(sys.executable).parent
START_S = 90  # a process must answer its health check by then (two shared cores)
COMMAND_S = 300  # a one-shot command must be done by then
STOP_S = 15  # a stopped process must be gone by then, or it is killed


def executable(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise AssertionError(f"{name} is not installed next to {sys.executable}")
    return str(path)


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment without its ``CADENCE_*`` variables, plus
    ``overrides``; relative ``PYTHONPATH`` entries are made absolute, since children run
    in a scratch folder (a checkout's ``src`` stays first on their path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADENCE_")}
    if env.get("PYTHONPATH"):
        parts = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in parts if p)
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def client(timeout: float = 10.0, base_url: str = "") -> httpx.Client:
    """An HTTP client that never goes through a proxy (loopback only)."""
    return httpx.Client(timeout=timeout, trust_env=False, base_url=base_url)


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    base: str = ""  # http://127.0.0.1:PORT for servers

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM to its process group (uvicorn and MLflow workers included), then
        SIGKILL after ``STOP_S``."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_S)
        _signal_group(self.proc.pid, signal.SIGKILL)  # workers left behind by a killed parent


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


@dataclass
class Topology:
    root: Path  # scratch folder: logs, CADENCE_HOME, MLflow artifacts
    admin: Engine  # AUTOCOMMIT engine on the PostgreSQL server's maintenance database
    server_url: str  # that server's URL (the test database ``test``)
    databases: list[str] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)

    def create_database(self, prefix: str) -> str:
        """A fresh database (dropped by ``close``); returns its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.databases.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def start(
        self, name: str, argv: Sequence[str], env: dict[str, str], *, port: int | None = None
    ) -> Process:
        """Start a long-running process in its own process group; logs under root."""
        log = self.root / f"{name}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                list(argv),
                env=env,
                cwd=self.root,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        p = Process(name, proc, log, f"http://127.0.0.1:{port}" if port else "")
        self.processes.append(p)
        return p

    def wait_healthy(self, p: Process, path: str, deadline_s: float = START_S) -> None:
        deadline = time.monotonic() + deadline_s
        with client(timeout=3) as http:
            while True:
                try:
                    if http.get(p.base + path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if p.proc.poll() is not None:
                    raise AssertionError(f"{p.name} exited ({p.proc.returncode}): {p.output()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{p.name} not healthy in {deadline_s}s: {p.output()}")
                time.sleep(0.25)

    def close(self) -> None:
        """Stop every process (newest first), then drop the databases."""
        errors = []
        for p in reversed(self.processes):
            try:
                p.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(f"{p.name}: {exc}")
        with self.admin.connect() as conn:
            for name in self.databases:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()
        if errors:
            raise AssertionError(f"could not stop: {errors}")


def run_command(argv: Sequence[str], env: dict[str, str], cwd: Path) -> str:
    """A one-shot command (a migrate, load or retrain job); its stdout, or an
    AssertionError with its output when it fails or overruns ``COMMAND_S``."""
    done = subprocess.run(
        list(argv), env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_S
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv[1:3])} exited {done.returncode}: {done.stderr[-3000:]}"
        )
    return done.stdout
