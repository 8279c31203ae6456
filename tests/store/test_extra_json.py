"""Extra columns survive as JSON with blank cells left out, whatever the text holds."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.store.upsert import extra_json

cells = st.one_of(
    st.just(""), st.text(max_size=12), st.sampled_from(['":null', '\\":null,', "{,", "null"])
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=8))
def test_extra_json_round_trips_non_blank_cells(rows: list[tuple[str, str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["a", 'we"ird', "c:null"])
    out = extra_json(frame, known=[])
    assert out is not None
    for (_, row), text in zip(frame.iterrows(), out, strict=True):
        expected = {k: v for k, v in row.items() if v != ""}
        assert (json.loads(text) if text is not None else {}) == expected
