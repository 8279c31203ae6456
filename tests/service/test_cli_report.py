"""``cadence report`` end to end: synthetic tallies and events (generated rows, source
``synthetic``) through the store to Markdown, HTML and JSON; one run on the bundled
real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cadence.service.cli import main
from tests.store.synthetic import native_event_rows, write_csv

TALLY_CATALOG = """
series:
  - name: synthetic-tallies
    frequency: D
    target: {observations: true}
    drivers:
      retaliation: {kind: retaliation}
      statements: {source: synthetic}
"""


@pytest.fixture
def home(catalog_home: Path) -> Path:
    """``synthetic-attacks`` (events, 2023-10-01 .. 2024-09-29) and ``synthetic-tallies``
    (cumulative totals every 6 days from 2023-10-01, Poisson(2) a day)."""
    rows = write_csv(catalog_home / "events.csv", native_event_rows(900, seed=2))
    assert main(["ingest", "events", str(rows)]) == 0
    (catalog_home / "tallies.yaml").write_text(TALLY_CATALOG)
    assert main(["series", "apply", str(catalog_home / "tallies.yaml")]) == 0
    rng = np.random.default_rng(3)
    days = pd.date_range("2023-10-01", periods=240, freq="D")
    cumulative = np.cumsum(rng.poisson(2.0, len(days)))
    tallies = pd.DataFrame(
        {
            "as_of_date": [d.date().isoformat() for d in days[5::6]],
            "total": cumulative[5::6],
            "period_start": ["2023-10-01"] + [""] * (len(days[5::6]) - 1),
        }
    )
    tallies.to_csv(catalog_home / "tallies.csv", index=False)
    args = ["ingest", "tallies", str(catalog_home / "tallies.csv"), "--series", "synthetic-tallies"]
    assert main(args) == 0
    return catalog_home


def _report(*extra: str) -> list[str]:
    return ["report", "--samples", "300", *extra]


def test_markdown_with_the_chart_beside_it(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = home / "reports" / "tallies.md"
    args = _report("--series", "synthetic-tallies", "--as-of", "2024-01-05", "--out", str(out))
    assert main(args) == 0
    md = out.read_text()
    assert (home / "reports" / "tallies.png").read_bytes()[:4] == b"\x89PNG"
    assert "![forecast chart](tallies.png)" in md
    assert "# synthetic-tallies: forecast as of 2024-01-05" in md
    assert "an interval total reported later" in md  # tallies every 6 days follow
    assert "hawkes cannot fit interval observations" in md
    err = capsys.readouterr().err
    assert "wrote" in err and "scored" in err


def test_html_is_one_self_contained_page(home: Path) -> None:
    out = home / "attacks.html"
    args = _report("--series", "synthetic-attacks", "--as-of", "2024-06-30", "--out", str(out))
    assert main(args) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    assert 'src="http' not in page and "<link" not in page
    assert "7 days window" in page  # later daily counts exist


def test_json_says_what_is_scored_and_what_is_not(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _report("--series", "synthetic-tallies", "--as-of", "2024-05-27", "--json")
    assert main([*args, "--model", "climatology"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"]["name"] == "climatology"
    assert doc["data_through"] == "2024-05-27" and doc["scored"] == []
    assert any("nothing is scored" in n for n in doc["truth_notes"])
    assert [w["label"] for w in doc["windows"]] == ["7 days", "14 days", "28 days"]


def test_bad_input_exits_2_with_a_reason(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--as-of", "2024-01-05"]
    assert main(_report("--series", "synthetic-tallies", *base, "--model", "hawkes")) == 2
    assert "hawkes cannot fit interval observations" in capsys.readouterr().err
    assert main(_report("--series", "nope", *base)) == 2
    assert main(_report("--series", "synthetic-tallies", "--as-of", "05/01/2024")) == 2
    assert main(_report("--series", "synthetic-tallies", *base, "--out", "x.pdf")) == 2
    assert main(_report("--series", "synthetic-tallies", "--as-of", "2020-01-01")) == 2
    assert "was known on 2020-01-01" in capsys.readouterr().err


def test_the_seed_case_on_the_bundled_data(
    catalog_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The DoD tallies: as of 2024-01-18 the next tally (2024-02-09, 168) pins down the
    22 days 2024-01-19 .. 2024-02-09 (28 attacks); as of 2024-02-10 nothing follows, but
    the sampled reports (the transcribed news list, read from the store with the series)
    run the data to the as-of day and bound the windows after it from below."""
    assert main(["load-bundled"]) == 0
    capsys.readouterr()
    series = ["--series", "us-forces-iraq-syria", "--model", "climatology", "--json"]
    assert main(_report(*series, "--as-of", "2024-01-18")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(s["first"], s["last"], s["observed"]) for s in doc["scored"]] == [
        ("2024-01-19", "2024-02-09", 28.0)
    ]
    assert {e["feature"][:4] for e in doc["effects"]["rows"]} <= {"ret_", "stm_"}
    assert main(_report(*series, "--as-of", "2024-02-10")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scored"] == [] and doc["data_through"] == "2024-02-10"
    assert "2024-02-09" in [s["date"] for s in doc["statements"]]
    assert "ensemble" in doc["skipped"] and "hawkes" in doc["skipped"]
    bounds = {b["label"]: b["at_least"] for b in doc["sampled_bounds"]}
    # the news list dates 2 attacks in 2024-02-11 .. 2024-03-09 (none after 2024-02-04
    # but these two): a lower bound, never a score
    assert bounds and max(bounds.values()) == 2
    # the fused model's origin is the as-of day itself: only the daily reports reach it
    assert doc["origin"] == "2024-02-10"
