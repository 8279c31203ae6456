"""Series specs (catalog entries) and event filters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from cadence.columns import COUNTRY, EXTRA, KIND
from cadence.features import FeatureError, SeriesSpec, SpecError, apply_filter

ENTRY: dict[str, Any] = {
    "name": "us-forces-iraq-syria",
    "frequency": "D",
    "target": {"events": {"kind": "attack", "country": ["Iraq", "Syria", "Jordan"]}},
    "drivers": {
        "retaliation": {"kind": "retaliation", "actor": "United States"},
        "statements": {"actor": ["Kataib Hezbollah", "Islamic Resistance in Iraq"]},
    },
    "description": "Attacks on US forces",
}


def test_from_dict_reads_every_field() -> None:
    spec = SeriesSpec.from_dict(ENTRY)
    assert spec.name == "us-forces-iraq-syria"
    assert spec.frequency == "D"
    assert spec.observed is False
    assert spec.target == {"kind": "attack", "country": ["Iraq", "Syria", "Jordan"]}
    assert spec.retaliation == {"kind": "retaliation", "actor": "United States"}
    assert spec.statements == {"actor": ["Kataib Hezbollah", "Islamic Resistance in Iraq"]}
    assert spec.description == "Attacks on US forces"


@pytest.mark.parametrize(
    "entry",
    [
        ENTRY,
        {"name": "tally", "frequency": "W", "target": {"observations": True}},
        {
            "name": "m",
            "frequency": "M",
            "target": {"events": {}},
            "drivers": {"statements": {"stance": "escalation"}},
        },
    ],
)
def test_to_dict_round_trips(entry: dict[str, Any]) -> None:
    spec = SeriesSpec.from_dict(entry)
    assert spec.to_dict() == entry
    assert SeriesSpec.from_dict(spec.to_dict()) == spec


def test_observed_series_has_no_target_filter() -> None:
    spec = SeriesSpec.from_dict({"name": "t", "frequency": "D", "target": {"observations": True}})
    assert spec.observed and spec.target is None
    assert spec.retaliation is None and spec.statements is None


def test_numbers_in_filters_become_strings() -> None:
    spec = SeriesSpec.from_dict(
        {"name": "n", "frequency": "D", "target": {"events": {"admin1": [1, "Anbar"]}}}
    )
    assert spec.target == {"admin1": ["1", "Anbar"]}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"name": ""}, "'name'"),
        ({"frequency": "Q"}, "'frequency'"),
        ({"target": None}, "'target'"),
        ({"target": {"observations": False}}, "'target.observations'"),
        ({"target": {"rows": {}}}, "'target'"),
        ({"target": {"events": ["attack"]}}, "'target.events'"),
        ({"target": {"events": {"kind": None}}}, "target.events.kind"),
        ({"target": {"events": {"kind": []}}}, "target.events.kind"),
        ({"target": {"events": {"kind": {"a": 1}}}}, "target.events.kind"),
        ({"drivers": {"strikes": {}}}, "'drivers'"),
        ({"drivers": {"retaliation": "retaliation"}}, "'drivers.retaliation'"),
        ({"drivers": {"statements": {"actor": [True]}}}, "drivers.statements.actor"),
        ({"description": 3}, "'description'"),
        ({"unit": "events"}, "unknown field"),
    ],
)
def test_bad_entries_raise_spec_error_naming_entry_and_field(
    change: dict[str, Any], fragment: str
) -> None:
    entry = {**ENTRY, **change}
    with pytest.raises(SpecError) as info:
        SeriesSpec.from_dict(entry)
    message = str(info.value)
    assert fragment in message
    if change.get("name") != "":
        assert "us-forces-iraq-syria" in message
    assert isinstance(info.value, FeatureError) and isinstance(info.value, ValueError)


def test_constructor_checks_target_against_observed() -> None:
    with pytest.raises(SpecError, match="observed series"):
        SeriesSpec("x", "D", True, {"kind": "attack"}, None, None)
    with pytest.raises(SpecError, match="event filter"):
        SeriesSpec("x", "D", False, None, None, None)


FRAME = pd.DataFrame(
    {
        KIND: ["attack", " Attack ", "ATTACK", "retaliation", None, "attacks"],
        COUNTRY: ["Iraq", "syria", "Jordan", "Iraq", "Iraq", "Iraq"],
        EXTRA: [{"claimed_by": "IRI"}, None, {"claimed_by": " iri"}, {}, {"x": 1}, "not a dict"],
    }
)


def test_filter_is_case_insensitive_exact_and_ands_fields() -> None:
    mask = apply_filter(FRAME, {"kind": "attack", "country": ["IRAQ", "Syria"]})
    assert mask.tolist() == [True, True, False, False, False, False]


def test_filter_single_value_or_list() -> None:
    assert apply_filter(FRAME, {"country": "iraq"}).tolist() == [
        True,
        False,
        False,
        True,
        True,
        True,
    ]
    assert apply_filter(FRAME, {"kind": ["retaliation", "attacks"]}).tolist() == [
        False,
        False,
        False,
        True,
        False,
        True,
    ]


def test_empty_filter_matches_all_and_missing_values_never_match() -> None:
    assert apply_filter(FRAME, {}).all()
    assert apply_filter(FRAME, None).all()
    assert not apply_filter(FRAME, {"kind": "None"})[4]


def test_filter_falls_back_to_extra_dicts() -> None:
    mask = apply_filter(FRAME, {"claimed_by": "IRI"})
    assert mask.tolist() == [True, False, True, False, False, False]


def test_unknown_field_raises_naming_it() -> None:
    frame = FRAME.drop(columns=[EXTRA])
    with pytest.raises(SpecError, match="'claimed_by'"):
        apply_filter(frame, {"claimed_by": "IRI"})


def test_filter_on_empty_frame_is_empty() -> None:
    mask = apply_filter(FRAME.iloc[:0], {"kind": "attack"})
    assert mask.dtype == np.bool_ and mask.shape == (0,)


def test_extra_as_json_text_is_read() -> None:
    frame = pd.DataFrame({EXTRA: ['{"claimed_by": "IRI"}', '{"claimed_by": "KH"}', "", None]})
    assert apply_filter(frame, {"claimed_by": ["iri"]}).tolist() == [True, False, False, False]


TALLY: dict[str, Any] = {
    "name": "tally",
    "frequency": "D",
    "target": {"observations": True},
    "sampled": {"kind": "attack", "country": ["Iraq", "Syria"]},
}


def test_sampled_view_parses_and_round_trips() -> None:
    spec = SeriesSpec.from_dict(TALLY)
    assert spec.sampled == {"kind": "attack", "country": ["Iraq", "Syria"]}
    assert spec.to_dict()["sampled"] == TALLY["sampled"]
    assert SeriesSpec.from_dict(spec.to_dict()) == spec
    assert "sampled" not in SeriesSpec.from_dict({**TALLY, "sampled": None}).to_dict()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**ENTRY, "sampled": {"kind": "attack"}}, "only a series with target"),
        ({**TALLY, "sampled": {}}, "expected a non-empty event filter"),
        ({**TALLY, "sampled": ["attack"]}, "field 'sampled': expected a mapping"),
        ({**TALLY, "sampled": {"kind": True}}, "field sampled.kind"),
    ],
)
def test_bad_sampled_view_names_the_field(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        SeriesSpec.from_dict(entry)
