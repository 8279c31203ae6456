"""Registry: names, defaults, errors."""

from __future__ import annotations

import subprocess
import sys
from types import MappingProxyType

import pytest

from cadence.models import available_models, lookup, make_model
from cadence.models.baselines import Climatology
from cadence.models.errors import ModelUnavailableError, UnknownModelError


def test_every_family_is_registered() -> None:
    assert set(available_models()) == {
        "climatology",
        "recent_rate",
        "negbin_glm",
        "ingarch",
        "hawkes",
        "local_level",
        "prophet",
        "regime_nb",
        "ensemble",
    }


def test_defaults_and_overrides() -> None:
    model = make_model("climatology")
    assert isinstance(model, Climatology)
    assert model.get_params() == {"window": 365, "dispersion": "auto"}
    assert make_model("climatology", window=30).get_params()["window"] == 30


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(UnknownModelError, match="negbin_glm") as err:
        make_model("arima")
    assert isinstance(err.value, KeyError)
    assert "no model named 'arima'" in str(err.value)


def test_unimportable_module_fails_only_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = lookup.ModelSpec("ghost", "cadence.models.not_written_yet:Ghost", "missing")
    monkeypatch.setattr(lookup, "REGISTRY", MappingProxyType({**lookup.REGISTRY, "ghost": ghost}))
    with pytest.raises(ModelUnavailableError, match="cannot import"):
        make_model("ghost")
    assert isinstance(make_model("recent_rate"), lookup.CountModel)
    bad_attr = lookup.ModelSpec("bad", "cadence.models.baselines:Nope", "missing class")
    monkeypatch.setattr(lookup, "REGISTRY", MappingProxyType({**lookup.REGISTRY, "bad": bad_attr}))
    with pytest.raises(ModelUnavailableError, match="has no Nope"):
        make_model("bad")


def test_listing_the_registry_imports_no_fitting_library() -> None:
    code = (
        "import sys; from cadence.models import available_models; available_models(); "
        "print('prophet' in sys.modules, 'statsmodels' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
