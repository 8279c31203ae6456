"""Many series at once: same values as one panel per series, without a loop over series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cadence.columns import COUNT, DATE, SERIES
from cadence.features import InputError, build_panel, build_panels, feature_definitions
from tests.features.synthetic_frames import BASE, PROPERTY, spec


def synthetic_counts(n_series: int, n_days: int, seed: int = 0) -> pd.DataFrame:
    """Poisson counts with staggered starts and a few unknown days (synthetic)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_series):
        offset = int(rng.integers(0, 20))
        dates = pd.date_range(BASE + pd.Timedelta(days=offset), periods=n_days - offset, freq="D")
        counts = rng.poisson(rng.uniform(0.1, 3.0), len(dates)).astype(float)
        counts[rng.random(len(dates)) < 0.05] = np.nan
        frames.append(pd.DataFrame({SERIES: f"s{k:02d}", DATE: dates, COUNT: counts}))
    return pd.concat(frames, ignore_index=True)


def events_for(counts: pd.Series) -> pd.DataFrame:
    """Attack rows reproducing known integer counts (NaN days have none)."""
    known = counts.dropna()
    dates = np.repeat(known.index.to_numpy(), known.astype(int).to_numpy())
    return pd.DataFrame({"date": dates, "kind": "attack", "country": "Iraq"})


@pytest.mark.parametrize("frequency", ["D", "W", "M"])
def test_matches_one_panel_per_series(frequency: str) -> None:
    long = synthetic_counts(6, 120).dropna()  # event series have no unknown periods
    long[DATE] = (
        long[DATE].dt.to_period({"D": "D", "W": "W-SUN", "M": "M"}[frequency]).dt.start_time
    )
    long = long.groupby([SERIES, DATE], as_index=False)[COUNT].sum()
    many = build_panels(long, frequency)  # type: ignore[arg-type]
    bare = spec(frequency, drivers={})
    for name, rows in long.groupby(SERIES):
        counts = rows.set_index(DATE)[COUNT]
        last_day = (
            counts.index[-1]
            + pd.tseries.frequencies.to_offset({"D": "D", "W": "W-MON", "M": "MS"}[frequency])
            - pd.Timedelta(days=1)
        )
        one = build_panel(
            bare, events_for(counts), None, None, as_of=last_day, start=counts.index[0]
        ).frame
        got = many.loc[name]
        got.index = pd.DatetimeIndex(got.index, freq=one.index.freq, name="date")
        pd.testing.assert_frame_equal(got, one)


def test_unknown_counts_and_gaps() -> None:
    long = pd.DataFrame(
        {
            SERIES: ["a", "a", "a", "b"],
            DATE: pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03"]),
            COUNT: [1.0, np.nan, 2.0, 4.0],
        }
    )
    out = build_panels(long, "D")
    a = out.loc["a"]
    assert a.index.tolist() == list(pd.date_range("2024-01-01", "2024-01-05"))
    np.testing.assert_array_equal(a[COUNT], [1, np.nan, 0, 0, 2])  # gaps are zero
    assert a["cnt_sum_7d"].tolist() == [1.0, 1.0, 1.0, 1.0, 3.0]
    assert np.isnan(a["cnt_lag_1"].iloc[2])
    assert out.loc["b"][COUNT].tolist() == [4.0]
    names = [d.name for d in feature_definitions("D") if d.name.startswith(("cnt_", "cal_"))]
    assert list(out.columns) == [COUNT, *names]
    assert out.index.names == [SERIES, DATE]


def test_float32_output_halves_memory() -> None:
    long = synthetic_counts(5, 60)
    wide = build_panels(long, "D")
    narrow = build_panels(long, "D", dtype=np.float32)
    assert (narrow.dtypes == np.float32).all()
    np.testing.assert_allclose(narrow.to_numpy(), wide.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (
            pd.DataFrame(
                {SERIES: ["a", "a"], DATE: pd.to_datetime(["2024-01-01"] * 2), COUNT: [1, 2]}
            ),
            "duplicates",
        ),
        (pd.DataFrame({SERIES: ["a"], DATE: pd.to_datetime(["2024-01-01"]), COUNT: [-1]}), ">= 0"),
        (pd.DataFrame({SERIES: ["a"], COUNT: [1]}), "missing"),
        (pd.DataFrame({SERIES: [], DATE: pd.to_datetime([]), COUNT: []}), "at least one"),
    ],
)
def test_bad_long_frames_raise(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(InputError, match=match):
        build_panels(frame, "D")


@PROPERTY
@given(
    frequency=st.sampled_from(["D", "W", "M"]),
    cells=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 90),
            st.one_of(st.none(), st.integers(0, 40).map(float)),
        ),
        min_size=1,
        max_size=80,
        unique_by=lambda c: (c[0], c[1]),
    ),
    seed=st.integers(0, 99),
)
def test_each_series_alone_equals_its_slice_and_order_is_irrelevant(
    frequency: str, cells: list[tuple[str, int, float | None]], seed: int
) -> None:
    """Synthetic counts: a series' rows depend on that series only, never on row order."""
    freq = {"D": "D", "W": "W-MON", "M": "MS"}[frequency]
    dates = pd.date_range(BASE, periods=91, freq=freq)
    long = pd.DataFrame(
        {
            SERIES: [c[0] for c in cells],
            DATE: [dates[c[1]] for c in cells],
            COUNT: [np.nan if c[2] is None else c[2] for c in cells],
        }
    )
    many = build_panels(long, frequency)  # type: ignore[arg-type]
    shuffled = build_panels(long.sample(frac=1.0, random_state=seed), frequency)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(many, shuffled)
    values = many.drop(columns=["cal_year_sin", "cal_year_cos"]).to_numpy()
    assert np.all(values[~np.isnan(values)] >= 0)
    for name, rows in long.groupby(SERIES):
        alone = build_panels(rows, frequency)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(many.loc[[name]], alone)
