"""The contract every registered count model passes.

Iterates the registry: a name whose module does not import is skipped with the reason.
Each model is fitted with its registered defaults on synthetic series only.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from cadence.columns import PANDAS_FREQ
from cadence.models import CountModel, available_models, make_model
from cadence.models.base import ParamsMixin, check_fitted, clone
from cadence.models.baselines import Climatology
from cadence.models.errors import (
    IntervalsUnsupportedError,
    ModelUnavailableError,
    NotFittedError,
    PanelError,
    ShortHistoryWarning,
)
from cadence.models.lookup import model_class
from tests.models import synthetic
from tests.models.synthetic import SyntheticCase

NAMES = available_models()
HORIZON = 28

# Mean CRPS over 28 days against 200 draws of the true continuation of the fixed daily
# series (`daily_case`). The true process itself scores about 1.978 there; climatology,
# which ignores the autoregression and the covariates, about 2.05.
CRPS_BUDGET: dict[str, float] = {
    "climatology": 2.10,
    "recent_rate": 2.30,
    "negbin_glm": 2.00,
    "ingarch": 2.01,
    "hawkes": 2.01,
    "local_level": 2.35,
    "prophet": 2.05,
    "regime_nb": 2.04,
    "ensemble": 2.06,
}
ORACLE_CRPS = (1.95, 1.99)


def new_model(name: str) -> CountModel:
    try:
        return make_model(name)
    except ModelUnavailableError as exc:
        pytest.skip(f"{name} is not importable yet: {exc}")


@contextmanager
def allow_short_history() -> Iterator[None]:
    """Falling back to climatology (with its named warning) is allowed; nothing else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortHistoryWarning)
        yield


def crps(truth: np.ndarray, samples: np.ndarray) -> float:
    """Mean CRPS of forecast paths ``samples`` (n, h) over observed paths ``truth`` (m, h)."""
    fct = np.broadcast_to(samples.T[None].astype(float), (truth.shape[0], *samples.T.shape))
    return float(sr.crps_ensemble(truth.astype(float), fct, m_axis=-1).mean())


@pytest.fixture(scope="module", params=NAMES)
def fitted(request: pytest.FixtureRequest, daily_case: SyntheticCase) -> CountModel:
    return new_model(request.param).fit(daily_case.panel)


def test_registry_names_are_unique_and_match_classes() -> None:
    assert len(set(NAMES)) == len(NAMES)
    for name in NAMES:
        try:
            cls = model_class(name)
        except ModelUnavailableError:
            continue
        assert cls.name == name
        assert isinstance(cls.supports_intervals, bool)


def test_interface(fitted: CountModel) -> None:
    assert isinstance(fitted, CountModel)
    params = fitted.get_params()
    assert params and all(isinstance(k, str) for k in params)
    fresh = new_model(fitted.name)
    # fitting does not change hyperparameters
    assert comparable(fresh.get_params()) == comparable(params)
    assert not [a for a in vars(fresh) if a.endswith("_") and not a.startswith("_")]


def test_fit_returns_self(daily_case: SyntheticCase) -> None:
    model = new_model("climatology")
    assert model.fit(daily_case.panel) is model


def test_shapes_types_and_labels(fitted: CountModel, daily_case: SyntheticCase) -> None:
    fc = fitted.forecast(
        HORIZON, future=daily_case.future, n_samples=300, rng=np.random.default_rng(0)
    )
    assert fc.samples.shape == (300, HORIZON)
    assert fc.samples.dtype == np.int64
    assert fc.samples.min() >= 0
    assert fc.model == fitted.name
    assert fc.origin == daily_case.panel.index[-1]
    assert fc.index.equals(daily_case.future.index[:HORIZON])
    assert fc.window_total(7).shape == (300,)


def test_quantiles_are_monotone(fitted: CountModel, daily_case: SyntheticCase) -> None:
    fc = fitted.forecast(
        HORIZON, future=daily_case.future, n_samples=500, rng=np.random.default_rng(1)
    )
    q = fc.quantiles([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
    assert np.all(np.diff(q, axis=0) >= 0)
    assert np.all(q[-1] > q[0])  # a real spread, not a point forecast


def test_same_seed_same_paths(fitted: CountModel, daily_case: SyntheticCase) -> None:
    refit = new_model(fitted.name).fit(daily_case.panel)
    a = fitted.forecast(14, future=daily_case.future, n_samples=200, rng=np.random.default_rng(5))
    b = refit.forecast(14, future=daily_case.future, n_samples=200, rng=np.random.default_rng(5))
    c = refit.forecast(14, future=daily_case.future, n_samples=200, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)


@pytest.mark.parametrize("n_samples", [0, -5, 2.5, True])
def test_a_path_count_below_one_or_not_an_integer_is_refused(
    fitted: CountModel, daily_case: SyntheticCase, n_samples: object
) -> None:
    """Every family refuses it with one message, instead of an empty forecast with NaN
    means, one path (Prophet's default) or numpy's 'negative dimensions'."""
    with pytest.raises(ValueError, match=r"n_samples must be an integer >= 1, got "):
        fitted.forecast(
            7, future=daily_case.future, n_samples=n_samples, rng=np.random.default_rng(0)
        )
    with pytest.raises(ValueError, match=r"horizon must be an integer >= 1, got 0"):
        fitted.forecast(0, future=daily_case.future, n_samples=10, rng=np.random.default_rng(0))
    one = fitted.forecast(7, future=daily_case.future, n_samples=1, rng=np.random.default_rng(0))
    assert one.samples.shape == (1, 7)


def test_pickled_model_forecasts_the_same(fitted: CountModel, daily_case: SyntheticCase) -> None:
    """Experiments store fitted models; a stored model must draw the same paths."""
    restored = pickle.loads(pickle.dumps(fitted))
    a = fitted.forecast(7, future=daily_case.future, n_samples=100, rng=np.random.default_rng(3))
    b = restored.forecast(7, future=daily_case.future, n_samples=100, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.samples, b.samples)


@pytest.mark.parametrize("name", NAMES)
def test_all_zero_history(name: str, daily_case: SyntheticCase) -> None:
    model = new_model(name)
    with allow_short_history():
        model.fit(synthetic.all_zero(daily_case))
    fc = model.forecast(
        HORIZON, future=daily_case.future, n_samples=400, rng=np.random.default_rng(2)
    )
    assert np.isfinite(fc.mean()).all()
    assert fc.samples.min() >= 0
    # Two years without an event: a quiet forecast, though not necessarily all zeros.
    assert fc.prob_at_least(1).max() < 0.1


@pytest.mark.parametrize("at", [-30, -3, -1], ids=["30-days-back", "3-days-back", "last-day"])
@pytest.mark.parametrize("name", NAMES)
def test_single_spike_history(name: str, at: int, daily_case: SyntheticCase) -> None:
    """Two years of zeros and one burst of 40, up to the origin itself: the burst is an
    event of the whole history (40 in 730 days), not a series that started, so the
    forecast stays far below it."""
    model = new_model(name)
    with allow_short_history():
        model.fit(synthetic.single_spike(daily_case, height=40.0, at=at))
    fc = model.forecast(
        HORIZON, future=daily_case.future, n_samples=400, rng=np.random.default_rng(3)
    )
    assert np.isfinite(fc.mean()).all()
    assert fc.samples.min() >= 0
    # RecentRate is by definition the mean of the last 28 days (40 / 28 once the burst
    # is in them); every other family reads the whole history
    bound = 1.2 * 40.0 / 28 if name == "recent_rate" else 1.0
    assert fc.mean().mean() < bound  # one event burst does not become a new level


@pytest.mark.parametrize(
    ("quiet_from", "quiet_to"),
    [(0.0, 2 / 3), (0.25, 0.6)],
    ids=["leading-16-months", "middle-9-months"],
)
@pytest.mark.parametrize("name", NAMES)
def test_long_zero_stretch_then_activity(
    name: str, quiet_from: float, quiet_to: float, daily_case: SyntheticCase
) -> None:
    """Months without any event (before the actors start, or a pause), then activity:
    the forecast stays near the recent level instead of collapsing or exploding."""
    panel = daily_case.panel.copy()
    n = len(panel)
    panel.iloc[int(quiet_from * n) : int(quiet_to * n), 0] = 0.0
    model = new_model(name)
    with allow_short_history():
        model.fit(panel)
    fc = model.forecast(
        HORIZON, future=daily_case.future, n_samples=400, rng=np.random.default_rng(6)
    )
    recent = panel["count"].iloc[-90:].mean()
    assert 0.3 * recent < fc.mean().mean() < 3.0 * recent


@pytest.mark.parametrize("name", NAMES)
def test_thousands_per_period(name: str) -> None:
    c = synthetic.thousands_case()
    model = new_model(name)
    with allow_short_history():
        model.fit(c.panel)
    fc = model.forecast(HORIZON, future=c.future, n_samples=400, rng=np.random.default_rng(7))
    expected = c.continuations(1000, np.random.default_rng(9)).mean()
    assert expected > 1000
    assert 0.75 * expected < fc.mean().mean() < 1.33 * expected
    assert fc.samples.max() < 10 * c.panel["count"].max()


@pytest.mark.parametrize("freq", ["D", "W", "M"])
@pytest.mark.parametrize("name", NAMES)
def test_fits_each_frequency(
    name: str,
    freq: str,
    daily_case: SyntheticCase,
    weekly_case: SyntheticCase,
    monthly_case: SyntheticCase,
) -> None:
    c = {"D": daily_case, "W": weekly_case, "M": monthly_case}[freq]
    model = new_model(name)
    with allow_short_history():
        model.fit(c.panel)
    fc = model.forecast(6, future=c.future, n_samples=200, rng=np.random.default_rng(4))
    assert fc.index.freqstr == PANDAS_FREQ[freq]
    assert fc.index[0] == c.panel.index[-1] + pd.tseries.frequencies.to_offset(PANDAS_FREQ[freq])
    assert fc.samples.shape == (200, 6)
    # The level is right within a factor of two of the true process's expectation.
    expected = c.continuations(2000, np.random.default_rng(9))[:, :6].mean()
    assert 0.5 * expected < fc.mean().mean() < 2.0 * expected


@pytest.mark.parametrize("name", NAMES)
def test_intervals_fit_or_refuse_clearly(name: str, daily_case: SyntheticCase) -> None:
    panel, intervals = synthetic.intervals_from(daily_case.panel, [7, 10, 14], first=0, last=400)
    model = new_model(name)
    if not model.supports_intervals:
        with pytest.raises(IntervalsUnsupportedError, match="interval"):
            model.fit(panel, intervals=intervals)
        return
    model.fit(panel, intervals=intervals)
    fc = model.forecast(
        HORIZON, future=daily_case.future, n_samples=300, rng=np.random.default_rng(5)
    )
    full = new_model(name).fit(daily_case.panel)
    ref = full.forecast(
        HORIZON, future=daily_case.future, n_samples=300, rng=np.random.default_rng(5)
    )
    # Replacing early daily counts by their totals changes the forecast only a little.
    assert abs(fc.mean().mean() - ref.mean().mean()) < 0.15 * ref.mean().mean()


@pytest.fixture(scope="module")
def truth(daily_case: SyntheticCase) -> np.ndarray:
    """Draws of what happens next under the true process, shape (200, 28)."""
    return daily_case.continuations(200, np.random.default_rng(7))


def test_oracle_score_is_where_expected(daily_case: SyntheticCase, truth: np.ndarray) -> None:
    oracle = daily_case.continuations(1000, np.random.default_rng(8))
    assert ORACLE_CRPS[0] < crps(truth, oracle) < ORACLE_CRPS[1]


def test_crps_budget(fitted: CountModel, daily_case: SyntheticCase, truth: np.ndarray) -> None:
    assert fitted.name in CRPS_BUDGET, f"add a CRPS budget for {fitted.name}"
    fc = fitted.forecast(
        HORIZON, future=daily_case.future, n_samples=1000, rng=np.random.default_rng(1)
    )
    assert crps(truth, fc.samples) <= CRPS_BUDGET[fitted.name]


# --- estimator rules, covariates and fallbacks (scikit-learn's ``check_estimator`` style) ---

# Families that fall back to Climatology on a history shorter than their minimum.
FALLS_BACK = {"negbin_glm", "ingarch", "hawkes", "prophet", "regime_nb"}
WRONG_COLUMN = "ret_no_such_column"


def comparable(params: dict[str, object]) -> dict[str, object]:
    """``params`` with every nested model (also inside a list or tuple) replaced by its
    class name and its own comparable parameters: models compare by identity otherwise."""

    def one(value: object) -> object:
        if hasattr(value, "get_params") and not isinstance(value, type):
            return (type(value).__name__, comparable(value.get_params()))
        if isinstance(value, list | tuple):
            return type(value)(one(v) for v in value)
        return value

    return {k: one(v) for k, v in params.items()}


def takes_covariates(model: CountModel) -> bool:
    return "covariates" in model.get_params()


@pytest.mark.parametrize("name", NAMES)
def test_get_params_and_set_params_round_trip(name: str) -> None:
    model = new_model(name)
    params = model.get_params(deep=False)  # type: ignore[call-arg]
    assert comparable(type(model)(**params).get_params(deep=False)) == comparable(params)
    assert model.set_params(**params) is model  # type: ignore[attr-defined]
    assert comparable(model.get_params()) == comparable(params)
    first = next(iter(params))
    changed = type(model)(**params).set_params(**{first: params[first] and None})
    assert changed.get_params()[first] == (params[first] and None)
    with pytest.raises(ValueError, match=rf"no parameter 'bogus'.*{first}"):
        model.set_params(bogus=1)  # type: ignore[attr-defined]


def test_clone_rebuilds_nested_models_unfitted() -> None:
    class Wrapper(ParamsMixin):
        def __init__(self, inner: object, members: tuple[object, ...] = ()) -> None:
            self.inner = inner
            self.members = members

    inner = Climatology(window=30)
    wrapper = Wrapper(inner, (Climatology(window=7),))
    assert wrapper.get_params(deep=True)["inner__window"] == 30
    wrapper.set_params(inner__window=40)
    assert inner.window == 40
    copy = clone(wrapper)
    assert copy.inner is not inner and copy.inner.get_params() == inner.get_params()
    assert copy.members[0] is not wrapper.members[0] and copy.members[0].window == 7
    with pytest.raises(TypeError, match="get_params"):
        clone(object())  # type: ignore[arg-type]


def test_clone_forecasts_the_same_paths(fitted: CountModel, daily_case: SyntheticCase) -> None:
    copy = clone(fitted)  # type: ignore[arg-type]
    assert type(copy) is type(fitted) and copy is not fitted
    assert comparable(copy.get_params()) == comparable(fitted.get_params())
    with pytest.raises(NotFittedError):
        copy.forecast(7, future=daily_case.future, n_samples=10, rng=np.random.default_rng(0))
    with allow_short_history():
        copy.fit(daily_case.panel)
    a = fitted.forecast(14, future=daily_case.future, n_samples=200, rng=np.random.default_rng(8))
    b = copy.forecast(14, future=daily_case.future, n_samples=200, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a.samples, b.samples)


@pytest.mark.parametrize("name", NAMES)
def test_forecast_before_fit_raises_not_fitted(name: str, daily_case: SyntheticCase) -> None:
    model = new_model(name)
    with pytest.raises(NotFittedError, match=rf"^{name}: call fit\(\) before forecast\(\)$"):
        check_fitted(model)
    with pytest.raises(NotFittedError, match=rf"^{name}: call fit\(\) before forecast\(\)$"):
        model.forecast(7, future=daily_case.future, n_samples=10, rng=np.random.default_rng(0))


def test_fitted_model_passes_check_fitted(fitted: CountModel) -> None:
    check_fitted(fitted)


def test_covariates_are_recorded(fitted: CountModel, daily_case: SyntheticCase) -> None:
    covariates = fitted.covariates_  # type: ignore[attr-defined]
    ignored = fitted.ignored_columns_  # type: ignore[attr-defined]
    assert isinstance(covariates, list) and all(isinstance(c, str) for c in covariates)
    used = set(covariates) | set(getattr(fitted, "drivers_", ()))
    columns = set(daily_case.panel.columns) - {"count"}
    assert used <= columns
    assert set(ignored) == columns - used  # nothing left out silently


@pytest.mark.parametrize("name", NAMES)
def test_named_covariates_restrict_and_a_wrong_name_is_refused(
    name: str, daily_case: SyntheticCase
) -> None:
    model = new_model(name)
    if not takes_covariates(model):
        assert not hasattr(model, "covariates")
        return
    wrong = clone(model).set_params(covariates=["ret_strike_decay", WRONG_COLUMN])
    with pytest.raises(PanelError, match=WRONG_COLUMN), allow_short_history():
        wrong.fit(daily_case.panel)
    only = clone(model).set_params(covariates=["stm_escalation_decay"])
    with allow_short_history():
        only.fit(daily_case.panel)
    assert set(only.covariates_) <= {"stm_escalation_decay"}
    assert "ret_strike_decay" in only.ignored_columns_


@pytest.mark.parametrize("name", NAMES)
def test_fallback_is_visible(name: str, daily_case: SyntheticCase) -> None:
    """A family that forecasts with Climatology says so: a warning at fit, ``fallback_``,
    and ``meta["fallback"]``; its name stays (stored forecasts key by it)."""
    short = daily_case.panel.iloc[-12:]
    model = new_model(name)
    if name == "ensemble":  # the pool itself does not fall back; its members say so
        with pytest.warns(ShortHistoryWarning, match="climatology"):
            model.fit(short)
        fc = model.forecast(7, future=daily_case.future, n_samples=50, rng=np.random.default_rng(0))
        assert model.fallback_ is None  # type: ignore[attr-defined]
        assert fc.meta["member_fallbacks"] == {"negbin_glm": "climatology"}
        return
    if name in FALLS_BACK:
        with pytest.warns(ShortHistoryWarning, match="climatology"):
            model.fit(short)
    else:
        model.fit(short)
    fc = model.forecast(7, future=daily_case.future, n_samples=50, rng=np.random.default_rng(0))
    assert fc.model == name
    fallback = model.fallback_  # type: ignore[attr-defined]
    if name in FALLS_BACK:
        assert isinstance(fallback, Climatology)
        assert fc.meta["fallback"] == Climatology.name and fc.meta["fallback_reason"]
    else:
        assert fallback is None and fc.meta.get("fallback") is None
    full = new_model(name).fit(daily_case.panel)
    assert full.fallback_ is None  # type: ignore[attr-defined]
