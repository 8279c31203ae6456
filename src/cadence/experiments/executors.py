"""Where backtest tasks run: in this process, a local process pool, or Dask.

An executor runs ``fn(shared, *task)`` for every task and yields the results in
completion order (callers key results, so order carries no meaning). ``shared`` (the
series data) is sent to each worker once: a pool initializer for processes,
``Client.scatter(broadcast=True)`` for Dask. Tasks are submitted with ``pure=False``:
two identical tasks are two runs.

Use executors as context managers; a Dask ``LocalCluster`` started here is closed on
exit, an existing scheduler (``address``) is only disconnected from.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from cadence.experiments.errors import BacktestConfigError, ExecutorError

__all__ = [
    "DaskExecutor",
    "Executor",
    "ExecutorKind",
    "ProcessExecutor",
    "SerialExecutor",
    "make_executor",
]

ExecutorKind = Literal["serial", "process", "dask"]


class Executor(Protocol):
    """Runs tasks; ``workers`` is how many run at once (for batching)."""

    workers: int

    def run(
        self, fn: Callable[..., Any], shared: object, tasks: Sequence[tuple[object, ...]]
    ) -> Iterator[Any]: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class _Context:
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release workers (nothing to release by default)."""


class SerialExecutor(_Context):
    """Every task in this process, one after another."""

    workers = 1

    def run(
        self, fn: Callable[..., Any], shared: object, tasks: Sequence[tuple[object, ...]]
    ) -> Iterator[Any]:
        for task in tasks:
            yield fn(shared, *task)


_SHARED: object = None


def _set_shared(value: object) -> None:
    global _SHARED
    _SHARED = value


def _call_with_shared(fn: Callable[..., Any], *task: object) -> Any:
    return fn(_SHARED, *task)


class ProcessExecutor(_Context):
    """A local pool of ``workers`` processes (``concurrent.futures``)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: cf.ProcessPoolExecutor | None = None
        self._shared_id: int | None = None

    def run(
        self, fn: Callable[..., Any], shared: object, tasks: Sequence[tuple[object, ...]]
    ) -> Iterator[Any]:
        if self._pool is None or self._shared_id != id(shared):
            self.close()
            self._pool = cf.ProcessPoolExecutor(
                self.workers, initializer=_set_shared, initargs=(shared,)
            )
            self._shared_id = id(shared)
        futures = [self._pool.submit(_call_with_shared, fn, *t) for t in tasks]
        try:
            for f in cf.as_completed(futures):
                yield f.result()
        except cf.process.BrokenProcessPool as exc:
            raise ExecutorError(f"a worker process died: {exc}") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class DaskExecutor(_Context):
    """Dask distributed: an existing scheduler at ``address`` (``tcp://HOST:PORT``) or
    a ``LocalCluster`` of ``workers`` single-threaded workers (``processes=False`` runs
    them as threads of this process). ``local_directory`` holds worker spill files
    (default: a fresh temporary directory)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 2,
        processes: bool = True,
        local_directory: str | Path | None = None,
    ) -> None:
        # imported here: dask is only needed when this executor is chosen
        from distributed import Client, LocalCluster

        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._cluster: LocalCluster | None = None
        try:
            if address is not None:
                self.client = Client(address, timeout="10s")
            else:
                if local_directory is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="cadence-dask-")
                    local_directory = self._tmp.name
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=processes,
                    local_directory=str(local_directory),
                    dashboard_address=":0",  # any free port: another cluster may hold 8787
                )
                self.client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            self.close()
            where = address or "a local cluster"
            raise ExecutorError(f"cannot start Dask on {where}: {exc}") from exc
        n = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        self.workers = max(1, n)

    def run(
        self, fn: Callable[..., Any], shared: object, tasks: Sequence[tuple[object, ...]]
    ) -> Iterator[Any]:
        from distributed import as_completed

        shared_f = self.client.scatter(shared, broadcast=True, hash=False)
        futures = [self.client.submit(fn, shared_f, *t, pure=False) for t in tasks]
        for f in as_completed(futures):
            try:
                result = f.result()
            except Exception as exc:  # a lost worker (KilledWorker), a failing task
                raise ExecutorError(f"a Dask task failed: {type(exc).__name__}: {exc}") from exc
            yield result

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def make_executor(
    kind: str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    local_directory: str | Path | None = None,
    processes: bool = True,
) -> SerialExecutor | ProcessExecutor | DaskExecutor:
    """The executor named ``kind`` (``serial``, ``process`` or ``dask``). ``scheduler``
    implies Dask."""
    if scheduler is not None and kind != "dask":
        raise BacktestConfigError(f"--scheduler needs the dask executor, got {kind!r}")
    if kind == "serial":
        return SerialExecutor()
    if kind == "process":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(
            scheduler,
            workers=workers or 2,
            processes=processes,
            local_directory=local_directory,
        )
    raise BacktestConfigError(f"executor: expected serial, process or dask, got {kind!r}")
