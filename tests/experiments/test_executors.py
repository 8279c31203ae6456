"""The same backtest gives the same result on every executor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cadence.experiments.backtest import BacktestResult, ModelConfig, default_origins, run_backtest
from cadence.experiments.errors import BacktestConfigError
from cadence.experiments.executors import (
    DaskExecutor,
    Executor,
    ProcessExecutor,
    SerialExecutor,
    make_executor,
)
from tests.experiments.test_backtest import synthetic_data

CONFIGS = [
    ModelConfig("climatology"),
    ModelConfig("negbin_glm"),
    ModelConfig("negbin_glm", {"include": ["missing"]}, alias="broken"),
    ModelConfig("ensemble", {"members": ["climatology", "negbin_glm"]}),
]


def _run(executor: Executor) -> tuple[BacktestResult, list[tuple[int, int]]]:
    data = synthetic_data(days=120, seed=11)
    origins = default_origins(data, every="7D", horizon=7)
    calls: list[tuple[int, int]] = []
    r = run_backtest(
        data,
        CONFIGS,
        origins=origins,
        horizon=7,
        n_samples=100,
        seed=4,
        executor=executor,
        progress=lambda done, total: calls.append((done, total)),
    )
    return r, calls


@pytest.fixture(scope="module")
def serial() -> BacktestResult:
    with SerialExecutor() as ex:
        return _run(ex)[0]


def _assert_same(a: BacktestResult, b: BacktestResult) -> None:
    pd.testing.assert_frame_equal(a.per_origin, b.per_origin)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.window_per_origin, b.window_per_origin)
    assert a.failures == b.failures
    assert a.failures  # the broken configuration fails everywhere, on every executor
    for fa, fb in zip(a.forecasts, b.forecasts, strict=True):
        assert (fa.model, fa.origin, fa.error) == (fb.model, fb.origin, fb.error)


def test_dask_local_cluster_gives_the_serial_result(serial: BacktestResult, tmp_path: Path) -> None:
    with DaskExecutor(workers=2, processes=False, local_directory=tmp_path) as ex:
        assert ex.workers == 2
        result, calls = _run(ex)
    _assert_same(serial, result)
    total = len(result.origins) * 4
    assert calls[-1] == (total, total)
    assert len(calls) > 2  # batched: several tasks report progress


def test_process_pool_gives_the_serial_result(serial: BacktestResult) -> None:
    with ProcessExecutor(2) as ex:
        result, _ = _run(ex)
    _assert_same(serial, result)


def test_make_executor_checks_its_options() -> None:
    assert isinstance(make_executor("serial"), SerialExecutor)
    with pytest.raises(BacktestConfigError, match="expected serial, process or dask"):
        make_executor("threads")
    with pytest.raises(BacktestConfigError, match="--scheduler needs the dask executor"):
        make_executor("serial", scheduler="tcp://127.0.0.1:8786")


def test_an_existing_scheduler_is_used_and_left_running(tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        local_directory=str(tmp_path),
        dashboard_address=":0",  # any free port: another cluster may hold 8787
    ) as cluster:
        with make_executor("dask", scheduler=cluster.scheduler_address) as ex:
            assert isinstance(ex, DaskExecutor) and ex.workers == 1
            assert sorted(ex.run(_double, 10, [(1,), (2,), (3,)])) == [12, 14, 16]
        assert cluster.scheduler.status.name == "running"


def _double(shared: int, x: int) -> int:
    return shared + 2 * x
