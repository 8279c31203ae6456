"""``cadence backtest`` end to end on a synthetic catalog series (generated rows)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from types import MappingProxyType

import pytest

from cadence.models import lookup
from cadence.service.cli import main
from tests.store.synthetic import native_event_rows, write_csv


@pytest.fixture
def home(catalog_home: Path) -> Path:
    rows = write_csv(catalog_home / "events.csv", native_event_rows(900, seed=2))
    assert main(["ingest", "events", str(rows)]) == 0
    return catalog_home


def _args(home: Path, *extra: str) -> list[str]:
    return [
        "backtest",
        "--series",
        "synthetic-attacks",
        "--models",
        "recent_rate,negbin_glm,ensemble",
        "--start",
        "2024-06-01",
        "--every",
        "14D",
        "--horizon",
        "14",
        "--samples",
        "200",
        "--json",
        str(home / "out.json"),
        *extra,
    ]


def test_backtest_writes_the_json_and_prints_scores(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(home, "--no-tracking")) == 0
    captured = capsys.readouterr()
    doc = json.loads((home / "out.json").read_text())
    assert doc["series"] == "synthetic-attacks" and doc["horizon"] == 14
    assert doc["origins"][0] >= "2024-06-01"
    # the synthetic events run to 2024-09-29: the last origin leaves a whole horizon
    assert doc["origins"][-1] == "2024-09-15"
    models = {r["model"] for r in doc["scores"]}
    assert models == {"climatology", "recent_rate", "negbin_glm", "ensemble"}
    assert len(doc["scores"]) == 4 * 15
    assert doc["skill_vs_climatology"]["climatology"] == 0.0
    assert doc["mlflow_run_ids"] == {}
    assert "daily scores, synthetic-attacks" in captured.out
    assert "7-day totals" in captured.out
    assert "negbin_glm" in captured.out


def test_run_ids_come_from_the_tracking_module(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def log_backtest(result: object, *, tracking_uri: str) -> dict[str, str]:
        seen["uri"] = tracking_uri
        return {m: f"run-{m}" for m in result.models}  # type: ignore[attr-defined]

    fake = types.ModuleType("cadence.experiments.tracking")
    fake.log_backtest = log_backtest  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cadence.experiments.tracking", fake)
    assert main(_args(home)) == 0
    doc = json.loads((home / "out.json").read_text())
    assert doc["mlflow_run_ids"]["negbin_glm"] == "run-negbin_glm"
    assert str(seen["uri"]).endswith("mlflow.db")


def test_failures_are_named_and_bad_input_exits_2(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backtest", "--series", "synthetic-attacks", "--models", "nope"]) == 2
    assert "unknown model" in capsys.readouterr().err
    assert main(["backtest", "--series", "no-such-series", "--no-tracking"]) == 2
    code = main(
        [
            "backtest",
            "--series",
            "synthetic-attacks",
            "--start",
            "2030-01-01",
            "--no-tracking",
        ]
    )
    assert code == 2
    assert "no origin" in capsys.readouterr().err


def test_a_model_failing_at_an_origin_is_named_with_its_reason(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = lookup.ModelSpec("flaky", "tests.experiments.test_backtest:FlakyModel", "double")
    monkeypatch.setattr(lookup, "REGISTRY", MappingProxyType({**lookup.REGISTRY, "flaky": spec}))
    args = ["backtest", "--series", "synthetic-attacks", "--models", "flaky", "--start"]
    assert (
        main([*args, "2024-02-20", "--end", "2024-04-10", "--horizon", "7", "--no-tracking"]) == 0
    )
    err = capsys.readouterr().err
    assert "failed flaky at origin 2024-03-" in err
    assert "RuntimeError: cannot fit in March" in err


def test_simulated_driver_futures_are_recorded_and_leave_models_without_drivers_alone(
    home: Path,
) -> None:
    def run(*extra: str) -> dict[str, object]:
        args = _args(home, "--no-tracking", *extra)
        args[args.index("--models") + 1] = "recent_rate"
        assert main(args) == 0
        return dict(json.loads((home / "out.json").read_text()))

    plain = run()
    simulated = run("--driver-futures", "simulated", "--driver-paths", "5")
    simulated_se = run(
        "--driver-futures", "simulated", "--driver-paths", "5", "--driver-process", "self_exciting"
    )
    assert plain["driver_futures"] == {"mode": "none"}
    assert simulated["driver_futures"] == {"mode": "simulated", "paths": 5, "process": "rate"}
    assert simulated_se["driver_futures"] == {
        "mode": "simulated",
        "paths": 5,
        "process": "self_exciting",
    }
    # climatology and the recent rate read no driver column: the very same scores
    assert simulated["scores"] == plain["scores"] == simulated_se["scores"]
    assert main([*_args(home, "--no-tracking"), "--driver-futures", "sometimes"]) == 2


def test_runs_over_simulated_driver_futures_are_tagged(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[object] = []

    def log_backtest(
        result: object, *, tracking_uri: str, tags: dict[str, str] | None = None
    ) -> dict[str, str]:
        seen.append(tags)
        return {}

    fake = types.ModuleType("cadence.experiments.tracking")
    fake.log_backtest = log_backtest  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cadence.experiments.tracking", fake)
    args = _args(home)
    args[args.index("--models") + 1] = "recent_rate"
    assert main(args) == 0
    assert main([*args, "--driver-futures", "simulated", "--driver-paths", "4"]) == 0
    assert seen == [
        {},
        {
            "cadence.driver_futures": "simulated",
            "cadence.driver_paths": "4",
            "cadence.driver_process": "rate",
        },
    ]
